"""The pieces under `compile()`: segment maps, the snapshot resolver and the network walk."""

from __future__ import annotations

import ipaddress
import random
from collections.abc import Callable

from diagnostics.dns import Status
from diagnostics.spf.networks import collect_networks
from diagnostics.spf.segments import (
    IPV4_MAPPED,
    SPACE,
    SegmentMap,
    cut_points,
    memberships,
    parse_address,
)
from diagnostics.spf.snapshot import SnapshotResolver
from tests.support.nameserver import LoopbackNameserver

StartServer = Callable[..., LoopbackNameserver]


def test_parse_address_is_strict_and_exact() -> None:
    assert parse_address("192.0.2.1") == (4, int(ipaddress.IPv4Address("192.0.2.1")))
    assert parse_address("2001:db8::1") == (6, int(ipaddress.IPv6Address("2001:db8::1")))
    mapped = parse_address("::ffff:192.0.2.1")
    assert mapped == (6, IPV4_MAPPED + int(ipaddress.IPv4Address("192.0.2.1")))
    for text in ("", " 192.0.2.1", "192.0.2", "192.0.2.1.5", "fe80::1%eth0", "example.com"):
        assert parse_address(text) is None


def test_segment_lookup_agrees_with_a_linear_scan() -> None:
    rng = random.Random(7)
    ranges = []
    for _ in range(50):
        first = rng.randrange(SPACE[4])
        ranges.append((first, min(first + rng.randrange(1 << 20), SPACE[4] - 1)))
    starts = cut_points(ranges, SPACE[4])
    values = [str(i % 3) for i in range(len(starts))]
    table = SegmentMap.build(starts, values)
    assert len(table) <= len(starts)
    for _ in range(2000):
        address = rng.randrange(SPACE[4])
        # The segment holding `address` is the last cut at or below it.
        index = max(i for i, start in enumerate(starts) if start <= address)
        assert table.lookup(address) == values[index]


def test_cut_points_cover_edges_and_merge_keeps_boundaries() -> None:
    starts = cut_points([(10, 19), (15, 30), (SPACE[4] - 5, SPACE[4] - 1)], SPACE[4])
    assert starts == [0, 10, 15, 20, 31, SPACE[4] - 5]
    table = SegmentMap.build(starts, ["a", "b", "b", "b", "a", None])
    assert table.starts == (0, 10, 31, SPACE[4] - 5)
    assert [v for _, _, v in table.segments(SPACE[4])] == ["a", "b", "a", None]
    assert table.segments(SPACE[4])[-1][1] == SPACE[4] - 1


def test_memberships_name_the_ranges_holding_each_segment() -> None:
    rng = random.Random(11)
    ranges = set()
    for _ in range(40):
        first = rng.randrange(1 << 16)
        ranges.add((first, min(first + rng.randrange(1 << 12), (1 << 16) - 1)))
    ordered = sorted(ranges)
    starts = cut_points(ranges, 1 << 16)
    held = memberships(ranges, starts)
    for start, networks in zip(starts, held, strict=True):
        assert networks == {i for i, (a, b) in enumerate(ordered) if a <= start <= b}
    # Every gap between networks is one class.
    assert len({n for n in held if not n}) == 1


def test_snapshot_answers_once_then_notes_unforeseen_questions(nameserver: StartServer) -> None:
    server = nameserver({"a.test": {"A": ["192.0.2.1"]}, "slow.test": {"A": "TIMEOUT"}})
    snapshot = SnapshotResolver(server.resolver(timeout=0.2, cache=False))
    first = snapshot.query("A.test.", "a")
    timed_out = snapshot.query("slow.test", "A")
    snapshot.freeze()
    sent = len(server.queries)
    # Held answers come back without asking again, even the timeout.
    assert snapshot.query("a.test", "A") == first
    assert snapshot.query("slow.test", "A").status is Status.TIMEOUT
    assert timed_out.status is Status.TIMEOUT
    assert len(server.queries) == sent
    assert snapshot.take_unforeseen() == set()
    assert snapshot.query("b.test", "A").status is Status.NXDOMAIN
    assert snapshot.take_unforeseen() == {("b.test", "A")}
    assert snapshot.take_unforeseen() == set()
    snapshot.stop_tracking()
    snapshot.query("c.test", "A")
    assert snapshot.take_unforeseen() == set()


def test_walk_finds_networks_through_include_redirect_a_and_mx(nameserver: StartServer) -> None:
    server = nameserver(
        {
            "w.test": {
                "TXT": ["v=spf1 a/24 mx//64 include:i.w.test exists:%{i}.x.w.test redirect=r.%{d}"],
                "A": ["192.0.2.7"],
                "MX": ["10 mx.w.test"],
            },
            "mx.w.test": {"AAAA": ["2001:db8::25"]},
            "i.w.test": {"TXT": ["v=spf1 ip4:198.51.100.0/25 ~all"]},
            "r.w.test": {"TXT": ["v=spf1 ip6:2001:db8:1::/48 -all"]},
        }
    )
    found = collect_networks("w.test", "postmaster@w.test", server.resolver())
    v4 = {
        net
        for first, last in found.ranges[4]
        for net in ipaddress.summarize_address_range(
            ipaddress.IPv4Address(first), ipaddress.IPv4Address(last)
        )
    }
    assert v4 == {ipaddress.ip_network("192.0.2.0/24"), ipaddress.ip_network("198.51.100.0/25")}
    v6 = {(ipaddress.IPv6Address(a), ipaddress.IPv6Address(b)) for a, b in found.ranges[6]}
    assert (
        ipaddress.IPv6Address("2001:db8::"),
        ipaddress.IPv6Address("2001:db8::ffff:ffff:ffff:ffff"),
    ) in v6
    assert (
        ipaddress.IPv6Address("2001:db8:1::"),
        ipaddress.IPv6Address("2001:db8:1:ffff:ffff:ffff:ffff:ffff"),
    ) in v6
    mapped_24 = (
        IPV4_MAPPED + int(ipaddress.IPv4Address("192.0.2.0")),
        IPV4_MAPPED + int(ipaddress.IPv4Address("192.0.2.255")),
    )
    assert mapped_24 in found.ranges[6]
    assert found.domains == ["w.test", "i.w.test", "r.w.test"]
    # exists:%{i} names the IP: nothing could be fetched for it ahead.
    assert not any(name.endswith(".x.w.test") for name, _ in server.queries)
