"""Bulk authorization: compile a domain's SPF tree once, then check any number of IPs in microseconds.

`compile(domain)` gives an `Authorizer` whose `.check(ip)` is, for every IP, the result string of
`check_host(ip, "postmaster@" + domain)`. It works in three steps:

1. Walk the whole tree once (`networks.collect_networks`), through a `SnapshotResolver` that keeps
   every answer, and collect the edges of every network an evaluation could compare the IP with.
2. Those edges cut each family's address space into segments; inside a segment every address takes
   the same path through the tree, and so does every segment held by the same networks (the gaps
   between networks, say). `check_host` itself is run once per such class, on one address, against
   the frozen answers. Running the real evaluator, rather than a second copy of its rules, is
   what keeps the path-dependent parts exactly right: the 10-look-up and void-look-up limits reached by
   some addresses and not others, include results, redirect, a DNS error met only by the addresses
   that get that far, IPv4-mapped IPv6.
3. A segment whose evaluation asked DNS something the walk had not (a macro naming the IP, `ptr`,
   `exists:%{i}...`) depends on more than the networks: it is left undecided, and addresses in it are
   handed to `check_host` one by one, still against the frozen answers where they apply.

Checking is then a binary search over integer segment starts.

API:

    compile(domain, *, resolver=None) -> Authorizer
    Authorizer.check(ip) -> str              pass fail softfail neutral none permerror temperror
    Authorizer.check_many(ips) -> list[str]  the same for an iterable of IPs, in order
    Authorizer.ranges() -> list[(first, last, result | None)]   the compiled segments
    Authorizer.stats -> CompileStats(domains, queries, segments, undecided, evaluations, seconds)

An IP that `check_host` would refuse (not an address) raises InvalidInput from `check` as it does
from `check_host`; text spelled in a way the fast parser does not take (spaces, a zone index) is
simply handed to `check_host`.
"""

from __future__ import annotations

import ipaddress
import time
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field

from diagnostics.dns import Resolver, get_resolver, normalize_name
from diagnostics.errors import InvalidInput
from diagnostics.spf.evaluate import check_host
from diagnostics.spf.networks import TreeNetworks, collect_networks, static_target
from diagnostics.spf.record import Mechanism, Modifier, parse_record
from diagnostics.spf.result import SpfResult
from diagnostics.spf.segments import SPACE, SegmentMap, cut_points, memberships, parse_address
from diagnostics.spf.snapshot import SnapshotResolver

__all__ = ["Authorizer", "CompileStats", "compile"]


@dataclass(frozen=True, slots=True)
class CompileStats:
    """What compiling cost and what it produced."""

    domains: int  # SPF records read by the walk
    queries: int  # DNS questions sent while compiling
    segments: int  # segments after merging neighbours with equal verdicts, both families
    undecided: int  # of those, segments left to check_host address by address
    evaluations: int  # check_host runs while compiling
    seconds: float


@dataclass(frozen=True)
class Authorizer:
    """The compiled SPF verdicts of one domain. Build it with `compile()`."""

    domain: str
    sender: str
    v4: SegmentMap = field(repr=False)
    v6: SegmentMap = field(repr=False)
    stats: CompileStats
    resolver: SnapshotResolver = field(repr=False, compare=False)

    def check(self, ip: str) -> str:
        """The result of `check_host(ip, self.sender)`: pass, fail, softfail, neutral, none,
        permerror or temperror."""
        parsed = parse_address(ip)
        if parsed is not None:
            value = (self.v4 if parsed[0] == 4 else self.v6).lookup(parsed[1])
            if value is not None:
                return value
        return self._evaluate(ip)

    def check_many(self, ips: Iterable[str]) -> list[str]:
        """`check(ip)` for each IP, in order."""
        # One loop with everything bound locally: this is the hot path for 10^5..10^6 addresses.
        starts4, values4 = self.v4.starts, self.v4.values
        starts6, values6 = self.v6.starts, self.v6.values
        parse = parse_address
        bisect = bisect_right
        out: list[str] = []
        append = out.append
        for ip in ips:
            parsed = parse(ip)
            value: str | None = None
            if parsed is not None:
                family, number = parsed
                if family == 4:
                    value = values4[bisect(starts4, number) - 1]
                else:
                    value = values6[bisect(starts6, number) - 1]
            append(value if value is not None else self._evaluate(ip))
        return out

    def ranges(self) -> list[tuple[str, str, str | None]]:
        """Every segment as `(first address, last address, result or None)`, IPv4 then IPv6; None
        marks a segment decided address by address."""
        rows: list[tuple[str, str, str | None]] = []
        for family, segments in ((4, self.v4), (6, self.v6)):
            for first, last, value in segments.segments(SPACE[family]):
                rows.append((_text(family, first), _text(family, last), value))
        return rows

    def _evaluate(self, ip: str) -> str:
        return str(check_host(ip, self.sender, resolver=self.resolver).result)


