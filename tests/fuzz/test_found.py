"""Inputs the fuzzing found that escaped the report reader with an undocumented exception.

Each is built here by hand, so it keeps failing the same way if the fix is undone: a zip member with
an empty name, a zip whose directory points before the archive, a zip member corrupt past its first
bytes, a TLS report nested too deep or with a 5,000-digit number, a policy pct too large for Int64;
and pasted headers that took seconds to read.
"""

from __future__ import annotations

import io
import json
import logging
import re
import struct
import time
import zipfile
from pathlib import Path

import pytest

from diagnostics import headers
from diagnostics.dmarc import load_reports, parse_report
from diagnostics.errors import ReportError

SAMPLE = (
    Path(__file__).resolve().parents[1]
    / "data"
    / "dmarc"
    / "aggregate"
    / "example.net!example.com!1529366400!1529452799.xml"
).read_bytes()


def _zip(members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _only_documented(caplog: pytest.LogCaptureFixture, data: bytes) -> list[tuple[str, str]]:
    """load_reports' errors for `data`, after checking its safety net caught nothing."""
    with caplog.at_level(logging.ERROR, logger="diagnostics.dmarc.parse._batch"):
        batch = load_reports([data])
    assert not [r for r in caplog.records if r.exc_info], "load_reports caught a bug of ours"
    assert all("unexpected problem" not in reason for _, reason in batch.errors)
    return batch.errors


def test_zip_member_with_an_empty_name_is_rejected_plainly(
    caplog: pytest.LogCaptureFixture,
) -> None:
    data = bytearray(_zip({"r": SAMPLE}))
    # Rename the member to "" in the central directory (the name the reader lists).
    central = data.rindex(b"PK\x01\x02")
    struct.pack_into("<H", data, central + 28, 0)
    del data[central + 46 : central + 47]
    end = data.rindex(b"PK\x05\x06")
    size = struct.unpack_from("<I", data, end + 12)[0]
    struct.pack_into("<I", data, end + 12, size - 1)
    # The local header still names the member "r": zipfile refuses a member whose names differ.
    with pytest.raises(ReportError, match="zip member"):
        parse_report(bytes(data))
    assert _only_documented(caplog, bytes(data))


def test_zip_directory_pointing_before_the_archive_is_rejected(
    caplog: pytest.LogCaptureFixture,
) -> None:
    data = bytearray(_zip({"report.xml": SAMPLE}))
    end = data.rindex(b"PK\x05\x06")
    offset = struct.unpack_from("<I", data, end + 16)[0]
    # A directory said to start later than it does makes zipfile seek before the file's start.
    struct.pack_into("<I", data, end + 16, offset + 1000)
    with pytest.raises(ReportError):
        parse_report(bytes(data))
    assert _only_documented(caplog, bytes(data))


def test_zip_member_corrupt_after_its_first_bytes_is_rejected(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A report long enough that the corruption is met while the XML is read, not when it is sniffed.
    head, _, tail = SAMPLE.partition(b"</record>")
    big = head + b"</record>" + (b"<!-- " + b"padding " * 20_000 + b"-->") + tail
    data = bytearray(_zip({"report.xml": big}))
    compressed_start = 30 + len("report.xml")
    middle = compressed_start + (data.index(b"PK\x01\x02") - compressed_start) * 3 // 4
    for position in range(middle, middle + 16):
        data[position] ^= 0x55
    with pytest.raises(ReportError, match="zip member"):
        parse_report(bytes(data))
    errors = _only_documented(caplog, bytes(data))
    assert any("zip member" in reason for _, reason in errors)


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        (b'{"policies": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "nests deeper"),
        (
            b'{"policies": [], "date-range": {}, "report-id": ' + b"1" * 5000 + b"}",
            "cannot be read",
        ),
    ],
    ids=["deep", "long-number"],
)
def test_tls_json_the_decoder_gives_up_on_is_a_plain_error(
    caplog: pytest.LogCaptureFixture, document: bytes, reason: str
) -> None:
    errors = _only_documented(caplog, document)
    assert len(errors) == 1
    assert reason in errors[0][1]


def test_policy_pct_outside_0_to_100_is_ignored_with_a_warning() -> None:
    assert b"<pct>100</pct>" in SAMPLE
    for pct in (b"99999999999999999999999999", b"-1", b"101"):
        report = parse_report(SAMPLE.replace(b"<pct>100</pct>", b"<pct>" + pct + b"</pct>"))
        assert report.meta.policy_pct is None
        assert any("between 0 and 100" in warning for warning in report.warnings)
        assert report.records["policy_pct"].isna().all()
    kept = parse_report(SAMPLE.replace(b"<pct>100</pct>", b"<pct>0</pct>"))
    assert kept.meta.policy_pct == 0


def test_a_corrupt_member_does_not_cost_the_other_members() -> None:
    data = bytearray(_zip({"good.xml": SAMPLE, "bad.xml": SAMPLE}))
    second = data.index(b"PK\x03\x04", 4)
    start = second + 30 + len("bad.xml")
    for position in range(start + 10, start + 20):
        data[position] ^= 0x55
    batch = load_reports([bytes(data)])
    assert len(batch.reports) == 1
    assert [name.rsplit(":", 1)[-1] for name, _ in batch.errors] == ["bad.xml"]


def test_headers_with_a_long_run_of_letters_are_read_in_linear_time() -> None:
    # 20 kB of letters without a "." after "spf=" took 6 s: the property pattern rescanned the
    # run from every position. 40 kB would have taken about 25 s.
    text = "Authentication-Results: x; spf=X-Long: " + "a" * 40_000 + "\r\nFrom: a@example.com\r\n"
    started = time.perf_counter()
    report = headers.analyze(text)
    assert time.perf_counter() - started < 1.0
    assert report.readable
    assert report.from_domain == "example.com"


def test_a_count_too_large_for_int64_skips_the_record_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert SAMPLE.count(b"<count>") == 1
    data = re.sub(rb"<count>\d+</count>", b"<count>99999999999999999999</count>", SAMPLE)
    report = parse_report(data)
    assert len(report.records) == 0
    assert any("99999999999999999999" in warning for warning in report.warnings)
    assert _only_documented(caplog, data) == []


TLS_REPORT = {
    "organization-name": "Example",
    "date-range": {
        "start-datetime": "2026-11-01T00:00:00Z",
        "end-datetime": "2026-11-01T23:59:59Z",
    },
    "report-id": "1",
    "policies": [
        {
            "policy": {"policy-type": "sts", "policy-domain": "example.com"},
            "summary": {"total-successful-session-count": 5, "total-failure-session-count": 1},
            "failure-details": [{"result-type": "certificate-expired", "failed-session-count": 1}],
        }
    ],
}


@pytest.mark.parametrize(
    ("path", "value", "document_text"),
    [
        (("failure-details",), 1.5, None),
        (("failure-details",), "text", None),
        (("summary", "total-failure-session-count"), None, b"1e400"),
        (("failure-details", 0, "failed-session-count"), None, b"-1e400"),
    ],
    ids=["details-number", "details-text", "infinite-summary", "infinite-detail"],
)
def test_tls_report_values_of_the_wrong_type_are_read_as_missing(
    caplog: pytest.LogCaptureFixture,
    path: tuple[str | int, ...],
    value: object,
    document_text: bytes | None,
) -> None:
    document = json.loads(json.dumps(TLS_REPORT))
    target = document["policies"][0]
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value if document_text is None else "PLACEHOLDER"
    data = json.dumps(document).encode()
    if document_text is not None:  # json.dumps never writes these numbers; receivers might
        data = data.replace(b'"PLACEHOLDER"', document_text)
    assert _only_documented(caplog, data) == []
    batch = load_reports([data])
    assert batch.tls_reports["policy_domain"].tolist() == ["example.com"]


def test_zip_needing_an_unknown_version_to_extract_is_rejected(
    caplog: pytest.LogCaptureFixture,
) -> None:
    data = bytearray(_zip({"report.xml": SAMPLE}))
    central = data.rindex(b"PK\x01\x02")
    struct.pack_into("<H", data, central + 6, 84)  # "version 8.4 needed to extract"
    with pytest.raises(ReportError, match="damaged"):
        parse_report(bytes(data))
    errors = _only_documented(caplog, bytes(data))
    assert len(errors) == 1
