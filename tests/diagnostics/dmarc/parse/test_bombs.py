"""Issue 13's bombs, small: each shape of the bench (bench/bomb_bench.py) built at test time with the
caps scaled down, rejected for the right reason before it inflates past its cap, in little memory;
and one budget shared by every nesting level, member and report of an upload."""

from __future__ import annotations

import base64
import copy
import gzip
import io
import json
import tracemalloc
import zipfile
import zlib

import pytest

from diagnostics.dmarc import ParseLimits, load_reports, parse_report
from diagnostics.dmarc.parse._budget import UploadBudget
from diagnostics.dmarc.parse._streams import CHUNK
from diagnostics.dmarc.parse._unpack import Piece, Rejected, unpack
from diagnostics.errors import ReportError, ReportTooLarge
from tests.diagnostics.dmarc.conftest import SAMPLES
from tests.fuzz.test_found import TLS_REPORT
from tests.fuzz.test_found import _zip as zipped

MiB = 1024 * 1024
GOOD = (SAMPLES / "aggregate" / "old_draft_from_wiki.xml").read_bytes()
HEAD = (
    b'<?xml version="1.0"?>\n<feedback><report_metadata><org_name>receiver.example</org_name>'
    b"<email>dmarc@receiver.example</email><report_id>r1</report_id><date_range>"
    b"<begin>1700000000</begin><end>1700086399</end></date_range></report_metadata>"
    b"<policy_published><domain>example.com</domain><p>none</p></policy_published>\n"
)
RECORD = (
    "<record><row><source_ip>{ip}</source_ip><count>{count}</count><policy_evaluated>"
    "<disposition>none</disposition><dkim>pass</dkim><spf>pass</spf></policy_evaluated></row>"
    "<identifiers><header_from>example.com</header_from></identifiers></record>\n"
)


def report(records: int = 1, head: bytes = HEAD, padding: int = 0) -> bytes:
    rows = "".join(RECORD.format(ip=f"192.0.2.{i % 250}", count=1) for i in range(records))
    return head + rows.encode() + b" " * padding + b"</feedback>\n"


