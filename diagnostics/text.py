"""Untrusted text made visible: the characters a person cannot see are shown by their code point.

Reports, headers and DNS answers are written by strangers. A right-to-left override (U+202E) makes
"evil" read as "live", a zero-width space (U+200B) makes two different names look the same. Such
characters are Unicode "format" characters (category Cf); control characters (Cc) and the line and
paragraph separators (Zl, Zp) hide or rearrange text the same way. `visible(text)` replaces each of
them by a marker such as `<U+202E>`, so what a person reads is what the text holds. It is applied
when text is shown (pages) and exported (CSV), never to what is stored: the store keeps what the
receiver wrote.

Tab, line feed and carriage return are ordinary layout and are kept.
"""

from __future__ import annotations

import unicodedata

__all__ = ["hidden_characters", "marker", "visible"]

# Categories whose characters change how text reads without showing themselves.
HIDDEN_CATEGORIES = frozenset({"Cf", "Cc", "Zl", "Zp"})
_LAYOUT = frozenset("\t\n\r")


def _hidden(character: str) -> bool:
    return character not in _LAYOUT and unicodedata.category(character) in HIDDEN_CATEGORIES


def marker(character: str) -> str:
    """How a hidden character is shown: `<U+200B>`."""
    return f"<U+{ord(character):04X}>"


def hidden_characters(text: str) -> list[str]:
    """The hidden characters of `text`, each once, in order of appearance."""
    return list(dict.fromkeys(c for c in text if _hidden(c)))


def visible(text: str) -> str:
    """`text` with every hidden character (format, control, line or paragraph separator, except
    tab, line feed and carriage return) replaced by its `<U+XXXX>` marker."""
    if text.isascii() and text.isprintable():
        return text  # the common case, without a look at each character
    return "".join(marker(c) if _hidden(c) else c for c in text)
