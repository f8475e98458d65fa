"""A message part's Content-* fields, read by hand when they are plain, by `email` otherwise.

The unpacker asks a part's header four questions: its content type, its multipart boundary, its
transfer encoding and its file name. `email`'s parser answers them, but costs more than reading a
small report, and a day of reports is thousands of messages of three or four parts
each. Receivers write these fields plainly (`application/gzip; name="report.xml.gz"`), so they
are read here by one expression; anything the expression does not cover the same way `email`
would (RFC 2231 parameters, encoded words, escapes, comments, non-ASCII bytes, a field given
twice) goes to `email`'s compat32 parser, whose answers are the reference (tests compare both).
"""

from __future__ import annotations

import re
from email.message import Message
from email.parser import BytesHeaderParser
from email.policy import compat32
from typing import Protocol

__all__ = ["PartHeaders", "part_headers"]


class PartHeaders(Protocol):
    """The answers the unpacker needs from a part's header."""

    def content_type(self) -> str:
        """The content type, lower case (`text/plain` when missing or malformed)."""
        ...

    def boundary(self) -> object:
        """The multipart boundary parameter (None when there is none)."""
        ...

    def transfer_encoding(self) -> str:
        """The Content-Transfer-Encoding, lower case ("" when there is none)."""
        ...

    def filename(self) -> str | None:
        """The attachment's file name (Content-Disposition's, else Content-Type's `name`)."""
        ...


# A field: its name, and its value with continuation lines (folded) joined.
_FIELD = re.compile(rb"([A-Za-z0-9-]+):([^\r\n]*(?:\r?\n[ \t][^\r\n]*)*)\r?\n?")
# A value's `; name=value` parameters, quoted or not.
_PARAM = re.compile(r';\s*([^\s=;"]+)\s*=\s*(?:"([^"]*)"|([^\s;"]*))\s*')
# What the hand reading leaves to `email`: escapes and quoted pairs, RFC 2231 (`name*=`), encoded
# words, comments, and anything but printable ASCII.
_NOT_PLAIN = re.compile(rb"[\\*()]|=\?|[^\x20-\x7e\t\r\n]")
_WANTED = (b"content-type", b"content-transfer-encoding", b"content-disposition")


class _Plain:
    """The answers for plain fields (the module docstring says which), as compat32 gives them."""

    __slots__ = ("_fields", "_params")

    def __init__(self, fields: dict[str, str], params: dict[str, dict[str, str]]) -> None:
        self._fields = fields
        self._params = params  # each field's parameters, read once

    def transfer_encoding(self) -> str:
        return self._fields.get("content-transfer-encoding", "").strip().lower()

    def content_type(self) -> str:
        value = self._fields.get("content-type")
        if value is None:
            return "text/plain"
        ctype = value.partition(";")[0].strip().lower()
        return ctype if ctype.count("/") == 1 else "text/plain"

    def boundary(self) -> object:
        return self._params.get("content-type", {}).get("boundary")

    def filename(self) -> str | None:
        name = self._params.get("content-disposition", {}).get("filename")
        if name is None:
            name = self._params.get("content-type", {}).get("name")
        return None if name is None else name.strip()


def _params(value: str) -> dict[str, str] | None:
    """The `; name=value` parameters of a field's value (the first of a name given twice, as
    compat32 takes it), or None when something in it is not such a parameter (`email` reads it)."""
    params: dict[str, str] = {}
    position = value.find(";")
    if position < 0:
        return params
    while position < len(value):
        match = _PARAM.match(value, position)
        if match is None:
            return None
        name, quoted, bare = match.groups()
        params.setdefault(name.lower(), quoted if quoted is not None else bare)
        position = match.end()
    return params


def part_headers(block: bytes) -> PartHeaders:
    """The Content-* fields of one header block (only those lines: `_mime._headers`)."""
    plain = _plain(block)
    if plain is not None:
        return plain
    return _Parsed(BytesHeaderParser(policy=compat32).parsebytes(block))


def _plain(block: bytes) -> _Plain | None:
    """The fields read by hand, or None when `email` must read them (the module docstring says
    when)."""
    if _NOT_PLAIN.search(block):
        return None
    fields: dict[str, str] = {}
    params: dict[str, dict[str, str]] = {}
    position = 0
    while position < len(block):
        match = _FIELD.match(block, position)
        if match is None:
            return None
        position = match.end()
        name = match.group(1).lower()
        if name not in _WANTED:
            continue
        key = name.decode("ascii")
        if key in fields:
            return None  # given twice: `email` knows which one wins
        # Folding is whitespace to every question asked (each strips or splits on it).
        fields[key] = match.group(2).decode("ascii").strip()
        found = _params(fields[key])
        if found is None:
            return None
        params[key] = found
    return _Plain(fields, params)


class _Parsed:
    """The answers `email`'s compat32 parser gives."""

    __slots__ = ("_message",)

    def __init__(self, message: Message) -> None:
        self._message = message

    def content_type(self) -> str:
        return self._message.get_content_type()

    def boundary(self) -> object:
        return self._message.get_param("boundary")

    def transfer_encoding(self) -> str:
        return str(self._message.get("content-transfer-encoding", "")).strip().lower()

    def filename(self) -> str | None:
        return self._message.get_filename()
