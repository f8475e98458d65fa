"""The catalogue of SMTP providers a customer may relay through, and how to recognise each one.

The facts (hosts, ports, credential shapes, SPF include, envelope sender, DKIM, reverse DNS) live in
`diagnostics/data/providers.yaml` so they can be corrected without touching code; this module reads
that file once into frozen `Provider` values and answers "which provider is this host / this PTR
name?". Facts we have not confirmed against the provider's own documentation are named in
`Provider.unconfirmed`, so callers can hedge their wording.

    providers.get("sendgrid")                                   -> Provider
    providers.all()                                             -> tuple of every Provider
    providers.match_host("email-smtp.eu-west-1.amazonaws.com")  -> the SES Provider
    providers.match_ptr("a8-30.smtp-out.amazonses.com")         -> the SES Provider
    providers.ses_region("email-smtp.eu-west-1.amazonaws.com")  -> "eu-west-1"
    providers.by_selector("selector1")                          -> the Microsoft 365 Provider
    providers.get("sendgrid").spf_networks.contains("167.89.1.2") -> True (the catalogue's copy)
    providers.by_asn(14618)                                     -> the SES Provider (a label only)
"""

from __future__ import annotations

import datetime as dt
import functools
import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from importlib import resources
from typing import Any

import yaml

__all__ = [
    "PLATFORM",
    "CredentialShape",
    "Dkim",
    "Envelope",
    "EnvelopeOwner",
    "KnownNetworks",
    "Mistake",
    "Port",
    "Provider",
    "ReturnPath",
    "SpfAtFromDomain",
    "TlsMode",
    "all",
    "by_asn",
    "by_selector",
    "get",
    "keys",
    "match_host",
    "match_ptr",
    "ses_region",
]


# The catalogue key of the platform's own managed sending: its include is kept in every SPF record
# the desk recommends for a domain on the platform.
PLATFORM = "trekmail"


class TlsMode(StrEnum):
    STARTTLS = "starttls"  # plain connect, then STARTTLS
    IMPLICIT = "implicit"  # TLS from the first byte (SMTPS)
    PLAIN = "plain"


class EnvelopeOwner(StrEnum):
    """Whose domain the envelope sender (MAIL FROM) is on by default: it is what SPF checks, and
    DMARC only counts an SPF pass whose domain aligns with the From domain."""

    PROVIDER = "provider"  # the provider's own domain: SPF passes but does not align
    CUSTOMER = "customer"  # the customer's sending domain itself
    SUBDOMAIN = "subdomain"  # always a return-path subdomain of the customer's domain


class SpfAtFromDomain(StrEnum):
    """Whether the provider's SPF include belongs in the From domain's own SPF record.

    DMARC counts an SPF pass only for the envelope (MAIL FROM) domain, so the answer follows whose
    domain that is, and what the provider (or the platform) asks for:"""

    # The envelope sender is the customer's domain (Mailgun, mailbox providers, the platform):
    # without the include their mail fails SPF there.
    REQUIRED = "required"
    # DMARC does not need it (the envelope is the provider's domain or a return-path subdomain),
    # but the provider's or the platform's own guidance asks for it (SendGrid: the platform's
    # help article writes "v=spf1 include:spf.trekmail.net include:sendgrid.net -all").
    ADVISED = "advised"
    # The provider says not to (SES, Postmark): its mail is SPF-checked on its own domain, where
    # it passes; the include on the From domain changes nothing. A custom MAIL FROM / return
    # path aligns SPF.
    NEVER = "never"


@dataclass(frozen=True, slots=True)
class Port:
    number: int
    tls: TlsMode


@dataclass(frozen=True, slots=True)
class CredentialShape:
    """What a user name or secret looks like. `pattern` is None when any value may be right."""

    pattern: str | None
    description: str

    def matches(self, value: str) -> bool | None:
        """True/False when the shape is known, None when it is not (any value may be right)."""
        if self.pattern is None:
            return None
        return re.fullmatch(self.pattern, value) is not None


@dataclass(frozen=True, slots=True)
class Mistake:
    """A value in `field` ("username" or "secret") shaped like the wrong credential."""

    field: str
    pattern: str
    message: str

    def matches(self, value: str) -> bool:
        return re.fullmatch(self.pattern, value) is not None


@dataclass(frozen=True, slots=True)
class Envelope:
    owner: EnvelopeOwner
    domain: str | None  # the provider's envelope domain when owner is PROVIDER and it is known
    description: str


