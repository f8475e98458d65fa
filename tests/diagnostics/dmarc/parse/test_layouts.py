"""Every receiver's layout takes the fast reader, and it reads each exactly as lxml does.

The layouts are those of bench/receiver_layouts.py (Google, Seznam, Zoho, Mimecast, Cisco ESA,
Hotmail, LinkedIn, Mail.Ru 2013, AOL) and the real reports of tests/data/dmarc-real. For each,
the document is read twice, by the fast reader and by lxml alone, and the two tables, metadata and
warnings must be identical; the fast reader must have read every record itself.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pandas as pd
import pytest

from bench.receiver_layouts import LAYOUTS, report
from diagnostics.dmarc import load_reports
from diagnostics.dmarc.parse import DEFAULT_LIMITS
from diagnostics.dmarc.parse._budget import UploadBudget
from diagnostics.dmarc.parse._unpack import Kind, Piece, unpack
from tests.diagnostics.dmarc.conftest import read_aggregate

REAL = Path(__file__).parents[3] / "data" / "dmarc-real"


def _assert_same(data: bytes) -> tuple[object, pd.DataFrame, int]:
    fast = read_aggregate(data, fast=True)
    general = read_aggregate(data, fast=False)
    assert fast[0] == general[0]
    pd.testing.assert_frame_equal(fast[1], general[1])
    assert general[2] == 0
    return fast


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("gzipped", [False, True], ids=["xml", "gzip"])
def test_each_layout_is_read_fast_and_as_lxml_reads_it(layout: str, gzipped: bool) -> None:
    data = report(layout, random.Random(len(layout)), 1, 60)
    if gzipped:
        # Through the batch reader too: the same rows either way.
        import gzip

        batch = load_reports(gzip.compress(data))
        assert not batch.errors
        assert len(batch.records) == 60
        return
    meta, rows, fast_rows = _assert_same(data)
    assert not isinstance(meta, tuple), meta
    assert len(rows) == 60
    assert fast_rows == 60, "every record of a valid layout takes the fast reader"


def test_layouts_differ_where_receivers_do() -> None:
    # The generator is what the other tests rely on: check it writes each habit.
    rng = random.Random(1)
    google = report("google", rng, 1, 30)
    assert b"</result>\n        <selector>" in google
    assert b"<dkim>\n        <result>" in report("zoho", rng, 1, 30)
    assert b"<human_result/>" in report("mimecast", rng, 1, 30)
    assert b"</header_from>\n      <envelope_from>" in report("cisco", rng, 1, 60)
    hotmail = report("hotmail", rng, 1, 30)
    assert hotmail.startswith(b"\xef\xbb\xbf")
    assert b"\r\n" in hotmail
    assert b"<auth_results>\r\n      <spf>" in hotmail
    assert b"<record><auth_results>" in report("mailru2013", rng, 1, 30)
    assert b'encoding="windows-1252"' in report("aol", rng, 1, 30)


def _real_documents() -> list[tuple[str, bytes]]:
    manifest = json.loads((REAL / "manifest.json").read_text())
    documents = []
    for entry in manifest:
        if entry["kind"] != "aggregate":
            continue
        path = REAL / entry["file"]
        with path.open("rb") as stream:
            for piece in unpack(path.name, stream, UploadBudget(DEFAULT_LIMITS)):
                if isinstance(piece, Piece) and piece.kind is Kind.XML:
                    data = piece.stream.read()
                    if b"<feedback" in data:  # not an HTML body taken for XML
                        documents.append((piece.name, data))
    return documents


REAL_DOCUMENTS = _real_documents()


def test_every_real_aggregate_report_is_here() -> None:
    # 46 files; emails and archives hold one report each.
    assert len(REAL_DOCUMENTS) == 46


@pytest.mark.parametrize(
    ("name", "data"), REAL_DOCUMENTS, ids=[name[-60:] for name, _ in REAL_DOCUMENTS]
)
def test_real_reports_are_read_fast_and_as_lxml_reads_them(name: str, data: bytes) -> None:
    meta, rows, fast_rows = _assert_same(data)
    assert not isinstance(meta, tuple), meta
    assert fast_rows == len(rows) > 0


_RECORD = (
    "<record><row><source_ip>{ip}</source_ip><count>{count}</count><policy_evaluated>"
    "<disposition>none</disposition><dkim>pass</dkim><spf>fail</spf></policy_evaluated></row>"
    "<identifiers><header_from>example.com</header_from></identifiers><auth_results><dkim>"
    "<domain>example.com</domain><result>pass</result></dkim></auth_results></record>\n"
)


def _document(*records: str, after: str = "", encoding: str = "UTF-8") -> bytes:
    return (
        f'<?xml version="1.0" encoding="{encoding}"?>\n<feedback><report_metadata>'
        "<org_name>receiver.example</org_name><email>d@receiver.example</email>"
        "<report_id>r1</report_id><date_range><begin>1700000000</begin><end>1700086399</end>"
        "</date_range></report_metadata><policy_published><domain>example.com</domain>"
        "<p>none</p></policy_published>\n" + "".join(records) + "</feedback>\n" + after
    ).encode("cp1252" if encoding != "UTF-8" else "utf-8")


def test_records_outside_feedback_are_not_counted() -> None:
    plain = _RECORD.format(ip="192.0.2.1", count=3)
    nested = _RECORD.format(ip="192.0.2.9", count=100)
    cases = [
        # a record inside <report_metadata> (before the first real one)
        _document(plain).replace(b"</report_metadata>", nested.encode() + b"</report_metadata>"),
        # a record inside an extension element, after the real ones
        _document(plain, f"<extension>{nested}</extension>"),
    ]
    for data in cases:
        meta, rows, _ = _assert_same(data)
        assert rows["source_ip"].tolist() == ["192.0.2.1"]
        assert meta.message_count == 3  # type: ignore[attr-defined]
        assert "1 <record> element outside <feedback> was not counted" in meta.warnings  # type: ignore[attr-defined]


def test_values_the_cache_must_not_confuse() -> None:
    # Records whose bytes around the address and count are alike but whose structure is not:
    # each must still read as lxml reads it (later duplicates win, an address outside <row> is
    # none), never as a cached neighbour.
    base = _RECORD.format(ip="192.0.2.1", count=1)
    twice = base.replace("<count>1</count>", "<count>1</count><source_ip>192.0.2.2</source_ip>")
    elsewhere = base.replace("<source_ip>192.0.2.1</source_ip><count>1</count>", "").replace(
        "<header_from>", "<source_ip>192.0.2.3</source_ip><count>1</count><header_from>"
    )
    apart = base.replace(
        "<source_ip>192.0.2.1</source_ip><count>1</count>",
        "<count>4</count><policy_x></policy_x><source_ip>192.0.2.4</source_ip>",
    )
    data = _document(base, twice, elsewhere, apart, base, apart)
    _meta, rows, fast_rows = _assert_same(data)
    assert rows["source_ip"].tolist()[:2] == ["192.0.2.1", "192.0.2.2"]
    assert fast_rows == 4  # the duplicate and the count outside <row> go to lxml
    # Bytes like the reader's own marks, in a value: not plain XML, read (and repaired) as lxml
    # reads them, never taken for a cut-out address.
    for byte in ("\x00", "\x01", "\x02"):
        marked = base.replace("example.com</header_from>", f"ex{byte}ample.com</header_from>")
        _assert_same(_document(base, marked))


def test_windows_1252_values_are_decoded_as_declared() -> None:
    record = _RECORD.format(ip="192.0.2.1", count=2).replace(
        "<header_from>example.com</header_from>", "<header_from>caf\u00e9.example</header_from>"
    )
    data = _document(record, record, encoding="windows-1252")
    assert b"caf\xe9" in data
    _meta, rows, fast_rows = _assert_same(data)
    assert rows["header_from"].tolist() == ["caf\u00e9.example"] * 2
    assert fast_rows == 2


def test_report_parts_inside_a_record_are_not_the_reports() -> None:
    # A <version> or <report_metadata> deeper than <feedback>'s children is not the report's.
    record = _RECORD.format(ip="192.0.2.1", count=1).replace(
        "<row>",
        "<version>9.9</version><report_metadata><org_name>x</org_name></report_metadata><row>",
    )
    meta, rows, _ = _assert_same(_document(record, record))
    assert meta.xml_schema == "draft"  # type: ignore[attr-defined]
    assert meta.org_name == "receiver.example"  # type: ignore[attr-defined]
    assert len(rows) == 2


@pytest.mark.parametrize("seed", range(4))
def test_mutated_layouts_read_the_same_either_way(seed: int) -> None:
    # Elements renamed, swapped, duplicated, emptied or given odd text, bytes flipped or cut
    # (tests/fuzz/mutations.py) in every layout: whatever the fast reader accepts, it must read
    # exactly as lxml does, and whatever it refuses lxml decides.
    from tests.fuzz.mutations import mutate_bytes, mutate_xml

    rng = random.Random(seed)
    for number in range(60):
        data = report(LAYOUTS[number % len(LAYOUTS)], rng, number, rng.randint(1, 6))
        for _ in range(rng.randint(1, 3)):
            data = mutate_xml(rng, data) if rng.random() < 0.8 else mutate_bytes(rng, data)
        _assert_same(data)


def test_mutated_real_reports_read_the_same_either_way() -> None:
    from tests.fuzz.mutations import mutate_bytes, mutate_xml

    rng = random.Random(1)
    for _, data in REAL_DOCUMENTS:
        if len(data) < 60_000:  # the two large ones would only slow the test
            for _ in range(rng.randint(1, 3)):
                data = mutate_xml(rng, data) if rng.random() < 0.8 else mutate_bytes(rng, data)
            _assert_same(data)
