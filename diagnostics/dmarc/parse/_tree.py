"""A small, strict reader of plain XML: elements and text only, into a tree `_record.py` can read.

Receivers write their records as plain elements (no attributes, entities, comments or CDATA), in
any order. For that, one regular expression that splits the bytes into tags and text, and a stack
that checks the tags nest, give the same tree lxml would, faster than lxml can build its own.
Anything else (a tag with attributes, an entity, a comment, a prefixed name, a stray `<`, a
control character, text after the end) makes `parse` return None, and the caller hands the bytes
to lxml, which reads or rejects them as it always has. So this reader never accepts what lxml
would refuse, and never reads a value differently.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

Decode = Callable[[bytes], str]

# A tag and the text after it up to the next `<`. An XML name here is ASCII letters, digits and
# `_.-` (a prefix `x:` is not plain); whitespace is allowed before `>` as XML allows.
_TOKEN = re.compile(rb"<(/?)([A-Za-z_][A-Za-z0-9_.-]*)[ \t\r\n]*(/?)>([^<]*)")
# What plain text never holds: an entity or character reference, a character XML forbids (U+FFFE
# and U+FFFF in UTF-8 too), the end of a CDATA section (forbidden in text). Deleting the bytes
# with `translate` is the quickest test for any of them (a regular expression is tried byte by byte).
_NOT_PLAIN_BYTES = bytes(range(9)) + b"\x0b\x0c" + bytes(range(14, 32)) + b"&"


def _not_plain(data: bytes) -> bool:
    if len(data.translate(None, _NOT_PLAIN_BYTES)) != len(data) or b"]]>" in data:
        return True
    return b"\xef\xbf" in data and (b"\xef\xbf\xbe" in data or b"\xef\xbf\xbf" in data)


class Element:
    """An element: its name, the text before its first child (None when there is none or it is
    only whitespace) and its children."""

    __slots__ = ("children", "tag", "text")

    def __init__(self, tag: str, text: str | None) -> None:
        self.tag = tag
        self.text = text
        self.children: list[Element] = []

    def __iter__(self) -> Iterator[Element]:
        return iter(self.children)


def text_value(raw: bytes, decode: Decode) -> str | None:
    """Text as lxml gives it (line ends normalised to `\\n`), or None when it is only whitespace,
    which every reader of a value treats as missing. Raises UnicodeDecodeError when `raw` is not
    in the document's encoding."""
    if not raw or raw.isspace():
        return None
    text = decode(raw)
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


def _check_encoding(data: bytes, decode: Decode) -> None:
    """Raise UnicodeDecodeError when any byte of `data` (text between elements too, which no
    reader of a value decodes) is not in the document's encoding: lxml refuses the document."""
    if not data.isascii():
        decode(data)


def parse(data: bytes, decode: Decode) -> Element | None:
    """The one element in `data` (whitespace around it allowed), or None when `data` is not
    plain XML. Raises UnicodeDecodeError when a text is not in the document's encoding."""
    tokens = _TOKEN.findall(data)
    first = data.find(b"<")
    # Every `<` must start a tag the expression read: a `<` it skipped is a comment, a tag with
    # attributes, a prefixed name or a stray `<`.
    if first < 0 or len(tokens) != data.count(b"<") or (first and not data[:first].isspace()):
        return None
    if _not_plain(data):
        return None
    _check_encoding(data, decode)
    root: Element | None = None
    stack: list[tuple[bytes, Element]] = []
    for close, name, empty, text in tokens:
        if close:
            if empty or not stack or stack[-1][0] != name:
                return None
            stack.pop()
            if not stack and text and not text.isspace():
                return None  # text after the end of the document
            continue
        if root is not None and not stack:
            return None  # a second root
        element = Element(name.decode("ascii"), None if empty else text_value(text, decode))
        if stack:
            stack[-1][1].children.append(element)
        else:
            root = element
        if empty:
            if not stack and text and not text.isspace():
                return None
        else:
            stack.append((name, element))
    return root if root is not None and not stack else None


# An element whose children are all leaves (text or empty), as `<dkim>`, `<spf>` and
# `<identifiers>` are: checked whole by one expression, its leaves found by another.
_FLAT = re.compile(
    rb"[ \t\r\n]*<([A-Za-z_][A-Za-z0-9_.-]*)[ \t\r\n]*>([^<]*)"
    rb"((?:<([A-Za-z_][A-Za-z0-9_.-]*)[ \t\r\n]*(?:/>|>[^<]*</\4[ \t\r\n]*>)[^<]*)*)"
    rb"</\1[ \t\r\n]*>[ \t\r\n]*"
)
_LEAF = re.compile(rb"<([A-Za-z_][A-Za-z0-9_.-]*)[ \t\r\n]*(?:/>|>([^<]*)</\1[ \t\r\n]*>)")


Leaves = list[tuple[str, str | None]]


def flat_items(data: bytes, decode: Decode) -> tuple[str, str | None, Leaves] | None:
    """The name and text of an element whose children are all leaves, and each leaf's (name,
    text), in one pass of two expressions; None when `data` is not such an element (`parse` may
    still read it) or not plain."""
    match = _FLAT.fullmatch(data)
    if match is None or _not_plain(data):
        return None
    _check_encoding(data, decode)
    name, text, body = match.group(1, 2, 3)
    leaves = [
        (leaf.decode("ascii"), text_value(value, decode)) for leaf, value in _LEAF.findall(body)
    ]
    return name.decode("ascii"), text_value(text, decode), leaves


def parse_flat(data: bytes, decode: Decode) -> Element | None:
    """`parse` for an element whose children are all leaves (see `flat_items`)."""
    items = flat_items(data, decode)
    if items is None:
        return None
    name, text, leaves = items
    element = Element(name, text)
    element.children = [Element(leaf, value) for leaf, value in leaves]
    return element