@dataclass(frozen=True, slots=True)
class ReturnPath:
    """The custom return-path / MAIL FROM option: `label`.yourdomain (a regex when the provider
    numbers it, e.g. `em\\d+`) with a `record_type` record pointing at `target` (may hold
    `{region}`), and the SPF TXT the subdomain needs when the provider does not publish it."""

    label: str
    record_type: str
    target: str
    spf: str | None
    description: str

    @property
    def needs_region(self) -> bool:
        """The target names the region the account sends from (SES's feedback host)."""
        return "{region}" in self.target

    def target_for(self, region: str | None = None, *, unknown: str = "<region>") -> str:
        """The target for `region`; without one, the region is written as `unknown`, marked so
        that nobody takes the result for a real host name."""
        return self.target.replace("{region}", region or unknown)


@dataclass(frozen=True, slots=True)
class Dkim:
    """`selectors`: regexes of the selector labels the provider may use; `conventions`: the
    selectors only this provider uses by default (Microsoft 365's selector1/selector2, Google's
    google, SES's 32-character tokens), regexes too: a signature with one names its provider."""

    selectors: tuple[str, ...]  # regexes for the selector label(s)
    record_type: str  # TXT (key published by you) or CNAME (key hosted by the provider)
    target: str | None  # CNAME target pattern; `{selector}` stands for the selector
    description: str
    conventions: tuple[str, ...] = ()

    def matches_selector(self, selector: str) -> bool:
        return any(re.fullmatch(p, selector, re.IGNORECASE) for p in self.selectors)

    def follows_convention(self, selector: str) -> bool:
        """Whether `selector` is one this provider uses by default (and no other does)."""
        return any(re.fullmatch(p, selector.strip(), re.IGNORECASE) for p in self.conventions)


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True, slots=True)
class KnownNetworks:
    """The networks a provider's published SPF include listed when the catalogue copied them: what
    recognises its addresses when today's DNS cannot be read. Older than today's record by design,
    so a match is weaker evidence and is reported with `as_of`."""

    as_of: dt.date
    source: str
    ranges: tuple[Network, ...]

    def contains(self, ip: str) -> bool:
        """Whether address `ip` is in one of the ranges (False for text that is not an address)."""
        try:
            address = ipaddress.ip_address(ip.strip())
        except ValueError:
            return False
        return any(address in network for network in self.ranges)


@dataclass(frozen=True, slots=True)
class Provider:
    key: str
    name: str
    docs: str
    example_host: str
    hosts: tuple[str, ...]
    regions: tuple[str, ...]
    ports: tuple[Port, ...]
    username: CredentialShape
    secret: CredentialShape
    mistakes: tuple[Mistake, ...]
    spf_include: str | None
    envelope: Envelope
    return_path: ReturnPath | None
    dkim: Dkim
    ptr: tuple[str, ...]
    unconfirmed: tuple[str, ...]
    spf_at_from_domain: SpfAtFromDomain = SpfAtFromDomain.REQUIRED
    spf_networks: KnownNetworks | None = None
    # The autonomous systems of the company behind the provider. They carry its other customers'
    # servers too (Amazon's carry EC2), so they only label an address, never recognise a sender.
    asns: tuple[int, ...] = ()

    def port(self, number: int) -> Port | None:
        """The provider's documented use of `number`, or None when it does not listen there."""
        return next((p for p in self.ports if p.number == number), None)

    def matches_host(self, host: str) -> bool:
        return _fullmatch_any(self.hosts, _clean(host)) is not None

    def region_of(self, host: str) -> str | None:
        """The region this provider's SMTP host name carries ("email-smtp.eu-west-1.amazonaws.com"
        -> "eu-west-1"), or None when `host` is not its host or names no region."""
        found = _fullmatch_any(self.hosts, _clean(host))
        return found.groupdict().get("region") if found is not None else None

    def matches_ptr(self, hostname: str) -> bool:
        return _fullmatch_any(self.ptr, _clean(hostname)) is not None

    def is_confirmed(self, fact: str) -> bool:
        """False when `fact` (a field name such as "spf_include") is not confirmed."""
        return fact not in self.unconfirmed

    def credential_mistakes(self, username: str, secret: str) -> tuple[Mistake, ...]:
        """The known wrong-credential shapes that `username` / `secret` match."""
        values = {"username": username, "secret": secret}
        return tuple(m for m in self.mistakes if m.matches(values.get(m.field, "")))


def _clean(name: str) -> str:
    return name.strip().rstrip(".").lower()


def _fullmatch_any(patterns: tuple[str, ...], text: str) -> re.Match[str] | None:
    for pattern in patterns:
        found = re.fullmatch(pattern, text, re.IGNORECASE)
        if found is not None:
            return found
    return None


