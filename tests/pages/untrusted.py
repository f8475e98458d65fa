"""What a page hands Streamlit as Markdown, and whether anything an attacker wrote in it is live.

    sources = markdown_of(at)            # every Markdown string of an AppTest run
    assert live(source, ATTACKER) == []  # nothing naming the attacker would be a link, image, ...

`live` reads Markdown the way Streamlit's browser side does, as far as what matters here: code
spans (CommonMark's rule: a run of n backticks up to the next run of exactly n) hold nothing live;
outside them, an unescaped `[` … `](`, `<` before a letter, `&` entity, `$` or `:name[` directive
is live; and after escapes are resolved, GitHub's autolinks (`http://`, `www.`, an address) and
`:shortcodes:` are live, since Streamlit finds those in the parsed text. A live construct is
reported only when its own text names `marker`, so the page's own badges and icons do not count.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from streamlit.testing.v1 import AppTest

# Elements whose strings Streamlit shows as plain text or code, never as Markdown.
PLAIN_ELEMENTS = {"Json", "Code", "Text", "Dataframe", "ArrowNamedDataFrame", "Exception"}
# The proto fields Streamlit renders as Markdown (bodies, labels, help tooltips, progress text).
MARKDOWN_FIELDS = ("body", "label", "help", "text")

_ESCAPED = re.compile(r"\\([!-/:-@\[-`{-~])")


def _nodes(node: Any) -> Iterator[Any]:
    yield node
    for child in getattr(node, "children", {}).values():
        yield from _nodes(child)


def markdown_of(at: AppTest) -> list[str]:
    """Every string of this run that Streamlit renders as Markdown."""
    found = []
    for node in _nodes(at._tree):
        proto = getattr(node, "proto", None)
        if proto is None or type(proto).__name__ in PLAIN_ELEMENTS:
            continue
        for field, value in proto.ListFields():
            if field.name in MARKDOWN_FIELDS and isinstance(value, str) and value:
                found.append(value)
    return found


def without_code_spans(source: str) -> str:
    """`source` with each code span replaced by a NUL (backslash escapes respected outside)."""
    out: list[str] = []
    i = 0
    while i < len(source):
        if source[i] == "\\" and i + 1 < len(source):
            out.append(source[i : i + 2])
            i += 2
            continue
        if source[i] != "`":
            out.append(source[i])
            i += 1
            continue
        j = i
        while j < len(source) and source[j] == "`":
            j += 1
        fence = source[i:j]
        closing = re.compile(rf"(?<!`){fence}(?!`)")
        match = closing.search(source, j)
        if match is None:
            out.append(fence)  # an unmatched run is literal backticks
            i = j
            continue
        out.append("\0")
        i = match.end()
    return "".join(out)


def rendered(source: str) -> str:
    """Roughly the text a person reads from Markdown `source` that desk/markdown.py wrote: code
    spans by their content, backslash escapes resolved, hard line breaks as line breaks. For
    tests that look for words on a page."""
    out: list[str] = []
    i = 0
    while i < len(source):
        if source[i] == "\\" and i + 1 < len(source) and _ESCAPED.match(source, i):
            out.append(source[i + 1])
            i += 2
            continue
        if source[i] == "`":
            j = i
            while j < len(source) and source[j] == "`":
                j += 1
            fence = source[i:j]
            match = re.compile(rf"(?<!`){fence}(?!`)").search(source, j)
            if match is not None:
                content = source[j : match.start()]
                if content.startswith(" ") and content.endswith(" ") and content.strip():
                    content = content[1:-1]
                out.append(content)
                i = match.end()
                continue
        out.append(source[i])
        i += 1
    return "".join(out).replace("  \n", "\n")


def _unescaped(text: str, position: int) -> bool:
    backslashes = 0
    while position - backslashes - 1 >= 0 and text[position - backslashes - 1] == "\\":
        backslashes += 1
    return backslashes % 2 == 0


_RAW = [
    re.compile(r"!?\[[^\]\0]*\]\([^)\0]*\)?"),  # a link or an image
    re.compile(r"<[A-Za-z/!?][^>\0]*>?"),  # HTML or an autolink
    re.compile(r"&#?\w+;"),  # an entity
    re.compile(r"\$[^$\0]*\$?"),  # LaTeX
    re.compile(r":[A-Za-z][\w-]*\[[^\]\0]*\]?"),  # a directive: :red[…]
    re.compile(r":material/\w*:?"),  # an icon, replaced before parsing
]
_TEXT = [
    re.compile(r"(?i)(?:https?://|www\.)\S*"),  # GitHub autolinks
    re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"),  # an address, autolinked
    re.compile(r":[\w+-]+:"),  # :emoji:, :material_icon:, :streamlit:
]


def live(source: str, marker: str) -> list[str]:
    """The constructs of `source` that Streamlit would bring alive and whose text holds `marker`."""
    outside = without_code_spans(source)
    found = []
    for pattern in _RAW:
        for match in pattern.finditer(outside):
            if _unescaped(outside, match.start()) and marker in match.group():
                found.append(match.group())
    resolved = _ESCAPED.sub(r"\1", outside)
    for pattern in _TEXT:
        for match in pattern.finditer(resolved):
            # The word it is part of: ":streamlit:" is live whatever follows it.
            start = resolved.rfind(" ", 0, match.start()) + 1
            end = resolved.find(" ", match.end())
            word = resolved[start : end if end >= 0 else len(resolved)]
            if marker in word:
                found.append(word)
    return found


def hidden_in(sources: list[str]) -> list[str]:
    """Sources that still hold a character `diagnostics.text.visible` would have marked."""
    from diagnostics.text import hidden_characters

    return [s for s in sources if hidden_characters(s.replace("\n", "").replace("\r", ""))]
