"""SPF macro strings (RFC 7208 section 7): checking their syntax and expanding them. No I/O.

API:

    macro_problem(text, *, explanation=False) -> str | None
        None when `text` is a valid macro-string, else a plain sentence naming the fault. With
        `explanation=True` the rules of an exp= explanation text apply: spaces are allowed and the
        letters c, r and t may be used (they are only allowed there).
    parse_macro(text, *, explanation=False) -> tuple[Literal | Macro, ...]
        The pieces of a valid macro-string; raises MacroSyntaxError (a ValueError) when invalid.
    uses_ptr(text) -> bool
        True when expanding `text` needs the validated domain name of the IP (%{p}), which the
        caller must look up (RFC 7208 5.5) before calling `expand`.
    MacroContext(sender, domain, ip, helo="", validated_domain=None, receiver="unknown",
                 timestamp=None)
        The values the macro letters stand for; `ip` is an ipaddress object.
    expand(text, context, *, explanation=False) -> str
        The expansion (RFC 7208 7.3 and 7.4): transformers, delimiters, URL-escaping for upper-case
        letters, %% %_ %-. Raises MacroSyntaxError for an invalid macro-string.
    expand_domain(text, context) -> str
        `expand` for a domain-spec, then shortened from the left to at most 253 characters
        (RFC 7208 7.3).

The evaluator checks the syntax of a whole record before evaluating it (RFC 7208 4.6), so
`expand` only meets invalid text when a caller skips that check; an exp= text fetched from DNS is
checked with `macro_problem(..., explanation=True)` first, since a bad one just means "no
explanation" (RFC 7208 6.2).
"""

from __future__ import annotations

import ipaddress
import time
import urllib.parse
from dataclasses import dataclass
from functools import lru_cache

__all__ = [
    "Literal",
    "Macro",
    "MacroContext",
    "MacroSyntaxError",
    "expand",
    "expand_domain",
    "macro_problem",
    "parse_macro",
    "uses_ptr",
]

_LETTERS = frozenset("slodiphv")
_EXPLANATION_ONLY = frozenset("crt")
_DELIMITERS = frozenset(".-+,/_=")
# RFC 3986 "unreserved": everything else is %-escaped when the macro letter is upper case.
_UNRESERVED = "-._~"
_MAX_DOMAIN = 253


class MacroSyntaxError(ValueError):
    """A macro-string that does not follow RFC 7208 7.1; the message names the fault."""


@dataclass(frozen=True, slots=True)
class Literal:
    """Text taken as is (`%%`, `%_` and `%-` are already turned into what they stand for)."""

    text: str


@dataclass(frozen=True, slots=True)
class Macro:
    """One `%{...}`: its letter (as written, case tells whether to URL-escape), how many
    right-hand parts to keep (None: all), whether to reverse, and the delimiters to split on."""

    letter: str
    keep: int | None
    reverse: bool
    delimiters: str
    text: str


@dataclass(frozen=True, slots=True)
class MacroContext:
    """What the macro letters expand to for one check_host() call.

    `sender` is the full <sender> (local-part@domain, after the "postmaster@" default for a HELO
    check); `domain` is the domain being evaluated (%{d}); `validated_domain` is %{p}, looked up by
    the caller (None expands to "unknown"); `receiver` is %{r}; `timestamp` is %{t} (None: now).
    """

    sender: str
    domain: str
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address
    helo: str = ""
    validated_domain: str | None = None
    receiver: str = "unknown"
    timestamp: int | None = None

    def value(self, letter: str) -> str:
        letter = letter.lower()
        local, _, sender_domain = self.sender.rpartition("@")
        if letter == "s":
            return self.sender
        if letter == "l":
            return local or "postmaster"
        if letter == "o":
            return sender_domain
        if letter == "d":
            return self.domain
        if letter == "i":
            if self.ip.version == 4:
                return str(self.ip)
            # RFC 7208 7.3: IPv6 as dot-separated nibbles, so transformers work on it. Upper
            # case, as the OpenSPF suite and common receivers write them (DNS ignores case).
            return ".".join(self.ip.packed.hex().upper())
        if letter == "p":
            return self.validated_domain or "unknown"
        if letter == "v":
            return "in-addr" if self.ip.version == 4 else "ip6"
        if letter == "h":
            return self.helo
        if letter == "c":
            return str(self.ip)
        if letter == "r":
            return self.receiver
        if letter == "t":
            return str(self.timestamp if self.timestamp is not None else int(time.time()))
        raise MacroSyntaxError(f"%{{{letter}}} is not a macro letter.")