def compile(domain: str, *, resolver: Resolver | None = None) -> Authorizer:
    """Compile the SPF verdicts of `domain` for envelope sender `postmaster@domain`.

    DNS is asked once per name and type; the answers are kept in the Authorizer, so later checks send
    no queries except for addresses that reach a term naming the IP itself.
    """
    started = time.monotonic()
    inner = get_resolver(resolver)
    sent_before = inner.queries_sent
    snapshot = SnapshotResolver(inner)
    sender = "postmaster@" + domain
    try:
        # check_host evaluates the normalised name (lower case, IDNs as punycode): walk that one.
        found = collect_networks(normalize_name(domain), sender, snapshot)
    except InvalidInput:
        found = TreeNetworks()  # check_host gives such a domain one verdict everywhere
    snapshot.freeze()

    evaluations = 0
    maps: dict[int, SegmentMap] = {}
    for family in (4, 6):
        starts = cut_points(found.ranges[family], SPACE[family])
        held = memberships(found.ranges[family], starts)
        verdicts: dict[frozenset[int], str | None] = {}
        for start, networks in zip(starts, held, strict=True):
            if networks in verdicts:
                continue  # same networks, same path: the verdict is already known
            result = check_host(_text(family, start), sender, resolver=snapshot)
            evaluations += 1
            # An unforeseen question, or a term naming the IP on the way, means this verdict rests
            # on more than the networks.
            unforeseen = snapshot.take_unforeseen()
            dynamic = bool(unforeseen) or _names_the_ip(result, sender)
            verdicts[networks] = None if dynamic else str(result.result)
        maps[family] = SegmentMap.build(starts, [verdicts[networks] for networks in held])
    snapshot.stop_tracking()

    stats = CompileStats(
        domains=len(found.domains),
        queries=inner.queries_sent - sent_before,
        segments=len(maps[4]) + len(maps[6]),
        undecided=maps[4].values.count(None) + maps[6].values.count(None),
        evaluations=evaluations,
        seconds=time.monotonic() - started,
    )
    return Authorizer(domain, sender, maps[4], maps[6], stats, snapshot)


def _names_the_ip(result: SpfResult, sender: str) -> bool:
    """Whether the evaluation met a term whose outcome depends on the IP itself (ptr, or a macro
    that expands differently per address), as its trace tells."""
    for step in result.trace:
        if "%" not in step.term and "ptr" not in step.term.lower():
            continue
        if step.term.lower().startswith("v=spf1"):
            continue  # the step that fetched a record, not a term
        terms = parse_record(f"v=spf1 {step.term}").terms
        if not terms:
            continue
        term = terms[0]
        spec: str | None = None
        if isinstance(term, Mechanism):
            if term.name == "ptr":
                return True
            spec = term.domain_spec
        elif isinstance(term, Modifier) and term.name == "redirect":
            spec = term.value
        if spec is not None and static_target(spec, step.domain, sender) is None:
            return True
    return False


def _text(family: int, number: int) -> str:
    if family == 4:
        return str(ipaddress.IPv4Address(number))
    return str(ipaddress.IPv6Address(number))