def spaces_gzip(size: int) -> bytes:
    """A gzip of a report head, then `size` bytes of spaces: a bomb of ratio ~1,000."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    parts = [compressor.compress(HEAD + RECORD.format(ip="192.0.2.1", count=1).encode())]
    parts += [compressor.compress(b" " * MiB) for _ in range(size // MiB)]
    parts.append(compressor.flush())
    return b"".join(parts)


def read_upload(data: bytes, limits: ParseLimits) -> tuple[UploadBudget, list[str]]:
    """Read `data` as `load_reports` does, draining every piece; the budget and every reason."""
    budget = UploadBudget(limits)
    reasons: list[str] = []
    for piece in unpack("upload", io.BytesIO(data), budget):
        if isinstance(piece, Rejected):
            reasons.append(piece.reason)
            continue
        assert isinstance(piece, Piece)
        try:
            while piece.stream.read(CHUNK):
                pass
        except ReportError as error:
            reasons.append(str(error))
        if budget.stopped:
            break
    return budget, reasons


# ---- the compression ratio ---------------------------------------------------------------------


@pytest.mark.parametrize("wrap", ["gzip", "zip"])
def test_a_bomb_is_stopped_by_its_ratio_after_the_first_mib(wrap: str) -> None:
    bomb = spaces_gzip(64 * MiB)
    data = bomb if wrap == "gzip" else zipped({"report.xml": gzip.decompress(bomb)})
    budget, reasons = read_upload(data, ParseLimits())
    assert len(reasons) == 1
    assert "max_ratio cap (200 times" in reasons[0]
    assert "real reports compress 10 to 30 times" in reasons[0]
    # Stopped right after the grace MiB, nowhere near the 64 MiB it holds.
    assert budget.inflated <= MiB + 2 * CHUNK
    with pytest.raises(ReportTooLarge, match="max_ratio"):
        parse_report(data)


def test_a_real_report_is_under_the_ratio() -> None:
    # A real report's 20x or so, past the grace MiB: read whole.
    data = gzip.compress(report(8_000))
    assert len(gzip.decompress(data)) > 1 * MiB
    assert len(parse_report(data).records) == 8_000


# ---- one budget per upload ---------------------------------------------------------------------


def test_nested_zips_share_one_budget() -> None:
    # Ten zips of 3 MiB each: each alone is under the 8 MiB cap, together they are not. The
    # ratio is lifted so the shared byte cap is what is tested.
    inner = zipped({"report.xml": report(1, padding=3 * MiB)})
    outer = zipped({f"inner{i}.zip": inner for i in range(10)}, zipfile.ZIP_STORED)
    limits = ParseLimits(max_report_bytes=8 * MiB, max_ratio=100_000)
    budget, reasons = read_upload(outer, limits)
    assert any("max_report_bytes cap, for everything one upload holds" in r for r in reasons)
    assert budget.inflated <= 8 * MiB + CHUNK
    batch = load_reports([outer, GOOD], limits=limits)
    assert 1 <= len(batch.reports) <= 3  # the first members, then the cap; GOOD still read
    assert batch.reports["source"].iloc[-1] == "<bytes>"
    assert sum("max_report_bytes" in reason for _, reason in batch.errors) == 1


def test_a_zip_of_gzip_bombs_stops_at_the_first() -> None:
    bomb = spaces_gzip(16 * MiB)
    archive = zipped({f"r{i}.xml.gz": bomb for i in range(20)}, zipfile.ZIP_STORED)
    budget, reasons = read_upload(archive, ParseLimits())
    assert len(reasons) == 1
    assert "max_ratio" in reasons[0]
    assert budget.inflated <= MiB + 2 * CHUNK  # one member's first MiB, not twenty
    batch = load_reports([archive, GOOD])
    assert [name for name, _ in batch.errors] == ["<bytes>:r0.xml.gz"]
    assert len(batch.reports) == 1


def test_records_are_counted_across_the_reports_of_an_upload() -> None:
    archive = zipped({f"r{i}.xml": report(40) for i in range(3)})
    batch = load_reports([archive], limits=ParseLimits(max_records=100))
    assert len(batch.reports) == 2  # 80 records; the third report would make 120
    assert len(batch.records) == 80
    assert "the upload has more than 100 records in all (the max_records cap)" in batch.errors[0][1]


def test_the_time_cap_is_named() -> None:
    ticks = iter(range(0, 1_000_000, 10))
    budget = UploadBudget(ParseLimits(max_seconds=25), clock=lambda: float(next(ticks)))
    pieces = list(unpack("slow", io.BytesIO(gzip.compress(report(1))), budget))
    assert isinstance(pieces[0], Rejected)
    assert "took more than 25 seconds (the max_seconds cap)" in pieces[0].reason


def test_a_file_over_the_input_cap_is_refused_unread(tmp_path: object) -> None:
    data = report(1, padding=2 * MiB)
    batch = load_reports([data], limits=ParseLimits(max_input_bytes=MiB))
    assert "larger than 1 MiB (the max_input_bytes cap)" in batch.errors[0][1]


# ---- TLS reports -------------------------------------------------------------------------------


def tls_report(details: int) -> bytes:
    """tests/fuzz/test_found.py's TLS report with `details` failure details."""
    document = copy.deepcopy(TLS_REPORT)
    policy = document["policies"][0]  # type: ignore[index]
    policy["failure-details"] = policy["failure-details"] * details
    return json.dumps(document).encode()


def test_tls_failure_details_count_against_the_upload() -> None:
    limits = ParseLimits(max_tls_items=1_000)
    batch = load_reports([tls_report(50_000)], limits=limits)
    assert "(the max_tls_items cap)" in batch.errors[0][1]
    assert batch.tls_reports.empty
    assert len(load_reports([tls_report(900)], limits=limits).tls_reports) == 1


