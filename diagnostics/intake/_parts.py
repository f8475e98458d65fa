"""The report parts of a message, read from the server's BODYSTRUCTURE: pure, no I/O.

A receiver's report message is a short text body and one attachment (gzip, zip or XML). Fetching the
whole message and parsing its MIME costs more than the report itself (Python's e-mail parser
compiles a pattern for every message's boundary); the server has parsed it already. So the IMAP
client asks for each message's BODYSTRUCTURE with its size, fetches its leaf parts alone
(BODY.PEEK[n]), decodes them here and hands the parser the report parts as files named
"message:attachment", exactly as the parser names the parts it finds in a whole message.

The rule for which parts are reports is the parser's own for an e-mail's parts
(diagnostics.dmarc.parse reading a message): gzip and zip always, XML that holds a <feedback> tag, JSON
that is not a text body. Anything else about a message, and the whole message is read as before:
a message/* part (a failure report with its ARF part, a forwarded message), a parameter
split in RFC 2231 pieces, an encoding other than base64, quoted-printable, 7bit, 8bit or binary, more parts
than the parser's cap, a part larger than one report may be, or no report part at all (a failure
report without an ARF part, or no report: the parser says why).
"""

from __future__ import annotations

import binascii
import email.utils
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from diagnostics.dmarc.parse import holds_feedback

__all__ = ["StructureLeaf", "decoded", "leaves", "report_parts"]

_GZIP = b"\x1f\x8b"
_ZIP = (b"PK\x03\x04", b"PK\x05\x06")
_PLAIN = {"7bit", "8bit", "binary", ""}


@dataclass(frozen=True, slots=True)
class StructureLeaf:
    """One leaf part of a message: its IMAP section ("2", "1.2"), type, transfer encoding, file
    name (None without one) and position among the leaves (the parser's "part N" label)."""

    section: str
    content_type: str
    encoding: str
    filename: str | None
    index: int


def leaves(structure: Any, most: int) -> list[StructureLeaf] | None:
    """The leaf parts of a message whose BODYSTRUCTURE (as imapclient gives it) is `structure`,
    in order; None when the whole message must be read instead (module docstring)."""
    found: list[StructureLeaf] = []
    try:
        if not _walk(structure, "", found):
            return None
    except (TypeError, ValueError, IndexError, UnicodeDecodeError):
        return None  # a structure this reading does not know: the whole message
    return found if 0 < len(found) <= most else None


def _walk(node: Any, prefix: str, found: list[StructureLeaf]) -> bool:
    if isinstance(node[0], list):  # multipart: (parts, subtype, ...)
        for number, part in enumerate(node[0], start=1):
            if not _walk(part, f"{prefix}{number}.", found):
                return False
        return True
    kind = _text(node[0]).lower()
    subtype = _text(node[1]).lower()
    if kind == "message" or kind == "multipart":
        return False
    params = _params(node[2])
    encoding = _text(node[5]).lower()
    if params is None or encoding not in (*_PLAIN, "base64", "quoted-printable"):
        return False
    # Extension data: text parts carry a line count first (RFC 3501 7.4.2).
    at = 9 if kind == "text" else 8
    disposition = node[at] if len(node) > at else None
    names = (
        _params(disposition[1]) if isinstance(disposition, tuple) and len(disposition) > 1 else {}
    )
    if names is None:
        return False
    filename = names.get("filename") or params.get("name")
    section = prefix.rstrip(".") or "1"
    found.append(StructureLeaf(section, f"{kind}/{subtype}", encoding, filename, len(found)))
    return True


def _params(raw: Any) -> dict[str, str] | None:
    """A parameter list as a dict. A value in RFC 2231's one-piece form (name*=charset''%xx, as
    Python writes a file name longer than a line) is decoded as the e-mail parser decodes it;
    one split in pieces (name*0, name*1) gives None, left to the e-mail parser."""
    if raw is None:
        return {}
    pairs = list(raw)
    out: dict[str, str] = {}
    for key, value in zip(pairs[::2], pairs[1::2], strict=True):
        name = _text(key).lower()
        if name.endswith("*") and "*" not in name[:-1]:
            charset, language, text = email.utils.decode_rfc2231(_text(value))
            # As email.utils.decode_params: %xx to latin-1 characters, then to the charset.
            unquoted = urllib.parse.unquote(text, encoding="latin-1")
            out[name[:-1]] = email.utils.collapse_rfc2231_value((charset, language, unquoted))
        elif "*" in name:
            return None
        else:
            out[name] = _text(value)
    return out


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def decoded(data: bytes, encoding: str) -> bytes | None:
    """A part's bytes without their transfer encoding; None when they cannot be decoded."""
    try:
        if encoding == "base64":
            return binascii.a2b_base64(data)
        if encoding == "quoted-printable":
            return binascii.a2b_qp(data)
    except (binascii.Error, ValueError):
        return None
    return data


def report_parts(
    parts: Sequence[tuple[StructureLeaf, bytes]], most_bytes: int
) -> list[tuple[str, bytes]] | None:
    """The (label, bytes) of each decoded part that is a report, as the parser labels it (its
    file name, else "part N"); None when the whole message must be read instead: a part over
    `most_bytes`, or none that is a report."""
    found: list[tuple[str, bytes]] = []
    for leaf, payload in parts:
        if len(payload) > most_bytes:
            return None
        if _is_report(payload, leaf.content_type):
            found.append((leaf.filename or f"part {leaf.index + 1}", payload))
    return found or None


def _is_report(payload: bytes, content_type: str) -> bool:
    head = payload[:8192]
    if head.startswith(_GZIP) or head.startswith(_ZIP):
        return True
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith(b"<"):
        return holds_feedback(payload)  # not an HTML body or other XML
    if text.startswith((b"{", b"[")):
        return content_type != "text/plain"
    return False
