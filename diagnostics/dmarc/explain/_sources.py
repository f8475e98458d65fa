"""Who sent from each IP: the sending service a DMARC source belongs to.

Evidence, strongest first:

1. the provider's own published SPF networks, read from DNS today, contain the IP (each catalogue
   provider's include is compiled once per call with `spf.compile`, then every distinct IP is
   checked in bulk), so an IP without reverse DNS is still recognised;
2. when today's DNS could not read an include (timeout, SERVFAIL: the verdict is temperror) or
   found no record for it (NXDOMAIN from a sandboxed or filtering resolver: the verdict is none),
   the networks the catalogue copied from that include (`Provider.spf_networks`, with its `as_of`
   date): weaker, since a provider may have moved, and reported as such (`via="catalogue"`);
3. enrichment (reverse DNS and the service map): a catalogue provider matched by PTR or by name,
   else the service name and type the map gives (e.g. a mailbox provider that forwarded mail).

An IP nobody claims is its own source, named by the IP; `unreadable` then lists the includes DNS
could not read for it, since one of those providers may be the sender (an include DNS answered
"no such record" for is an answer, and rules its provider out as before). `mailbox_hosting` tells
which mailbox providers host a domain's mail (by MX), so their other addresses can be read as
forwarders, and which MX look-ups failed, since then that reading would be a guess.

Whose network an address is in (`SourceId.owner`, from the offline IP data) is kept apart from
all of this: Amazon's network carries SES and anyone's EC2 server alike, so an owner labels an
address and never recognises a sender. `offline_names` names addresses for a table without DNS:
the catalogue's copy of a provider's networks, else the network's owner, each saying which.
"""

from __future__ import annotations

import asyncio
import bisect
import datetime as dt
import functools
import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

import pandas as pd

from diagnostics import providers as catalogue
from diagnostics._sync import run_sync
from diagnostics.dns import Resolver, Status
from diagnostics.enrich import NetworkOwner, canonical_ip, network_owner
from diagnostics.providers import Provider
from diagnostics.spf.compile import compile as compile_spf

__all__ = [
    "MAILBOX_MX",
    "NAMED_BY_CATALOGUE",
    "NAMED_BY_OWNER",
    "Claims",
    "Hosting",
    "SourceId",
    "claim_networks",
    "copied_owner",
    "hosted_mailboxes",
    "identify",
    "is_address",
    "mailbox_hosting",
    "offline_names",
    "provider_networks",
]

# Mailbox providers, by the MX hosts of the domains they host. Their sending networks also carry
# every mailbox that forwards mail: an address of theirs failing SPF for a domain whose mail they do
# not host is a forward (a Gmail user forwarding the customer's newsletter), not a missing include.
MAILBOX_MX: dict[str, str] = {
    "google-workspace": r"(?:^|\.)(?:google\.com|googlemail\.com)",
    "microsoft-365": r"\.mail\.protection\.outlook\.com",
    "zoho": r"(?:^|\.)zoho(?:mail)?\.(?:com|eu|in|com\.au|jp|com\.cn)",
}

# What a name given without DNS rests on, as the pages' tables say it.
NAMED_BY_CATALOGUE = "provider's networks (catalogue copy)"
NAMED_BY_OWNER = "IP owner (offline)"


@dataclass(frozen=True, slots=True)
class SourceId:
    """`name`: the service name (or the IP when unknown); `provider`: catalogue key or None;
    `service_type` from enrichment; `via`: how it was recognised ("spf": today's DNS,
    "catalogue": the catalogue's copy of the provider's networks as of `as_of`, "ptr", "service"
    or None); `reverse_dns` when known; `unreadable`: the provider includes today's DNS could not
    read for this IP (timeout, SERVFAIL), so they neither claimed nor ruled it out; `absent`:
    those DNS answered with no SPF record at all; `owner`: whose network the IP is in (offline IP
    data), kept for addresses no provider claims, as a label only."""

    name: str
    provider: str | None
    service_type: str | None
    via: str | None
    reverse_dns: str | None = None
    as_of: dt.date | None = None
    unreadable: tuple[str, ...] = ()
    absent: tuple[str, ...] = ()
    owner: NetworkOwner | None = None


@dataclass
class Claims:
    """`owners`: IP -> catalogue key, with `via` "spf" (today's DNS) or "catalogue" (the copied
    networks, used only where DNS failed); `unreadable`: IP -> includes DNS could not read for it;
    `absent`: IP -> includes DNS had no SPF record for."""

    owners: dict[str, str] = field(default_factory=dict)
    via: dict[str, str] = field(default_factory=dict)
    unreadable: dict[str, list[str]] = field(default_factory=dict)
    absent: dict[str, list[str]] = field(default_factory=dict)