def test_tls_json_is_read_only_up_to_its_cap() -> None:
    data = tls_report(50_000)
    batch = load_reports([data], limits=ParseLimits(max_json_bytes=64 * 1024))
    assert "larger than 65,536 bytes (the max_json_bytes cap" in batch.errors[0][1]


# ---- e-mail ------------------------------------------------------------------------------------


def message(attachment: bytes, filename: str = "report.xml") -> bytes:
    encoded = base64.encodebytes(attachment)
    return (
        b"From: dmarc@receiver.example\nTo: rua@example.com\nSubject: Report\nMIME-Version: 1.0\n"
        b'Content-Type: multipart/mixed; boundary="b1"\n\n--b1\nContent-Type: text/plain\n\n'
        b"The report is attached.\n--b1\nContent-Type: application/xml\n"
        b"Content-Transfer-Encoding: base64\n"
        b'Content-Disposition: attachment; filename="'
        + filename.encode()
        + b'"\n\n'
        + encoded
        + b"--b1--\n"
    )


def test_an_attachment_is_decoded_as_it_is_read() -> None:
    attachment = report(15_000)  # about 3.5 MiB of XML, 4.7 MiB of base64
    data = message(attachment)
    batch = load_reports([data])
    assert batch.errors == []
    assert len(batch.records) == 15_000
    # Streamed: reading the message and its attachment through holds a few chunks, not either.
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        budget, reasons = read_upload(data, ParseLimits())
        high = tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
    assert reasons == []
    assert budget.read == len(data)
    assert len(attachment) > 3 * MiB
    assert high < 2 * MiB, high  # a few chunks and lines


def test_a_mailbox_rejects_one_message_and_reads_the_next() -> None:
    broken = message(b"\x00" * 100).replace(
        b"Content-Type: application/xml", b"Content-Type: application/gzip"
    )
    broken = broken.replace(
        base64.encodebytes(b"\x00" * 100), base64.encodebytes(b"\x1f\x8b" + b"\x00" * 50)
    )
    mbox = (
        b"From dmarc@receiver.example Mon Jan  1 00:00:00 2024\n"
        + broken
        + b"\nFrom dmarc@receiver.example Mon Jan  1 00:00:00 2024\n"
        + message(gzip.compress(report(3)), "r.xml.gz")
    )
    batch = load_reports([mbox])
    assert len(batch.records) == 3
    assert [name for name, _ in batch.errors] == ["<bytes>#1:report.xml"]


def test_a_message_with_no_attachment_over_the_message_cap_is_named() -> None:
    body = b"From: a@receiver.example\nSubject: hello\n\n" + b"text line\n" * 20_000
    batch = load_reports([body], limits=ParseLimits(max_message_bytes=64 * 1024))
    assert "(the max_message_bytes cap" in batch.errors[0][1]


# ---- the right reason --------------------------------------------------------------------------


def test_a_zip_under_the_byte_cap_is_refused_for_its_ratio_not_its_xml() -> None:
    # The 510 KB zip of 500 MiB, scaled: under the byte cap, over the ratio.
    data = zipped({"report.xml": report(1, padding=30 * MiB)})
    with pytest.raises(ReportTooLarge, match="max_ratio") as caught:
        parse_report(data, limits=ParseLimits(max_report_bytes=64 * MiB))
    assert "XML features" not in str(caught.value)


def test_a_huge_attribute_gets_its_own_reason() -> None:
    # Over lxml's 10 MB value limit and over the 32 MiB a document is kept to be read again.
    value = b"A" * (34 * MiB)
    document = HEAD.replace(b"<feedback>", b'<feedback note="' + value + b'">') + b"</feedback>\n"
    del value
    with pytest.raises(ReportError) as caught:
        parse_report(document)
    # Refused for what it is: a value too long for any report, or (the fast reader's scan, which
    # meets it first) over a megabyte of XML without a record; never "XML features".
    reason = str(caught.value)
    assert (
        "longer than any report holds" in reason
        or "more than 1 MiB of XML between two records" in reason
    ), reason
    assert "XML features" not in reason
