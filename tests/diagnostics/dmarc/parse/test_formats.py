"""The same report reads the same however it arrives: XML, gzip, zip, email, mailbox, bytes, upload."""

from __future__ import annotations

import base64
import binascii
import gzip
import io
import zipfile
from email.message import EmailMessage
from pathlib import Path

import pytest

from bench.dmarc_parity import our_rows
from diagnostics.dmarc import load_reports, parse_report
from tests.diagnostics.dmarc.conftest import SAMPLES

XML = (SAMPLES / "extract_report" / "nice-input.xml").read_bytes()
OTHER = (SAMPLES / "aggregate" / "old_draft_from_wiki.xml").read_bytes()


def _rows(source: object) -> list[dict[str, object]]:
    batch = load_reports(source)  # type: ignore[arg-type]
    assert not batch.errors, batch.errors
    return our_rows(batch.records)


EXPECTED = _rows(XML)
EXPECTED_OTHER = _rows(OTHER)


def _email(
    attachment: bytes, encoding: str, filename: str = "google.com!example.com!1.xml.gz"
) -> bytes:
    """A report email as receivers write them, with the attachment in the given transfer encoding."""
    if encoding == "base64":
        body = base64.encodebytes(attachment)
    elif encoding == "quoted-printable":
        # istext=False: line breaks inside binary data are encoded, not taken as line ends
        body = binascii.b2a_qp(attachment, istext=False)
    elif encoding == "x-uuencode":
        lines = [b"begin 644 " + filename.encode()]
        lines += [
            binascii.b2a_uu(attachment[i : i + 45]).rstrip(b"\n")
            for i in range(0, len(attachment), 45)
        ]
        lines += [b"`", b"end"]
        body = b"\n".join(lines) + b"\n"
    else:
        raise AssertionError(encoding)
    return (
        b"From: noreply-dmarc-support@google.com\r\n"
        b"To: dmarc@example.com\r\n"
        b"Subject: Report domain: example.com Submitter: google.com\r\n"
        b"MIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="XYZ"\r\n\r\n'
        b"--XYZ\r\nContent-Type: text/plain\r\n\r\nThis is an aggregate report.\r\n"
        b"--XYZ\r\nContent-Type: application/gzip\r\n"
        b"Content-Transfer-Encoding: " + encoding.encode() + b"\r\n"
        b'Content-Disposition: attachment; filename="'
        + filename.encode()
        + b'"\r\n\r\n'
        + body.replace(b"\n", b"\r\n")
        + b"\r\n--XYZ--\r\n"
    )


def test_gzip_is_detected_from_bytes_not_the_name(tmp_path: Path) -> None:
    lying = tmp_path / "report.xml"  # a .xml name on gzip bytes
    lying.write_bytes(gzip.compress(XML))
    assert _rows(lying) == EXPECTED


def test_zip_reads_every_xml_member() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("one.xml", XML)
        archive.writestr("nested/two.xml", OTHER)
    assert _rows(buffer.getvalue()) == EXPECTED + EXPECTED_OTHER


@pytest.mark.parametrize("encoding", ["base64", "quoted-printable", "x-uuencode"])
def test_email_attachment_in_each_transfer_encoding(encoding: str) -> None:
    assert _rows(_email(gzip.compress(XML), encoding)) == EXPECTED


def test_email_with_plain_xml_attachment() -> None:
    message = EmailMessage()
    message["From"] = "dmarc@receiver.example"
    message["Subject"] = "Report"
    message.set_content("see attachment")
    message.add_attachment(XML, maintype="text", subtype="xml", filename="report.xml")
    assert _rows(bytes(message)) == EXPECTED


def test_mbox_with_several_messages(tmp_path: Path) -> None:
    mailbox = tmp_path / "reports"  # no extension at all
    mailbox.write_bytes(
        b"From MAILER-DAEMON Mon Jan  1 00:00:00 2024\n"
        + _email(gzip.compress(XML), "base64").replace(b"\r\n", b"\n")
        + b"\nFrom MAILER-DAEMON Mon Jan  1 00:00:01 2024\n"
        + _email(gzip.compress(OTHER), "base64", "other.xml.gz").replace(b"\r\n", b"\n")
    )
    batch = load_reports(mailbox)
    assert not batch.errors
    assert our_rows(batch.records) == EXPECTED + EXPECTED_OTHER
    assert [s.split("#")[1] for s in batch.reports["source"]] == [
        "1:google.com!example.com!1.xml.gz",
        "2:other.xml.gz",
    ]


def test_folders_globs_bytes_and_open_files(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.xml").write_bytes(XML)
    (tmp_path / "b.gz").write_bytes(gzip.compress(OTHER))
    assert our_rows(load_reports(tmp_path).records) == EXPECTED_OTHER + EXPECTED  # sorted paths
    assert our_rows(load_reports(str(tmp_path / "**" / "*.xml")).records) == EXPECTED
    upload = io.BytesIO(gzip.compress(XML))
    upload.name = "upload.xml.gz"  # type: ignore[attr-defined]
    batch = load_reports([upload, XML])
    assert our_rows(batch.records) == EXPECTED + EXPECTED
    assert list(batch.reports["source"]) == ["upload.xml.gz", "<bytes>"]
    assert not upload.closed  # the caller's file stays theirs


def test_parse_report_takes_path_bytes_and_file() -> None:
    path = SAMPLES / "extract_report" / "nice-input.xml.zip"
    by_path = parse_report(path)
    by_bytes = parse_report(path.read_bytes())
    with path.open("rb") as handle:
        by_file = parse_report(handle)
    assert (
        our_rows(by_path.records)
        == our_rows(by_bytes.records)
        == our_rows(by_file.records)
        == EXPECTED
    )
    assert by_path.report_id == "11038226378739404135"
