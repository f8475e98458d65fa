"""Domain names from untrusted text, as receivers use them: the ASCII form (IDNA A-labels,
"xn--…") for storing and comparing, the Unicode form beside it for people.

Receivers turn an internationalized name into its A-label form with UTS #46 processing
(non-transitional, as browsers and mail software do today), so `bücher.example` and
`xn--bcher-kva.example` are the same domain, and a report must be filed under the second.

Invisible characters are refused, never cleaned: UTS #46 would quietly drop a zero-width space, so
`inje\\u200bct.example` would be filed as `inject.example` by whoever wrote it, and a bidirectional
override reorders what a person reads. A name holding any of them is an attempt to look like another
name, and `domain_name` says so, naming the character by its code point.

    domain_name("B\\u00fccher.example.")  ->  DomainName(ascii="xn--bcher-kva.example",
                                                      unicode="b\\u00fccher.example")
    with_unicode("xn--bcher-kva.example")  ->  "xn--bcher-kva.example (b\\u00fccher.example)"
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import idna

from diagnostics.errors import InvalidInput
from diagnostics.text import hidden_characters, marker, visible

__all__ = ["MAX_NAME", "DomainName", "domain_name", "unicode_form", "with_unicode"]

# RFC 1035: 255 octets on the wire, 253 characters as text without the final dot.
MAX_NAME = 253
MAX_LABEL = 63
# Letters, digits, hyphens; underscores too, which DNS names hold (_dmarc, _domainkey).
_ASCII_LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?")
# How much of a refused name a message repeats: enough to recognise it, never a page of text.
_SHOWN = 80


@dataclass(frozen=True, slots=True)
class DomainName:
    """A valid domain name: `ascii` in lower case with A-labels (what DNS and receivers use),
    `unicode` the same name with its labels decoded, for people (equal to `ascii` for most)."""

    ascii: str
    unicode: str

    @property
    def internationalized(self) -> bool:
        return self.ascii != self.unicode


def _quoted(text: str) -> str:
    shown = visible(text)
    return repr(shown if len(shown) <= _SHOWN else shown[:_SHOWN] + "…")


def _check_ascii(name: str, original: str) -> None:
    if len(name) > MAX_NAME:
        raise InvalidInput(
            f"{_quoted(original)} is over {MAX_NAME} characters, longer than any domain."
        )
    for label in name.split("."):
        if not label:
            raise InvalidInput(f"{_quoted(original)} has an empty label (two dots in a row).")
        if len(label) > MAX_LABEL:
            raise InvalidInput(
                f"{_quoted(original)} has a label (the part between dots) over {MAX_LABEL} "
                "characters."
            )
        if not _ASCII_LABEL.fullmatch(label):
            raise InvalidInput(
                f"{_quoted(original)} is not a domain name: a label holds a character other "
                "than letters, digits, hyphens and underscores, or starts or ends with a hyphen."
            )


def _refuse_hidden(text: str) -> None:
    hidden = hidden_characters(text)
    if hidden:
        first = hidden[0]
        name = unicodedata.name(first, "an unnamed character")
        more = f" (and {len(hidden) - 1} more)" if len(hidden) > 1 else ""
        raise InvalidInput(
            f"{_quoted(text)} holds {marker(first)[1:-1]} {name}{more}, an invisible character: "
            "a name with one is made to look like another domain, so it is not accepted."
        )


def domain_name(text: str) -> DomainName:
    """`text` as a domain name: surrounding spaces and one final dot removed, lower case, Unicode
    labels as A-labels (UTS #46). Raises InvalidInput with a plain reason for a name that cannot
    exist in DNS, and for one holding an invisible character (named by its code point)."""
    _refuse_hidden(text)
    stripped = text.strip()
    stripped = stripped[:-1] if stripped.endswith(".") else stripped
    if not stripped:
        raise InvalidInput("The domain name is empty.")
    if stripped.isascii():
        name = stripped.lower()
        _check_ascii(name, text)
        if not any(label.startswith("xn--") for label in name.split(".")):
            return DomainName(name, name)
    else:
        if len(stripped) > 4 * MAX_NAME:
            raise InvalidInput(f"{_quoted(text)} is longer than any domain.")
        try:
            name = idna.encode(stripped, uts46=True, transitional=False).decode("ascii").lower()
        except (idna.IDNAError, UnicodeError) as exc:
            raise InvalidInput(
                f"{_quoted(text)} is not a valid internationalized domain name ({exc})."
            ) from None
        _check_ascii(name, text)
    try:
        unicode = idna.decode(name)
    except (idna.IDNAError, UnicodeError) as exc:
        raise InvalidInput(
            f"{_quoted(text)} holds an A-label (xn--) that is not valid ({exc})."
        ) from None
    _refuse_hidden(unicode)
    return DomainName(name, unicode)


def unicode_form(name: str) -> str:
    """The Unicode form of a stored ASCII name, for people; the name itself when it has no
    A-label or one that does not decode (never an error: this only shows)."""
    if "xn--" not in name.lower():
        return name
    try:
        decoded = idna.decode(name)
    except (idna.IDNAError, UnicodeError, ValueError):
        return name
    return name if hidden_characters(decoded) else decoded


def with_unicode(name: str) -> str:
    """A stored name as the pages show it: `xn--bcher-kva.example (bücher.example)` when it is
    internationalized, else the name alone."""
    shown = unicode_form(name)
    return name if shown == name else f"{name} ({shown})"
