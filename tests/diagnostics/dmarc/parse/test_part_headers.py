"""A part's Content-* fields read by hand give what `email`'s compat32 parser gives.

The hand reading (`_part_headers`) answers the unpacker's four questions for plain fields and
leaves the rest to `email`; both must answer alike on every header block of the test e-mails, on
the shapes receivers write, and on generated fields full of the characters that make the
difference (quotes, semicolons, folding, RFC 2231, encoded words).
"""

from __future__ import annotations

from email.parser import BytesHeaderParser
from email.policy import compat32
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from diagnostics.dmarc.parse._part_headers import PartHeaders, part_headers

DATA = Path(__file__).parents[3] / "data"


def _answers(headers: PartHeaders) -> tuple[object, ...]:
    multipart = headers.content_type().partition("/")[0] == "multipart"
    return (
        headers.content_type(),
        headers.boundary() if multipart else None,
        headers.transfer_encoding(),
        headers.filename(),
    )


def _reference(block: bytes) -> tuple[object, ...]:
    """`email`'s compat32 answers, asked as the unpacker asked them before the hand reading."""
    message = BytesHeaderParser(policy=compat32).parsebytes(block)
    return (
        message.get_content_type(),
        message.get_param("boundary") if message.get_content_maintype() == "multipart" else None,
        str(message.get("content-transfer-encoding", "")).strip().lower(),
        message.get_filename(),
    )


def _content_blocks(message: bytes) -> list[bytes]:
    """The Content-* lines (and their continuations) of each header block of a message: after
    its start and after each boundary line, as `_mime._headers` keeps them."""
    lines = message.replace(b"\r\n", b"\n").split(b"\n")
    starts = [0] + [n + 1 for n, line in enumerate(lines) if line.startswith(b"--")]
    blocks = []
    for start in starts:
        kept: list[bytes] = []
        keep = False
        for line in lines[start:]:
            if not line.strip():
                break
            if line[:1] not in (b" ", b"\t"):
                keep = line[:8].lower() == b"content-"
            if keep:
                kept.append(line + b"\n")
        blocks.append(b"".join(kept))
    return blocks


def _messages() -> list[Path]:
    return sorted(p for p in DATA.rglob("*") if p.suffix in (".eml", ".msg", ".mbox"))


def test_the_test_mails_have_header_blocks() -> None:
    blocks = [b for path in _messages() for b in _content_blocks(path.read_bytes())]
    assert len(blocks) >= 50


@pytest.mark.parametrize("path", _messages(), ids=lambda p: p.name)
def test_every_header_block_of_the_test_mails(path: Path) -> None:
    for block in _content_blocks(path.read_bytes()):
        assert _answers(part_headers(block)) == _reference(block), block


RECEIVERS = [
    b'Content-Type: multipart/mixed;\n\tboundary="----=_Part_1234_5678.1700000000000"\n',
    b"Content-Type: application/gzip; name=report.xml.gz\nContent-Transfer-Encoding: base64\n",
    b'Content-Type: application/zip;\r\n name="google.com!example.com!1!2.zip"\r\n'
    b'Content-Disposition: attachment;\r\n filename="google.com!example.com!1!2.zip"\r\n'
    b"Content-Transfer-Encoding: base64\r\n",
    b"Content-Type: text/plain garbage; x=y\n",
    b'Content-Type: Application/ZIP; NAME="Q.zip" ; Size=3\n',
    b"Content-Type: text\n",
    b"Content-Type: ;a=b\n",
    b'content-type: text/html; charset="utf-8"\nCONTENT-TRANSFER-ENCODING:  Quoted-Printable \n',
    b"",
    b"Content-Type:\n",
    b"Content-Disposition: inline\n",
    b"Content-Type: application/gzip; name*=UTF-8''r%C3%A9port.xml.gz\n",
    b'Content-Type: application/gzip; name="=?utf-8?q?report?=.gz"\n',
    b'Content-Type: application/gzip; name="a\\"b.gz"\n',
    b"Content-Type: text/plain\nContent-Type: application/zip\n",
    b"Content-Type : application/zip\n",
    b'Content-Type: application/zip; name="x;y.zip"; name=z.zip\n',
    b"Content-Type: application/zip; name=\n",
    b"Content-Type: application/zip; name\n",
    b"Content-Type: application/zip (a comment); name=a.zip\n",
]


@pytest.mark.parametrize("block", RECEIVERS)
def test_fields_as_receivers_and_others_write_them(block: bytes) -> None:
    assert _answers(part_headers(block)) == _reference(block)


_TEXT = st.text(alphabet=st.sampled_from(list(' \t;="\\/*()?abzAZ09-._é')), max_size=12)
_NAME = st.sampled_from(["boundary", "name", "filename", "Name", "charset", "size", "name*"])


@st.composite
def _fields(draw: st.DrawFn) -> bytes:
    lines = []
    for field in draw(
        st.lists(
            st.sampled_from(
                ["Content-Type", "content-type", "Content-Disposition", "Content-Transfer-Encoding"]
            ),
            max_size=3,
        )
    ):
        value = draw(st.sampled_from(["multipart/mixed", "application/gzip", "attachment", ""]))
        for _ in range(draw(st.integers(0, 3))):
            separator = draw(st.sampled_from(["; ", ";", ";\n\t", " ; "]))
            text = draw(_TEXT)
            quoted = draw(st.booleans())
            shown = f'"{text}"' if quoted else text
            value += f"{separator}{draw(_NAME)}={shown}"
        value += draw(_TEXT)
        lines.append(f"{field}: {value}\n".encode("utf-8", "surrogateescape"))
    return b"".join(lines)


@settings(max_examples=400, deadline=None)
@given(_fields())
def test_generated_fields(block: bytes) -> None:
    assert _answers(part_headers(block)) == _reference(block)
