"""SPF records as a typed model: parse the text of a TXT record into its terms. No I/O.

API:

    is_spf_record(text) -> bool
        RFC 7208 4.5: the text starts with "v=spf1" (any case) followed by a space or the end.
    parse_record(text) -> SpfRecord
        Never raises for bad input: syntax problems are collected in `SpfRecord.errors`.

    SpfRecord(text, terms, errors)
        .terms       tuple of Mechanism / Modifier, in record order
        .errors      tuple of plain-language syntax problems, each naming the offending term;
                     any error makes the whole record a permerror (RFC 7208 4.6)
        .is_valid    no errors
        .mechanisms  the Mechanism terms; .modifiers the Modifier terms
        .redirect    domain-spec of redirect= (str | None); .redirect_term the Modifier
        .exp         domain-spec of exp= (str | None); .exp_term the Modifier
        .all_term    the first `all` mechanism (Mechanism | None)

    Mechanism(qualifier, name, domain_spec, cidr4, cidr6, text, position, address)
        qualifier    Qualifier: "+" "-" "~" "?" (StrEnum; `.result` gives "pass", "fail", ...)
        name         "all" "include" "a" "mx" "ptr" "ip4" "ip6" "exists" (lower case)
        domain_spec  the macro-string target of include/a/mx/ptr/exists, or None when absent
        cidr4/cidr6  prefix lengths written after a, mx (cidr4 and/or cidr6), ip4 (cidr4),
                     ip6 (cidr6); None when not written
        address      the address text of ip4/ip6, else None; `.network` its ip_network
        text         the term as written; position: its index in `SpfRecord.terms`
    Modifier(name, value, text, position)
        name lower case ("redirect", "exp", or an unknown modifier, which evaluation ignores)

Domain-specs are checked as RFC 7208 7.1 writes them: a valid macro-string that ends in a
macro-expand (%{...}, %%, %_ or %-) or in "." plus a top label that is not all digits (so
"a:museum" and "a:1.2.3.4" are errors).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache

from diagnostics.spf.macro import Macro, MacroSyntaxError, parse_macro

__all__ = [
    "MECHANISMS",
    "Mechanism",
    "Modifier",
    "Qualifier",
    "SpfRecord",
    "Term",
    "is_spf_record",
    "parse_record",
]

MECHANISMS = ("all", "include", "a", "mx", "ptr", "ip4", "ip6", "exists")

_VERSION = "v=spf1"
_MODIFIER = re.compile(r"([A-Za-z][A-Za-z0-9_.\-]*)=(.*)", re.DOTALL)
_MECH_NAME = re.compile(r"([A-Za-z][A-Za-z0-9_.\-]*)(.*)", re.DOTALL)
# A CIDR length has no leading zero (RFC 7208 5.6 ABNF: "0" / %x31-39 0*2DIGIT).
_CIDR = r"0|[1-9][0-9]{0,2}"
_DUAL_CIDR = re.compile(
    rf"(?::(?P<spec>.*?))?(?:/(?P<c4>{_CIDR}))?(?://(?P<c6>{_CIDR}))?", re.DOTALL
)
_IP4 = re.compile(rf":(?P<addr>[0-9.]+)(?:/(?P<c4>{_CIDR}))?")
_IP6 = re.compile(rf":(?P<addr>[0-9A-Fa-f:.]+)(?:/(?P<c6>{_CIDR}))?")
_TOPLABEL = re.compile(r"[A-Za-z0-9]*[A-Za-z][A-Za-z0-9]*|[A-Za-z0-9]+-[A-Za-z0-9\-]*[A-Za-z0-9]")


class Qualifier(StrEnum):
    PASS = "+"  # noqa: S105 - a qualifier, not a password
    FAIL = "-"
    SOFTFAIL = "~"
    NEUTRAL = "?"

    @property
    def result(self) -> str:
        """The check_host() result this qualifier gives when its mechanism matches."""
        return {"+": "pass", "-": "fail", "~": "softfail", "?": "neutral"}[self.value]


@dataclass(frozen=True, slots=True)
class Mechanism:
    qualifier: Qualifier
    name: str
    domain_spec: str | None
    cidr4: int | None
    cidr6: int | None
    text: str
    position: int = 0
    address: str | None = None
    # The network of ip4/ip6 (host bits beyond the prefix ignored, as receivers do), built once
    # here because evaluations compare against it again and again.
    network: ipaddress.IPv4Network | ipaddress.IPv6Network | None = field(
        default=None, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        if self.address is None or self.network is not None:
            return
        if self.name == "ip4":
            prefix = 32 if self.cidr4 is None else self.cidr4
            network: ipaddress.IPv4Network | ipaddress.IPv6Network = ipaddress.IPv4Network(
                f"{self.address}/{prefix}", strict=False
            )
        else:
            prefix = 128 if self.cidr6 is None else self.cidr6
            network = ipaddress.IPv6Network(f"{self.address}/{prefix}", strict=False)
        object.__setattr__(self, "network", network)

    @property
    def uses_dns(self) -> bool:
        """Counts against the 10 DNS-mechanism limit (RFC 7208 4.6.4)."""
        return self.name in ("include", "a", "mx", "ptr", "exists")


@dataclass(frozen=True, slots=True)
class Modifier:
    name: str
    value: str
    text: str
    position: int = 0


Term = Mechanism | Modifier


@dataclass(frozen=True, slots=True)
class SpfRecord:
    text: str
    terms: tuple[Term, ...]
    errors: tuple[str, ...] = ()

    @property
    def is_valid(self) -> bool:
        return not self.errors

    @property
    def mechanisms(self) -> tuple[Mechanism, ...]:
        return tuple(t for t in self.terms if isinstance(t, Mechanism))

    @property
    def modifiers(self) -> tuple[Modifier, ...]:
        return tuple(t for t in self.terms if isinstance(t, Modifier))

    def _modifier(self, name: str) -> Modifier | None:
        return next((m for m in self.modifiers if m.name == name), None)

    @property
    def redirect_term(self) -> Modifier | None:
        return self._modifier("redirect")

    @property
    def exp_term(self) -> Modifier | None:
        return self._modifier("exp")

    @property
    def redirect(self) -> str | None:
        term = self.redirect_term
        return term.value if term is not None else None

    @property
    def exp(self) -> str | None:
        term = self.exp_term
        return term.value if term is not None else None

    @property
    def all_term(self) -> Mechanism | None:
        return next((m for m in self.mechanisms if m.name == "all"), None)


def is_spf_record(text: str) -> bool:
    """True when `text` declares itself an SPF record: "v=spf1" then a space or nothing."""
    head = text[: len(_VERSION)]
    rest = text[len(_VERSION) :]
    return head.lower() == _VERSION and (not rest or rest[0] == " ")


# Parsing is pure and its result frozen, so the same record text (a provider's include, met in
# every evaluation of a bulk check) is parsed once.
@lru_cache(maxsize=4096)
def parse_record(text: str) -> SpfRecord:
    """Parse an SPF record; every syntax problem is reported in `.errors`, nothing is raised."""
    if not is_spf_record(text):
        return SpfRecord(
            text, (), (f"{text[:40]!r} is not an SPF record: it must start with 'v=spf1 '.",)
        )
    terms: list[Term] = []
    errors: list[str] = []
    # Terms are separated by spaces only (RFC 7208 4.6.1); a tab or line break stays inside a
    # term and makes it invalid, as receivers treat it.
    for token in text[len(_VERSION) :].split(" "):
        if not token:
            continue
        term, problem = _parse_term(token, len(terms))
        if problem is not None:
            errors.append(problem)
        if term is not None:
            terms.append(term)
    for name in ("redirect", "exp"):
        if sum(1 for t in terms if isinstance(t, Modifier) and t.name == name) > 1:
            errors.append(f"The {name}= modifier appears more than once; it may appear only once.")
    return SpfRecord(text, tuple(terms), tuple(errors))


def _parse_term(token: str, position: int) -> tuple[Term | None, str | None]:
    if not token.isascii():
        return None, f"{token!r} contains non-ASCII characters; SPF records are plain ASCII."
    modifier = _MODIFIER.fullmatch(token)
    if modifier is not None:
        return _parse_modifier(token, modifier.group(1).lower(), modifier.group(2), position)
    qualifier = Qualifier.PASS
    body = token
    if body[0] in "+-~?":
        qualifier = Qualifier(body[0])
        body = body[1:]
    named = _MECH_NAME.fullmatch(body)
    if named is None:
        return None, f"{token!r} is not a mechanism or a modifier."
    name, rest = named.group(1).lower(), named.group(2)
    # A mechanism name ends at ':' or '/', so "foo.bar" or "a-b" arrive here whole.
    if name not in MECHANISMS:
        return None, (
            f"{token!r}: unknown mechanism {named.group(1)!r}; the mechanisms are "
            + ", ".join(MECHANISMS)
            + "."
        )
    problem: str | None
    if name == "all":
        if rest:
            return None, f"{token!r}: 'all' takes no argument."
        return Mechanism(qualifier, name, None, None, None, token, position), None
    if name in ("include", "exists"):
        if not rest.startswith(":") or len(rest) == 1:
            return None, f"{token!r}: {name} needs a domain, as in {name}:example.com."
        spec = rest[1:]
        problem = _domain_spec_problem(spec, token)
        if problem:
            return None, problem
        return Mechanism(qualifier, name, spec, None, None, token, position), None
    if name == "ptr":
        spec_or_none: str | None = None
        if rest:
            if not rest.startswith(":"):
                return None, f"{token!r}: ptr takes an optional ':domain' and nothing else."
            spec_or_none = rest[1:]
            problem = _domain_spec_problem(spec_or_none, token)
            if problem:
                return None, problem
        return Mechanism(qualifier, name, spec_or_none, None, None, token, position), None
    if name in ("a", "mx"):
        return _parse_a_mx(token, qualifier, name, rest, position)
    return _parse_ip(token, qualifier, name, rest, position)


def _parse_a_mx(
    token: str, qualifier: Qualifier, name: str, rest: str, position: int
) -> tuple[Term | None, str | None]:
    if rest and rest[0] not in ":/":
        return None, f"{token!r} is not a valid {name} mechanism."
    match = _DUAL_CIDR.fullmatch(rest)
    if match is None:
        return None, f"{token!r}: a prefix length must look like /24, //64 or /24//64."
    spec = match.group("spec")
    if spec is None and rest.startswith(":"):
        spec = ""
    if spec is not None:
        problem = _domain_spec_problem(spec, token)
        if problem:
            return None, problem
    elif not match.group("c4") and not match.group("c6") and rest:
        return None, f"{token!r}: a prefix length must look like /24 or //64."
    cidr4 = _int(match.group("c4"))
    cidr6 = _int(match.group("c6"))
    problem = _cidr_problem(token, cidr4, cidr6)
    if problem:
        return None, problem
    return Mechanism(qualifier, name, spec, cidr4, cidr6, token, position), None


def _parse_ip(
    token: str, qualifier: Qualifier, name: str, rest: str, position: int
) -> tuple[Term | None, str | None]:
    pattern = _IP4 if name == "ip4" else _IP6
    match = pattern.fullmatch(rest)
    example = "ip4:192.0.2.0/24" if name == "ip4" else "ip6:2001:db8::/32"
    if match is None:
        return None, f"{token!r} is not a valid {name} network; write it like {example}."
    address = match.group("addr")
    try:
        if name == "ip4":
            ipaddress.IPv4Address(address)
        else:
            ipaddress.IPv6Address(address)
    except ValueError:
        return None, f"{token!r}: {address!r} is not an IPv{name[-1]} address."
    cidr4 = _int(match.group("c4")) if name == "ip4" else None
    cidr6 = _int(match.group("c6")) if name == "ip6" else None
    problem = _cidr_problem(token, cidr4, cidr6)
    if problem:
        return None, problem
    return Mechanism(qualifier, name, None, cidr4, cidr6, token, position, address), None


def _parse_modifier(
    token: str, name: str, value: str, position: int
) -> tuple[Term | None, str | None]:
    if name in ("redirect", "exp"):
        if not value:
            return None, f"{token!r}: {name}= needs a domain."
        problem = _domain_spec_problem(value, token)
    else:
        try:
            parse_macro(value)
            problem = None
        except MacroSyntaxError as exc:
            problem = f"{token!r}: {exc}"
    if problem:
        return None, problem
    return Modifier(name, value, token, position), None


def _domain_spec_problem(spec: str, token: str) -> str | None:
    """None for a valid domain-spec (RFC 7208 7.1), else what is wrong with it."""
    if not spec:
        return f"{token!r}: the domain is empty."
    try:
        pieces = parse_macro(spec)
    except MacroSyntaxError as exc:
        return f"{token!r}: {exc}"
    if (pieces and isinstance(pieces[-1], Macro)) or _ends_in_escape(spec):
        return None
    tail = spec
    if tail.endswith("."):
        tail = tail[:-1]
    _, dot, toplabel = tail.rpartition(".")
    if not dot or not _TOPLABEL.fullmatch(toplabel):
        return (
            f"{token!r}: {spec!r} is not a domain name with a valid top-level label "
            "(it needs a dot and must not end in a number)."
        )
    return None


def _ends_in_escape(spec: str) -> bool:
    """Whether a valid macro-string ends in "%%", "%_" or "%-": macro-expands too, so a
    domain-end as good as %{d} (RFC 7208 7.1), though parsing turns them into literal text."""
    i, escape = 0, False
    while i < len(spec):
        if spec[i] != "%":
            i, escape = i + 1, False
        elif spec[i + 1] == "{":
            i, escape = spec.index("}", i) + 1, False
        else:
            i, escape = i + 2, True
    return escape


def _cidr_problem(token: str, cidr4: int | None, cidr6: int | None) -> str | None:
    if cidr4 is not None and cidr4 > 32:
        return f"{token!r}: an IPv4 prefix length is at most 32."
    if cidr6 is not None and cidr6 > 128:
        return f"{token!r}: an IPv6 prefix length is at most 128."
    return None


def _int(text: str | None) -> int | None:
    return int(text) if text else None