def is_address(text: str) -> bool:
    """Whether `text` is an IP address (reports sometimes carry garbage in source_ip)."""
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def claim_networks(ips: list[str], resolver: Resolver) -> Claims:
    """For each IP, the key of the first catalogue provider whose published SPF include passes it
    today; where an include could not be read (its verdict is temperror) or has no record today
    (none: only a resolver that does not know the provider answers so), the catalogue's copy of
    that provider's networks decides instead, and the include is noted as unreadable or absent.

    Providers sharing one include (SparkPost US/EU, SES and Resend) are compiled once; the first in
    catalogue order names the IP. An include without a record today claims nothing by DNS, only
    through the catalogue's copy where the provider has one."""
    claims = Claims()
    seen: set[str] = set()
    remaining = [ip for ip in dict.fromkeys(ips) if is_address(ip)]
    if remaining:
        _prefetch([p.spf_include for p in catalogue.all() if p.spf_include], resolver)
    # (provider, the IPs its include could not be told for), in catalogue order.
    unsure: list[tuple[Provider, list[str]]] = []
    for provider in catalogue.all():
        include = provider.spf_include
        if include is None or include in seen or not remaining:
            continue
        seen.add(include)
        authorizer = compile_spf(include, resolver=resolver)
        verdicts = authorizer.check_many(remaining)
        unclaimed: list[str] = []
        failed: list[str] = []
        for ip, verdict in zip(remaining, verdicts, strict=True):
            if verdict == "pass":
                claims.owners[ip] = provider.key
                claims.via[ip] = "spf"
                continue
            unclaimed.append(ip)
            if verdict in ("temperror", "none"):
                failed.append(ip)
                kind = claims.unreadable if verdict == "temperror" else claims.absent
                kind.setdefault(ip, []).append(include)
        remaining = unclaimed
        if failed:
            unsure.append((provider, failed))
    for provider, failed in unsure:
        known = provider.spf_networks
        if known is None:
            continue
        for ip in failed:
            if ip not in claims.owners and known.contains(ip):
                claims.owners[ip] = provider.key
                claims.via[ip] = "catalogue"
    return claims


def _prefetch(includes: list[str], resolver: Resolver) -> None:
    """Ask for every include's record at once, so the resolver's cache holds them before the
    compiles ask one by one: when DNS does not answer, the waits overlap instead of adding up
    (fourteen timeouts would outlast the pages' time limit)."""
    names = list(dict.fromkeys(includes))
    # The resolver's cache is one for its sync and async look-ups: asked async, read sync.
    run_sync(lambda: asyncio.gather(*(resolver.query_async(name, "TXT") for name in names)))


def provider_networks(ips: list[str], resolver: Resolver) -> dict[str, str]:
    """IP -> catalogue key of the provider that claims it (`claim_networks(...).owners`)."""
    return claim_networks(ips, resolver).owners


def _by_name() -> dict[str, Provider]:
    return {p.name.lower(): p for p in catalogue.all()}


def identify(
    ips: Iterable[str], *, resolver: Resolver, enrichment: pd.DataFrame | None = None
) -> dict[str, SourceId]:
    """The source of every distinct IP in `ips`."""
    distinct = list(dict.fromkeys(str(ip) for ip in ips))
    claims = claim_networks(distinct, resolver)
    rows = _enrichment_rows(enrichment)
    names = _by_name()
    out: dict[str, SourceId] = {}
    for ip in distinct:
        ptr, service_name, service_type = rows.get(ip, (None, None, None))
        unreadable = tuple(claims.unreadable.get(ip, ()))
        absent = tuple(claims.absent.get(ip, ()))
        key = claims.owners.get(ip)
        if key is not None:
            provider = catalogue.get(key)
            via = claims.via[ip]
            known = provider.spf_networks if via == "catalogue" else None
            out[ip] = SourceId(
                provider.name,
                key,
                service_type,
                via,
                ptr,
                as_of=known.as_of if known else None,
                unreadable=unreadable,
                absent=absent,
            )
            continue
        matched = catalogue.match_ptr(ptr) if ptr else None
        if matched is None and service_name:
            matched = names.get(service_name.lower())
        if matched is not None:
            via = "ptr" if ptr and matched.matches_ptr(ptr) else "service"
            out[ip] = SourceId(
                matched.name,
                matched.key,
                service_type,
                via,
                ptr,
                unreadable=unreadable,
                absent=absent,
            )
        elif service_name:
            out[ip] = SourceId(
                service_name,
                None,
                service_type,
                "service",
                ptr,
                unreadable=unreadable,
                owner=_owner(ip),
            )
        else:
            out[ip] = SourceId(
                ip, None, service_type, None, ptr, unreadable=unreadable, owner=_owner(ip)
            )
    return out


