"""Who sent from each IP: the sending service a DMARC source belongs to.

Two kinds of evidence, strongest first:

1. the provider's own published SPF networks contain the IP (each catalogue provider's include is
   compiled once per call with `spf.compile`, then every distinct IP is checked in bulk), so an IP
   without reverse DNS is still recognised;
2. enrichment (reverse DNS and the service map): a catalogue provider matched by PTR or by name,
   else the service name and type the map gives (e.g. a mailbox provider that forwarded mail).

An IP nobody claims is its own source, named by the IP. `hosted_mailboxes` tells which mailbox
providers host a domain's mail (by MX), so their other addresses can be read as forwarders.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd

from diagnostics import providers as catalogue
from diagnostics.dns import Resolver, Status
from diagnostics.providers import Provider
from diagnostics.spf.compile import compile as compile_spf

__all__ = [
    "MAILBOX_MX",
    "SourceId",
    "hosted_mailboxes",
    "identify",
    "is_address",
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


@dataclass(frozen=True, slots=True)
class SourceId:
    """`name`: the service name (or the IP when unknown); `provider`: catalogue key or None;
    `service_type` from enrichment; `via`: how it was recognised ("spf", "ptr", "service" or
    None); `reverse_dns` when known."""

    name: str
    provider: str | None
    service_type: str | None
    via: str | None
    reverse_dns: str | None = None


def is_address(text: str) -> bool:
    """Whether `text` is an IP address (reports sometimes carry garbage in source_ip)."""
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def provider_networks(ips: list[str], resolver: Resolver) -> dict[str, str]:
    """For each IP, the key of the first catalogue provider whose published SPF include passes it.

    Providers sharing one include (SparkPost US/EU, SES and Resend) are compiled once; the first in
    catalogue order names the IP. Includes that do not resolve simply claim nothing."""
    owner: dict[str, str] = {}
    seen: set[str] = set()
    remaining = [ip for ip in dict.fromkeys(ips) if is_address(ip)]
    for provider in catalogue.all():
        include = provider.spf_include
        if include is None or include in seen or not remaining:
            continue
        seen.add(include)
        authorizer = compile_spf(include, resolver=resolver)
        verdicts = authorizer.check_many(remaining)
        unclaimed: list[str] = []
        for ip, verdict in zip(remaining, verdicts, strict=True):
            if verdict == "pass":
                owner[ip] = provider.key
            else:
                unclaimed.append(ip)
        remaining = unclaimed
    return owner


def _by_name() -> dict[str, Provider]:
    return {p.name.lower(): p for p in catalogue.all()}


def identify(
    ips: Iterable[str], *, resolver: Resolver, enrichment: pd.DataFrame | None = None
) -> dict[str, SourceId]:
    """The source of every distinct IP in `ips`."""
    distinct = list(dict.fromkeys(str(ip) for ip in ips))
    owners = provider_networks(distinct, resolver)
    rows = _enrichment_rows(enrichment)
    names = _by_name()
    out: dict[str, SourceId] = {}
    for ip in distinct:
        ptr, service_name, service_type = rows.get(ip, (None, None, None))
        key = owners.get(ip)
        if key is not None:
            provider = catalogue.get(key)
            out[ip] = SourceId(provider.name, key, service_type, "spf", ptr)
            continue
        matched = catalogue.match_ptr(ptr) if ptr else None
        if matched is None and service_name:
            matched = names.get(service_name.lower())
        if matched is not None:
            via = "ptr" if ptr and matched.matches_ptr(ptr) else "service"
            out[ip] = SourceId(matched.name, matched.key, service_type, via, ptr)
        elif service_name:
            out[ip] = SourceId(service_name, None, service_type, "service", ptr)
        else:
            out[ip] = SourceId(ip, None, service_type, None, ptr)
    return out


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


def hosted_mailboxes(domains: Iterable[str], resolver: Resolver) -> frozenset[str]:
    """Keys of the mailbox providers (MAILBOX_MX) that the MX records of `domains` point at."""
    found: set[str] = set()
    for domain in dict.fromkeys(domains):
        answer = resolver.query(domain, "MX")
        if answer.status is not Status.OK:
            continue
        for _, host in answer.mx:
            for key, pattern in MAILBOX_MX.items():
                if re.search(pattern + r"$", host.rstrip(".").lower()):
                    found.add(key)
    return frozenset(found)