@lru_cache(maxsize=4096)  # pure, and the result is immutable
def parse_macro(text: str, *, explanation: bool = False) -> tuple[Literal | Macro, ...]:
    """The pieces of a macro-string; MacroSyntaxError says what is wrong with an invalid one."""
    pieces: list[Literal | Macro] = []
    literal: list[str] = []
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch != "%":
            if ch == " " and explanation:
                literal.append(ch)
            elif not 0x21 <= ord(ch) <= 0x7E:
                raise MacroSyntaxError(
                    f"{text!r} contains {_describe_char(ch)}, which is not allowed here."
                )
            else:
                literal.append(ch)
            i += 1
            continue
        if i + 1 >= n:
            raise MacroSyntaxError(f"{text!r} ends with a lone '%'; write '%%' for a percent sign.")
        nxt = text[i + 1]
        if nxt == "%":
            literal.append("%")
            i += 2
            continue
        if nxt == "_":
            literal.append(" ")
            i += 2
            continue
        if nxt == "-":
            literal.append("%20")
            i += 2
            continue
        if nxt != "{":
            raise MacroSyntaxError(
                f"{text!r}: '%{nxt}' is not a macro; use %{{letter}}, %%, %_ or %-."
            )
        end = text.find("}", i + 2)
        if end < 0:
            raise MacroSyntaxError(f"{text!r}: a '%{{' is never closed with '}}'.")
        if literal:
            pieces.append(Literal("".join(literal)))
            literal = []
        pieces.append(_parse_expand(text[i : end + 1], explanation))
        i = end + 1
    if literal:
        pieces.append(Literal("".join(literal)))
    return tuple(pieces)


def _parse_expand(token: str, explanation: bool) -> Macro:
    body = token[2:-1]
    if not body:
        raise MacroSyntaxError(f"{token!r} names no macro letter.")
    letter = body[0]
    lower = letter.lower()
    if lower in _EXPLANATION_ONLY and not explanation:
        raise MacroSyntaxError(
            f"{token!r}: the macro letter {lower!r} is only allowed in an exp= explanation text."
        )
    if lower not in _LETTERS and lower not in _EXPLANATION_ONLY:
        raise MacroSyntaxError(f"{token!r}: {letter!r} is not a macro letter.")
    rest = body[1:]
    j = 0
    while j < len(rest) and rest[j].isdigit():
        j += 1
    digits = rest[:j]
    keep: int | None = None
    if digits:
        keep = int(digits)
        if keep == 0:
            raise MacroSyntaxError(f"{token!r}: the number of parts to keep must be at least 1.")
    reverse = False
    if j < len(rest) and rest[j] in "rR":
        reverse = True
        j += 1
    delimiters = rest[j:]
    bad = [c for c in delimiters if c not in _DELIMITERS]
    if bad:
        raise MacroSyntaxError(
            f"{token!r}: {bad[0]!r} is not a transformer or delimiter "
            "(delimiters are . - + , / _ =)."
        )
    return Macro(letter, keep, reverse, delimiters or ".", token)


def _describe_char(ch: str) -> str:
    if ch == " ":
        return "a space"
    if ord(ch) < 0x20 or ord(ch) == 0x7F:
        return f"the control character {ch!r}"
    return f"the non-ASCII character {ch!r}"


def macro_problem(text: str, *, explanation: bool = False) -> str | None:
    """None for a valid macro-string, else a plain sentence saying what is wrong."""
    try:
        parse_macro(text, explanation=explanation)
    except MacroSyntaxError as exc:
        return str(exc)
    return None


def uses_ptr(text: str) -> bool:
    """Whether `text` uses %{p} (which needs a PTR look-up before expanding)."""
    try:
        pieces = parse_macro(text, explanation=True)
    except MacroSyntaxError:
        return False
    return any(isinstance(p, Macro) and p.letter.lower() == "p" for p in pieces)


def expand(text: str, context: MacroContext, *, explanation: bool = False) -> str:
    """Expand every macro in `text` for `context` (RFC 7208 7.3, 7.4)."""
    out: list[str] = []
    for piece in parse_macro(text, explanation=explanation):
        if isinstance(piece, Literal):
            out.append(piece.text)
        else:
            out.append(_expand_one(piece, context))
    return "".join(out)


def _expand_one(macro: Macro, context: MacroContext) -> str:
    value = context.value(macro.letter)
    if macro.keep is not None or macro.reverse or macro.delimiters != ".":
        parts = _split(value, macro.delimiters)
        if macro.reverse:
            parts.reverse()
        if macro.keep is not None and macro.keep < len(parts):
            parts = parts[-macro.keep :]
        value = ".".join(parts)
    if macro.letter.isupper():
        value = urllib.parse.quote(value, safe=_UNRESERVED)
    return value


def _split(value: str, delimiters: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    for ch in value:
        if ch in delimiters:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return parts


def expand_domain(text: str, context: MacroContext) -> str:
    """Expand a domain-spec; a result over 253 characters loses left-hand labels until it fits."""
    name = expand(text, context)
    while len(name) > _MAX_DOMAIN and "." in name:
        name = name.split(".", 1)[1]
    return name
