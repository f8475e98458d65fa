"""Batches: bad inputs are listed with reasons and never stop the rest; progress is reported; the fast
record reader and the general lxml reader agree everywhere."""

from __future__ import annotations

import random
from pathlib import Path

import pandas as pd
import pytest

from bench.make_dmarc_corpus import _report
from diagnostics.dmarc import load_reports
from tests.diagnostics.dmarc.conftest import AGGREGATE_SAMPLES, SAMPLES, read_aggregate

GOOD = SAMPLES / "aggregate" / "old_draft_from_wiki.xml"


def test_bad_inputs_are_listed_and_the_rest_is_read(tmp_path: Path) -> None:
    (tmp_path / "truncated.xml").write_bytes(GOOD.read_bytes()[:300])
    (tmp_path / "picture.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    (tmp_path / "broken.zip").write_bytes(b"PK\x03\x04garbage")
    (tmp_path / "no_id.xml").write_bytes(GOOD.read_bytes().replace(b"9391651994964116463", b""))
    (tmp_path / "html.xml").write_bytes(b"<html><body>not a report</body></html>")
    sources = [GOOD, tmp_path, tmp_path / "missing.xml", str(tmp_path / "*.nothing"), GOOD]
    batch = load_reports(sources)
    assert len(batch.reports) == 2
    assert len(batch.records) == 2
    reasons = {Path(name).name: reason for name, reason in batch.errors}
    assert set(reasons) == {
        "truncated.xml",
        "picture.png",
        "broken.zip",
        "no_id.xml",
        "html.xml",
        "missing.xml",
        "*.nothing",
    }
    assert "malformed" in reasons["truncated.xml"] or "report_id" in reasons["truncated.xml"]
    assert "not a report" in reasons["picture.png"]
    assert "zip" in reasons["broken.zip"]
    assert "report_id" in reasons["no_id.xml"]
    assert "<feedback>" in reasons["html.xml"]
    assert reasons["missing.xml"] == "there is no such file or folder"
    for reason in reasons.values():
        assert "Traceback" not in reason
        assert "Error(" not in reason


def test_a_report_failing_half_way_leaves_no_rows() -> None:
    # The records parse, then the report turns out to have no date range: none of its rows stay.
    data = _report(random.Random(1), 1, 50)[1].encode()
    broken = data.replace(b"<date_range>", b"<date_rangeX>").replace(
        b"</date_range>", b"</date_rangeX>"
    )
    batch = load_reports([broken, GOOD, data])
    assert len(batch.errors) == 1
    assert "begin" in batch.errors[0][1]
    assert len(batch.records) == 1 + 50
    assert batch.reports["record_count"].tolist() == [1, 50]


def test_progress_is_reported_after_each_input() -> None:
    calls: list[tuple[int, int, str]] = []
    load_reports([GOOD, b"junk", SAMPLES / "smtp_tls"], progress=lambda *args: calls.append(args))
    total = len(calls)
    assert total == 2 + len(list((SAMPLES / "smtp_tls").iterdir()))
    assert [c[0] for c in calls] == list(range(1, total + 1))
    assert {c[1] for c in calls} == {total}
    assert calls[0][2] == str(GOOD)
    assert calls[1][2] == "<bytes>"


def _parse(data: bytes, fast: bool) -> tuple[object, pd.DataFrame]:
    meta, records, _ = read_aggregate(data, fast=fast)
    return meta, records


def _documents() -> list[tuple[str, bytes]]:
    import gzip
    import zipfile

    documents = []
    for path in AGGREGATE_SAMPLES:
        data = path.read_bytes()
        if path.suffix == ".gz":
            data = gzip.decompress(data)
        elif path.suffix == ".zip":
            with zipfile.ZipFile(path) as archive:
                data = archive.read(archive.namelist()[0])
        elif path.suffix == ".eml":
            continue
        documents.append((path.name, data))
    rng = random.Random(20261124)
    for number in range(12):
        name, xml = _report(rng, number, rng.randint(1, 400))
        documents.append((name, xml.encode()))
    # Variations the fast reader must hand over correctly: another element order, attributes,
    # entities, comments between records, self-closing elements, a namespace prefix.
    base = _report(random.Random(5), 99, 30)[1]
    documents += [
        (
            "order",
            base.replace(
                "<identifiers>\n      <header_from>", "<identifiers>\n      <x/><header_from>"
            ).encode(),
        ),
        (
            "attribute",
            base.replace("<human_result>", '<human_result lang="en">')
            .replace("<count>", '<count unit="msgs">', 3)
            .encode(),
        ),
        (
            "entity",
            base.replace("<selector>s1</selector>", "<selector>s&amp;1</selector>")
            .replace("<count>1<", "<count>&#49;<", 2)
            .encode(),
        ),
        ("comment", base.replace("  </record>\n", "  </record>\n<!-- between -->\n", 2).encode()),
        (
            "self-closing",
            base.replace("<envelope_to>gmail.com</envelope_to>", "<envelope_to/>").encode(),
        ),
        (
            "prefix",
            base.replace("<feedback>", '<d:feedback xmlns:d="urn:x">')
            .replace("</feedback>", "</d:feedback>")
            .encode(),
        ),
        ("bad-count", base.replace("<count>1</count>", "<count>many</count>", 1).encode()),
        (
            "bad-utf8",
            base.replace("customer", "cust\udcffomer", 1).encode("utf-8", "surrogateescape"),
        ),
    ]
    return documents


@pytest.mark.parametrize(
    ("name", "data"), _documents(), ids=lambda v: v if isinstance(v, str) else ""
)
def test_fast_and_general_readers_agree(name: str, data: bytes) -> None:
    fast_meta, fast_rows = _parse(data, fast=True)
    general_meta, general_rows = _parse(data, fast=False)
    assert fast_meta == general_meta
    pd.testing.assert_frame_equal(fast_rows, general_rows)


def test_messages_and_json_that_are_not_reports() -> None:
    plain_mail = b"From: someone@example.com\r\nSubject: hello\r\n\r\nJust a note, no report.\r\n"
    not_tls = b'{"hello": "world"}'
    broken_json = b'{"policies": ['
    batch = load_reports([plain_mail, not_tls, broken_json, GOOD])
    assert len(batch.reports) == 1
    reasons = [reason for _, reason in batch.errors]
    assert "holds no DMARC report" in reasons[0]
    assert "not an SMTP TLS report" in reasons[1]
    assert "JSON is malformed" in reasons[2]