def _provider(entry: Mapping[str, Any]) -> Provider:
    envelope = entry["envelope"]
    return_path = entry.get("return_path")
    dkim = entry["dkim"]
    return Provider(
        key=str(entry["key"]),
        name=str(entry["name"]),
        docs=str(entry["docs"]),
        example_host=str(entry["example_host"]),
        hosts=tuple(str(h) for h in entry["hosts"]),
        regions=tuple(str(r) for r in entry.get("regions") or ()),
        ports=tuple(Port(int(n), TlsMode(mode)) for n, mode in entry["ports"].items()),
        username=CredentialShape(entry["username"]["pattern"], entry["username"]["description"]),
        secret=CredentialShape(entry["secret"]["pattern"], entry["secret"]["description"]),
        mistakes=tuple(
            Mistake(m["field"], m["pattern"], " ".join(m["message"].split()))
            for m in entry.get("mistakes") or ()
        ),
        spf_include=entry.get("spf_include"),
        envelope=Envelope(
            EnvelopeOwner(envelope["owner"]), envelope.get("domain"), envelope["description"]
        ),
        return_path=None
        if not return_path
        else ReturnPath(
            label=str(return_path["label"]),
            record_type=str(return_path["record_type"]),
            target=str(return_path["target"]),
            spf=return_path.get("spf"),
            description=return_path["description"],
        ),
        dkim=Dkim(
            selectors=tuple(str(s) for s in dkim["selectors"]),
            record_type=str(dkim["record_type"]),
            target=dkim.get("target"),
            description=dkim["description"],
            conventions=tuple(str(c) for c in dkim.get("conventions") or ()),
        ),
        ptr=tuple(str(p) for p in entry.get("ptr") or ()),
        unconfirmed=tuple(str(u) for u in entry.get("unconfirmed") or ()),
        spf_at_from_domain=SpfAtFromDomain(entry["spf_at_from_domain"]),
        spf_networks=_networks(entry.get("spf_networks")),
        asns=tuple(int(n) for n in entry.get("asns") or ()),
    )


def _networks(entry: Mapping[str, Any] | None) -> KnownNetworks | None:
    if not entry:
        return None
    return KnownNetworks(
        as_of=dt.date.fromisoformat(str(entry["as_of"])),
        source=" ".join(str(entry["source"]).split()),
        ranges=tuple(ipaddress.ip_network(str(r), strict=True) for r in entry["ranges"]),
    )


@functools.cache
def _catalogue() -> dict[str, Provider]:
    text = resources.files("diagnostics").joinpath("data/providers.yaml").read_text("utf-8")
    entries = yaml.safe_load(text)
    catalogue: dict[str, Provider] = {}
    for entry in entries:
        provider = _provider(entry)
        catalogue[provider.key] = provider
    return catalogue


def keys() -> tuple[str, ...]:
    """Every provider key, in catalogue order."""
    return tuple(_catalogue())


def get(key: str) -> Provider:
    """The provider for `key` (case-insensitive); KeyError naming the known keys otherwise."""
    catalogue = _catalogue()
    found = catalogue.get(key.strip().lower())
    if found is None:
        raise KeyError(f"No provider {key!r}; the known providers are: {', '.join(catalogue)}.")
    return found


def all() -> tuple[Provider, ...]:
    """Every provider, in catalogue order."""
    return tuple(_catalogue().values())


def match_host(host: str) -> Provider | None:
    """The provider whose SMTP host is `host` (case-insensitive, a final dot is fine), or None."""
    cleaned = _clean(host)
    return next((p for p in _catalogue().values() if p.matches_host(cleaned)), None)


def by_asn(asn: int) -> Provider | None:
    """The first provider (catalogue order) whose company runs autonomous system `asn`, or None.

    Only a label ("Amazon's network, not SES's sending networks"): an address in that system may be
    anyone's server, so this never says the provider sent from it."""
    return next((p for p in _catalogue().values() if asn in p.asns), None)


def by_selector(selector: str) -> Provider | None:
    """The provider whose own DKIM selector convention `selector` follows (`Dkim.conventions`,
    first in catalogue order), or None: "selector1" names Microsoft 365, "google" Google
    Workspace. Evidence of who signed, read with the signature's d= and the sending address."""
    return next((p for p in _catalogue().values() if p.dkim.follows_convention(selector)), None)


def match_ptr(hostname: str) -> Provider | None:
    """The provider whose sending IPs have reverse-DNS names like `hostname`, or None.

    A hint, not proof: anyone can publish any PTR name for their own addresses."""
    cleaned = _clean(hostname)
    return next((p for p in _catalogue().values() if p.matches_ptr(cleaned)), None)


def ses_region(host: str) -> str | None:
    """The AWS region in an SES SMTP host name ("email-smtp.eu-west-1.amazonaws.com" ->
    "eu-west-1"), or None when `host` is not an SES endpoint. The region is returned even when it
    is not in the catalogue's list, so a caller can say "unknown region" rather than "not SES"."""
    return get("ses").region_of(host)
