"""A FETCH response read quickly: pure, no I/O.

imapclient parses every response with a lexer written character by character in Python. The IMAP
client (imap.py) reads the heads of a backlog (size, subject, structure) and the report parts
through this parser instead (measured: 53 ms of CPU for the heads of a thousand report messages,
against imapclient's 92), and falls back to imapclient's for anything this one does not take.

`fetch_items(data)` takes the untagged FETCH data as imaplib returns it (bytes lines, and
(line, literal) pairs where a line ends in a {n} literal) and gives {message number: {item:
value}}: values are bytes (atoms, quoted strings, literals), None (NIL) and lists. `body(value)`
turns a BODYSTRUCTURE value into the shape imapclient gives (a multipart's parts as a list first,
everything else as tuples), which _parts.py reads.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["FetchParseError", "body", "fetch_items"]

# One alternative a token; the last catches any other character, so findall() misses nothing
# (only blanks between tokens go unread). A quoted string keeps its quotes here: "" is a token.
_TOKEN = re.compile(
    rb"""\s*(?:
        (\()
      | (\))
      | ("(?:[^"\\]|\\.)*")
      | \{(\d+)\}\s*$
      | ([^\s()"\[\]{]+(?:\[[^\]]*\](?:<[\d.]+>)?)?)
      | (\S)
    )""",
    re.VERBOSE,
)
_ESCAPE = re.compile(rb"\\(.)")
_START = re.compile(rb"\d+ \(")


class FetchParseError(ValueError):
    """The response is not in a form this parser takes; imapclient's parser is used instead."""


def fetch_items(data: list[Any]) -> dict[int, dict[bytes, Any]]:
    """{message number: {item name (upper case): value}} for each FETCH response in `data`."""
    out: dict[int, dict[bytes, Any]] = {}
    for tokens in _responses(data):
        value, end = _value(tokens, 1)
        if end != len(tokens) or not isinstance(tokens[0], bytes) or not isinstance(value, list):
            raise FetchParseError("a FETCH response that is not number (items)")
        if len(value) % 2:
            raise FetchParseError("a FETCH item without a value")
        items = {bytes(k).upper(): v for k, v in zip(value[::2], value[1::2], strict=True)}
        out[int(tokens[0])] = items
    return out


def body(value: Any) -> Any:
    """A BODYSTRUCTURE value as imapclient shapes it (module docstring)."""
    if not isinstance(value, list):
        return value
    if value and isinstance(value[0], list):  # multipart: its parts come first
        count = 0
        while count < len(value) and isinstance(value[count], list):
            count += 1
        return ([body(part) for part in value[:count]], *(_tuples(v) for v in value[count:]))
    return _tuples(value)


def _tuples(value: Any) -> Any:
    return tuple(_tuples(v) for v in value) if isinstance(value, list) else value


class _Literal(bytes):
    """A literal's bytes: never NIL, a parenthesis or a number, whatever they hold."""


_OPEN = object()
_CLOSE = object()


def _responses(data: list[Any]) -> list[list[Any]]:
    """The tokens of each response; a response continues over a literal and the line after it."""
    responses: list[list[Any]] = []
    for element in data:
        if isinstance(element, tuple):
            line, literal = element
        else:
            line, literal = element, None
        if not isinstance(line, bytes) or (literal is not None and not isinstance(literal, bytes)):
            raise FetchParseError("an element that is not bytes")
        if _START.match(line):
            responses.append([])
        elif not responses:
            raise FetchParseError("a continuation before any response")
        responses[-1].extend(_tokens(line, literal))
    return responses


def _tokens(line: bytes, literal: bytes | None) -> list[Any]:
    found: list[Any] = []
    for opening, closing, quoted, size, atom, other in _TOKEN.findall(line):
        if opening:
            found.append(_OPEN)
        elif closing:
            found.append(_CLOSE)
        elif quoted:
            found.append(_ESCAPE.sub(rb"\1", quoted[1:-1]))
        elif size:
            if literal is None or len(literal) != int(size):
                raise FetchParseError("a literal that did not arrive whole")
            found.append(_Literal(literal))
            literal = None
        elif atom:
            found.append(None if atom.upper() == b"NIL" else atom)
        else:
            raise FetchParseError(f"a token this parser does not know: {other!r}")
    if literal is not None:
        raise FetchParseError("a literal no line announced")
    return found


def _value(tokens: list[Any], at: int) -> tuple[Any, int]:
    if at >= len(tokens):
        raise FetchParseError("a response that ends early")
    token = tokens[at]
    if token is _CLOSE:
        raise FetchParseError("a ) with nothing open")
    if token is not _OPEN:
        return token, at + 1
    items: list[Any] = []
    at += 1
    while True:
        if at >= len(tokens):
            raise FetchParseError("a ( never closed")
        if tokens[at] is _CLOSE:
            return items, at + 1
        item, at = _value(tokens, at)
        items.append(item)
