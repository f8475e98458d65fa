"""Every network an SPF tree may compare an IP with, found by one walk over the whole tree.

`compile()` needs the edges of these networks: between two neighbouring edges every address takes
the same path through the tree. The walk is deliberately generous. It follows every include and
redirect whether or not an evaluation would get that far (lookup limits, an `all` earlier on), asks
A and AAAA for every a/mx target whatever the family, and treats a term it cannot read as having no
networks: a network too many only splits a segment in two, while a network missed would merge two
segments that differ. What it cannot foresee (macros naming the IP, ptr, names it did not fetch) the
compiler notices when `check_host` asks DNS something the walk did not.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from diagnostics.dns import Resolver, Status
from diagnostics.spf.macro import MacroContext, MacroSyntaxError, expand_domain, uses_ptr
from diagnostics.spf.record import Mechanism, is_spf_record, parse_record
from diagnostics.spf.segments import IPV4_MAPPED

__all__ = ["TreeNetworks", "collect_networks", "static_target"]

# A domain reached through more includes/redirects than this costs more than the 10 DNS look-ups an
# evaluation may make before reaching it, so nothing below it can decide a verdict.
_MAX_DEPTH = 11
# A safety valve for pathological trees; names left out are caught as unforeseen questions.
_MAX_DOMAINS = 200
_MAX_MX_HOSTS = 30
# Addresses a macro is expanded with to tell whether its name depends on the IP.
_PROBE_IPS = (
    ipaddress.ip_address("192.0.2.1"),
    ipaddress.ip_address("198.51.100.254"),
    ipaddress.ip_address("2001:db8::1"),
    ipaddress.ip_address("2001:db8:ffff::2"),
)


def static_target(spec: str | None, current: str, sender: str) -> str | None:
    """The name a domain-spec stands for, or None when it depends on the IP (or cannot be read).

    A macro that names only the sender or the current domain expands the same for every address,
    so its target can be fetched ahead; %{i}, %{c}, %{v} or %{p} cannot.
    """
    if spec is None:
        return current
    if "%" not in spec:
        return spec
    if uses_ptr(spec):
        return None
    try:
        names = {expand_domain(spec, MacroContext(sender, current, ip)) for ip in _PROBE_IPS}
    except MacroSyntaxError:
        return None
    return names.pop() if len(names) == 1 else None


@dataclass
class TreeNetworks:
    """Inclusive `(first, last)` integer ranges by family (4, 6), and the domains whose records were
    read. IPv4 ranges are also mirrored into ::ffff:0:0/96, whatever the evaluator makes of mapped
    addresses, so a mapped address never shares a segment with one it must not."""

    ranges: dict[int, set[tuple[int, int]]] = field(default_factory=lambda: {4: set(), 6: set()})
    domains: list[str] = field(default_factory=list)

    def add(self, network: ipaddress.IPv4Network | ipaddress.IPv6Network) -> None:
        first, last = int(network.network_address), int(network.broadcast_address)
        self.ranges[network.version].add((first, last))
        if network.version == 4:
            self.ranges[6].add((IPV4_MAPPED + first, IPV4_MAPPED + last))


def collect_networks(domain: str, sender: str, resolver: Resolver) -> TreeNetworks:
    """Walk the tree under `domain` (for envelope sender `sender`) through `resolver`; return
    every network it names."""
    found = TreeNetworks()
    found.ranges[6].add((IPV4_MAPPED, IPV4_MAPPED + (1 << 32) - 1))
    seen: set[str] = set()
    pending = [(domain, 0)]
    while pending and len(seen) < _MAX_DOMAINS:
        name, depth = pending.pop(0)  # breadth first: shallow names matter most
        key = name.lower().rstrip(".")
        if key in seen or depth > _MAX_DEPTH:
            continue
        seen.add(key)
        found.domains.append(key)
        answer = resolver.query(name, "TXT")
        for text in answer.records:
            if is_spf_record(text):
                for target in _read_record(text, name, sender, resolver, found):
                    pending.append((target, depth + 1))
    return found


def _read_record(
    text: str, current: str, sender: str, resolver: Resolver, found: TreeNetworks
) -> list[str]:
    """Add the networks of one record's terms; return the domains it includes or redirects to.

    A record with syntax errors is a permerror wherever it is met, whatever its terms say, but the
    terms that did parse are still read: a needless network costs nothing.
    """
    record = parse_record(text)
    targets: list[str] = []
    for term in record.mechanisms:
        if term.name in ("ip4", "ip6"):
            network = term.network
            if network is not None:
                found.add(network)
            continue
        if term.name not in ("include", "a", "mx", "exists"):
            continue  # all; ptr depends on the IP's own PTR record
        target = static_target(term.domain_spec, current, sender)
        if not target:
            continue
        if term.name == "include":
            targets.append(target)
        elif term.name == "exists":
            resolver.query(target, "A")
        elif term.name == "a":
            _add_hosts(target, term, resolver, found)
        else:
            _add_mx(target, term, resolver, found)
    for name in ("redirect", "exp"):
        modifier = record.redirect if name == "redirect" else record.exp
        target = static_target(modifier, current, sender) if modifier is not None else None
        if target and name == "redirect":
            targets.append(target)
        elif target:
            resolver.query(target, "TXT")  # the explanation of a fail, fetched for replays
    return targets


def _add_mx(name: str, term: Mechanism, resolver: Resolver, found: TreeNetworks) -> None:
    answer = resolver.query(name, "MX")
    if answer.status is not Status.OK:
        return
    for _, host in answer.mx[:_MAX_MX_HOSTS]:
        _add_hosts(host, term, resolver, found)


def _add_hosts(name: str, term: Mechanism, resolver: Resolver, found: TreeNetworks) -> None:
    cidr4 = 32 if term.cidr4 is None else term.cidr4
    cidr6 = 128 if term.cidr6 is None else term.cidr6
    for rdtype, cidr in (("A", cidr4), ("AAAA", cidr6)):
        answer = resolver.query(name, rdtype)
        for address in answer.records:
            try:
                found.add(ipaddress.ip_network(f"{address}/{cidr}", strict=False))
            except ValueError:
                continue  # a CIDR length out of range is a syntax error: one verdict for all