def _owner(ip: str) -> NetworkOwner | None:
    canonical = canonical_ip(ip)
    return network_owner(canonical) if canonical is not None else None


# (first address, last address, provider key) per copied network, sorted, per IP version.
_Spans = dict[int, tuple[list[int], list[tuple[int, int, str]]]]


@functools.cache
def _copied_spans() -> _Spans:
    spans: dict[int, list[tuple[int, int, str]]] = {4: [], 6: []}
    for provider in catalogue.all():
        if provider.spf_networks is None:
            continue
        for network in provider.spf_networks.ranges:
            first, last = int(network.network_address), int(network.broadcast_address)
            spans[network.version].append((first, last, provider.key))
    out: _Spans = {}
    for version, found in spans.items():
        found.sort()
        out[version] = ([first for first, _, _ in found], found)
    return out


def copied_owner(ip: str) -> str | None:
    """The key of the provider whose copied SPF networks hold `ip` (by bisection: a page names
    every address of a period, thousands at a time)."""
    try:
        address = ipaddress.ip_address(ip.strip())
    except ValueError:
        return None
    firsts, found = _copied_spans()[address.version]
    value = int(address)
    # Copied networks may nest, so every span starting at or before the address is a candidate.
    for first, last, key in reversed(found[: bisect.bisect_right(firsts, value)]):
        if first <= value <= last:
            return key
    return None


def offline_names(ips: Iterable[str]) -> pd.DataFrame:
    """A name for each distinct address without asking DNS, and what it rests on: the catalogue
    provider whose copied SPF networks hold it (`NAMED_BY_CATALOGUE`; dated, so weaker than today's
    record, but it tells SES from the rest of Amazon), else the owner of its network
    (`NAMED_BY_OWNER`: whose network, not who sent). Columns ip, service, named_by; addresses
    neither names are left out."""
    rows: list[tuple[str, str, str]] = []
    for ip in dict.fromkeys(str(i) for i in ips):
        key = copied_owner(ip)
        if key is not None:
            rows.append((ip, catalogue.get(key).name, NAMED_BY_CATALOGUE))
            continue
        owner = _owner(ip)
        if owner is not None:
            rows.append((ip, owner.name, NAMED_BY_OWNER))
    return pd.DataFrame(rows, columns=["ip", "service", "named_by"], dtype="string")


def _enrichment_rows(
    enrichment: pd.DataFrame | None,
) -> dict[str, tuple[str | None, str | None, str | None]]:
    if enrichment is None or len(enrichment) == 0:
        return {}
    columns = ["ip", "reverse_dns", "service_name", "service_type"]
    frame = enrichment.reindex(columns=columns)
    # One pass over plain Python values: NA becomes None so callers can test truthiness.
    values = frame.astype(object).where(frame.notna(), None).itertuples(index=False, name=None)
    return {str(ip): (ptr, name, kind) for ip, ptr, name, kind in values}


@dataclass(frozen=True, slots=True)
class Hosting:
    """Who hosts the mail of some domains, by their MX records. `mailboxes`: keys of the mailbox
    providers (MAILBOX_MX) the MX records point at; `unreadable`: the names whose MX look-up
    failed (timeout, SERVFAIL), so a provider missing from `mailboxes` may still host them. No MX
    record or no such name is an answer, not a failure."""

    mailboxes: frozenset[str] = frozenset()
    unreadable: tuple[str, ...] = ()


def mailbox_hosting(domains: Iterable[str], resolver: Resolver) -> Hosting:
    """The mailbox providers the MX records of `domains` point at, and the MX look-ups that
    failed."""
    found: set[str] = set()
    failed: list[str] = []
    for domain in dict.fromkeys(domains):
        answer = resolver.query(domain, "MX")
        if answer.status is not Status.OK:
            if answer.status.is_temporary:
                failed.append(domain)
            continue
        for _, host in answer.mx:
            for key, pattern in MAILBOX_MX.items():
                if re.search(pattern + r"$", host.rstrip(".").lower()):
                    found.add(key)
    return Hosting(frozenset(found), tuple(failed))


def hosted_mailboxes(domains: Iterable[str], resolver: Resolver) -> frozenset[str]:
    """Keys of the mailbox providers (MAILBOX_MX) that the MX records of `domains` point at."""
    return mailbox_hosting(domains, resolver).mailboxes
