"""Report e-mails as receivers send them, built from the real sample reports in tests/data/dmarc/.

    report_xml(7)                        # a real sample report, its report_id made unique by `n`
    report_message([("a.xml.gz", gzip.compress(report_xml(7)))], subject="Report domain: ...")

A receiver sends one report per message, gzipped or zipped, attached (base64) to a short text
body; `report_message` builds exactly that, with any number of attachments. Corrupt and
non-report attachments are made by the callers.
"""

from __future__ import annotations

import email.policy
import gzip
import re
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "dmarc"
# A real report (one record) whose report_id is rewritten to make many distinct reports.
BASE_REPORT = SAMPLES / "aggregate" / "example.net!example.com!1529366400!1529452799.xml"
_REPORT_ID = re.compile(rb"<report_id>[^<]*</report_id>")


def report_xml(number: int, base: Path = BASE_REPORT) -> bytes:
    """The sample report with report_id "desk-test-<number>": reports with different numbers are
    different reports to the store; the same number is the same report (a duplicate)."""
    xml = base.read_bytes()
    return _REPORT_ID.sub(f"<report_id>desk-test-{number}</report_id>".encode(), xml, count=1)


def report_message(
    attachments: list[tuple[str, bytes]],
    *,
    subject: str = "Report Domain: example.com Submitter: example.net",
    sender: str = "noreply-dmarc@example.net",
    to: str = "dmarc-reports@reports.example.org",
) -> bytes:
    """An RFC 5322 message with `attachments` (file name, bytes), as a receiver mails them."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(1700000000)
    message["Message-ID"] = make_msgid(domain="example.net")
    message.set_content("This is a DMARC aggregate report.\n")
    for name, data in attachments:
        kind = "gzip" if name.endswith(".gz") else "zip" if name.endswith(".zip") else "xml"
        maintype, subtype = ("text", "xml") if kind == "xml" else ("application", kind)
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return message.as_bytes(policy=email.policy.SMTP)  # CRLF line ends, as on the wire


def gzipped_report(number: int) -> tuple[str, bytes]:
    """One attachment: report `number`, gzipped, named as receivers name them."""
    return (f"example.net!example.com!{number}.xml.gz", gzip.compress(report_xml(number), mtime=0))


def plain_message(subject: str = "Lunch on Friday?") -> bytes:
    """A message that holds no report."""
    message = EmailMessage()
    message["From"] = "colleague@example.org"
    message["To"] = "dmarc-reports@reports.example.org"
    message["Subject"] = subject
    message.set_content("Shall we go to the usual place?\n")
    return message.as_bytes(policy=email.policy.SMTP)


def padded(message: bytes, size: int) -> bytes:
    """`message` grown to at least `size` bytes by lines of text after its end (a MIME epilogue,
    which readers ignore): a huge message that is cheap to build and to send."""
    line = b"x" * 998 + b"\r\n"
    return message + line * (1 + max(0, size - len(message)) // len(line))


def with_attachment_name(message: bytes, old: str, new_rfc2231: str) -> bytes:
    """`message` with the attachment named `old` renamed through an RFC 2231 parameter, which may
    encode any bytes (CR LF among them) that a plain header could not carry."""
    return message.replace(f'filename="{old}"'.encode(), f"filename*={new_rfc2231}".encode())
