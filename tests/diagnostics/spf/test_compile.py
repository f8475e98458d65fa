"""`compile()` against `check_host` on every network edge of trees served by a loopback nameserver.

Each tree is built to exercise one thing that makes compiling hard; the expected verdicts are never
written down here, they are what `check_host` answers for the same IP through the same data.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping
from typing import Any

import pytest

from diagnostics.spf.compile import Authorizer, compile
from diagnostics.spf.evaluate import check_host
from tests.support.nameserver import LoopbackNameserver

StartServer = Callable[..., LoopbackNameserver]

PROVIDERS = {
    "providers.test": {
        "TXT": [
            "v=spf1 include:spf.trekmail.test include:_spf.google.test include:sendgrid.test "
            "include:amazonses.test -all"
        ]
    },
    "spf.trekmail.test": {"TXT": ["v=spf1 ip4:203.0.113.0/24 ip6:2001:db8:7e0::/48 -all"]},
    "_spf.google.test": {
        "TXT": ["v=spf1 include:_netblocks.google.test include:_netblocks2.google.test ~all"]
    },
    "_netblocks.google.test": {
        "TXT": ["v=spf1 ip4:64.233.160.0/19 ip4:74.125.0.0/16 ip4:209.85.128.0/17 ~all"]
    },
    "_netblocks2.google.test": {
        "TXT": ["v=spf1 ip6:2001:4860:4000::/36 ip6:2a00:1450:4000::/36 ~all"]
    },
    "sendgrid.test": {"TXT": ["v=spf1 ip4:167.89.0.0/17 ip4:149.72.0.0/16 ~all"]},
    "amazonses.test": {"TXT": ["v=spf1 ip4:54.240.0.0/18 ip4:199.255.192.0/22 -all"]},
}

# a/mx with both prefix lengths, several MX hosts, a named host; ?all.
A_MX = {
    "amx.test": {
        "TXT": ["v=spf1 a/24//64 mx/28//120 a:host.amx.test/30 ?all"],
        "A": ["90.0.0.10"],
        "AAAA": ["2001:db8:90::10"],
        "MX": ["10 mx1.amx.test", "20 mx2.amx.test"],
    },
    "mx1.amx.test": {"A": ["90.1.0.5"]},
    "mx2.amx.test": {"A": ["90.2.0.7"], "AAAA": ["2001:db8:92::7"]},
    "host.amx.test": {"A": ["90.3.0.3"]},
}

# redirect to a macro target that names only the domain (compiles), an include that softfails,
# and a second record whose redirect is ignored because it has an `all`.
REDIRECT = {
    "redir.test": {"TXT": ["v=spf1 ip4:80.0.0.0/24 redirect=_spf.%{d}"]},
    "_spf.redir.test": {
        "TXT": ["v=spf1 -ip4:80.0.1.0/24 include:inc.redir.test redirect=last.redir.test"]
    },
    "inc.redir.test": {"TXT": ["v=spf1 ip4:80.0.2.0/23 ip6:2001:db8:80::/64 ~all"]},
    "last.redir.test": {"TXT": ["v=spf1 ip4:80.0.4.0/22 ~all redirect=never.redir.test"]},
    "never.redir.test": {"TXT": ["v=spf1 +all"]},
}

# Include results: softfail/neutral/fail inside an include do not match; a missing record is a
# permerror; a record with a syntax error is a permerror.
INCLUDES = {
    "inc.test": {
        "TXT": [
            "v=spf1 include:soft.test include:neutral.test include:failing.test "
            "ip4:100.0.0.0/9 include:broken.test include:norecord.test ~all"
        ]
    },
    "soft.test": {"TXT": ["v=spf1 ip4:100.1.0.0/16 ~all"]},
    "neutral.test": {"TXT": ["v=spf1 ?ip4:100.2.0.0/16 +ip4:100.3.0.0/16"]},
    "failing.test": {"TXT": ["v=spf1 -ip4:100.200.0.0/16 ip4:100.200.0.0/14"]},
    "broken.test": {"TXT": ["v=spf1 ip4:100.250.0.0/16 foo:bar -all"]},
    "norecord.test": {"A": ["192.0.2.1"]},
}

# Crosses 10 look-ups part way, and where depends on the path: an address failed early inside
# gate.test has spent 1 look-up there, one that walks all of gate.test has spent 5.
LIMITS: dict[str, Any] = {
    "limits.test": {
        "TXT": [
            "v=spf1 include:gate.test "
            + " ".join(f"include:p{n}.limits.test" for n in range(1, 10))
            + " -all"
        ]
    },
    "gate.test": {
        "TXT": [
            "v=spf1 -ip4:30.0.0.0/8 "
            + " ".join(f"include:g{n}.limits.test" for n in range(1, 5))
            + " ?all"
        ]
    },
    **{f"g{n}.limits.test": {"TXT": [f"v=spf1 ip4:31.{n}.0.0/16 -all"]} for n in range(1, 5)},
    **{
        f"p{n}.limits.test": {"TXT": [f"v=spf1 ip4:30.{n}.0.0/16 ip4:40.{n}.0.0/16 -all"]}
        for n in range(1, 10)
    },
}

# The third void look-up is a permerror, for the addresses that get that far.
VOID = {
    "void.test": {
        "TXT": [
            "v=spf1 ip4:50.0.0.0/24 a:nx1.void.test ip6:2001:db8:50::/48 mx:nx2.void.test "
            "ip4:50.0.2.0/24 a:nx3.void.test ip4:50.0.3.0/24 -all"
        ]
    },
}

# A DNS timeout deep in the tree, met only by addresses that reach it; an AAAA-only timeout that
# only IPv6 addresses meet.
TIMEOUT = {
    "slow.test": {
        "TXT": [
            "v=spf1 ip4:60.0.0.0/16 include:ok.slow.test a:dual.slow.test "
            "include:deep.slow.test ip4:60.1.0.0/16 -all"
        ]
    },
    "ok.slow.test": {"TXT": ["v=spf1 ip6:2001:db8:60::/48 ~all"]},
    "dual.slow.test": {"A": ["60.3.0.1"], "AAAA": "TIMEOUT"},
    "deep.slow.test": {"TXT": ["v=spf1 ip4:60.2.0.0/16 include:dead.slow.test -all"]},
    "dead.slow.test": {"TXT": "TIMEOUT"},
}

# Terms that name the IP itself: exists:%{i}, ptr, %{i} in a target. Addresses that reach them are
# decided by check_host one by one.
DYNAMIC = {
    "dyn.test": {
        "TXT": [
            "v=spf1 ip4:70.0.0.0/24 exists:%{i}.allow.dyn.test ptr:dyn.test ip4:70.0.1.0/24 "
            "a:%{ir}.addr.dyn.test ~all"
        ]
    },
    "70.0.2.5.allow.dyn.test": {"A": ["127.0.0.2"]},
    "1.3.0.70.in-addr.arpa": {"PTR": ["host.dyn.test"]},
    "host.dyn.test": {"A": ["70.0.3.1"]},
    # Addresses in 70.0.5.0/24 have a PTR name (not in dyn.test): one void look-up fewer.
    "*.5.0.70.in-addr.arpa": {"PTR": ["elsewhere.example"]},
    "9.4.0.70.addr.dyn.test": {"A": ["70.0.4.9"]},
}

TREES: dict[str, Mapping[str, Any]] = {
    "providers.test": PROVIDERS,
    "amx.test": A_MX,
    "redir.test": REDIRECT,
    "inc.test": INCLUDES,
    "limits.test": LIMITS,
    "void.test": VOID,
    "slow.test": TIMEOUT,
    "dyn.test": DYNAMIC,
}

_CIDRS = re.compile(r"(?:^|\s)[+\-~?]?(?:a|mx)(?::[^\s/]*)?(?:/(\d+))?(?://(\d+))?(?=\s|$)")


def edge_ips(zone: Mapping[str, Any]) -> list[str]:
    """First and last address of every network the zone names, and one either side, IPv4 and IPv6,
    and every IPv4 one again as IPv4-mapped IPv6."""
    texts = [t for types in zone.values() for t in types.get("TXT", []) if isinstance(t, str)]
    v4_lengths, v6_lengths = {32}, {128}
    for text in texts:
        for c4, c6 in _CIDRS.findall(text):
            v4_lengths.add(int(c4 or 32))
            v6_lengths.add(int(c6 or 128))
    networks: set[ipaddress.IPv4Network | ipaddress.IPv6Network] = set()
    for text in texts:
        for term in text.split():
            body = term.lstrip("+-~?")
            if body.startswith(("ip4:", "ip6:")):
                networks.add(ipaddress.ip_network(body[4:], strict=False))
    for types in zone.values():
        for rdtype, lengths in (("A", v4_lengths), ("AAAA", v6_lengths)):
            values = types.get(rdtype, [])
            for address in values if isinstance(values, list) else []:
                for length in lengths:
                    networks.add(ipaddress.ip_network(f"{address}/{length}", strict=False))
    edges = {0, (1 << 32) - 1}
    edges6 = {0, (1 << 128) - 1}
    for net in networks:
        first, last = int(net.network_address), int(net.broadcast_address)
        top = (1 << net.max_prefixlen) - 1
        points = {p for p in (first - 1, first, last, last + 1) if 0 <= p <= top}
        (edges if net.version == 4 else edges6).update(points)
    ips = [str(ipaddress.IPv4Address(p)) for p in sorted(edges)]
    ips += [str(ipaddress.IPv6Address(p)) for p in sorted(edges6)]
    ips += [f"::ffff:{ipaddress.IPv4Address(p)}" for p in sorted(edges)]
    return ips


def _expected(server: LoopbackNameserver, domain: str, ips: list[str]) -> list[str]:
    resolver = server.resolver(timeout=0.3)
    return [str(check_host(ip, f"postmaster@{domain}", resolver=resolver).result) for ip in ips]


@pytest.mark.parametrize("domain", list(TREES))
def test_every_edge_matches_check_host(nameserver: StartServer, domain: str) -> None:
    zone = TREES[domain]
    server = nameserver(zone)
    ips = edge_ips(zone)
    authorizer = compile(domain, resolver=server.resolver(timeout=0.3))
    expected = _expected(server, domain, ips)

    assert authorizer.check_many(ips) == expected
    mismatched = [
        (ip, want) for ip, want in zip(ips, expected, strict=True) if authorizer.check(ip) != want
    ]
    assert mismatched == []


def _verdicts(domain: str, server: LoopbackNameserver) -> set[str]:
    ips = edge_ips(TREES[domain])
    return set(_expected(server, domain, ips))


@pytest.mark.parametrize(
    ("domain", "needed"),
    [
        # The trees really are what their comments say, or the test above proves little.
        ("limits.test", {"pass", "fail", "permerror"}),
        ("void.test", {"pass", "permerror"}),
        ("slow.test", {"pass", "temperror"}),
        ("inc.test", {"pass", "permerror"}),
        ("redir.test", {"pass", "fail", "softfail"}),
        ("amx.test", {"pass", "neutral"}),
        ("dyn.test", {"pass", "permerror"}),
    ],
)
def test_trees_reach_the_verdicts_they_are_built_for(
    nameserver: StartServer, domain: str, needed: set[str]
) -> None:
    server = nameserver(TREES[domain])
    assert needed <= _verdicts(domain, server)


def test_lookup_limit_depends_on_the_path(nameserver: StartServer) -> None:
    server = nameserver(LIMITS)
    authorizer = compile("limits.test", resolver=server.resolver())
    # Failed at once inside gate.test (1 look-up there), 30.9.x.x still reaches p9 within 10...
    early, late = "30.9.0.1", "40.9.0.1"
    assert authorizer.check(early) == str(
        check_host(early, "postmaster@limits.test", resolver=server.resolver()).result
    )
    # ...while 40.9.x.x walked all of gate.test and hits the limit before p9.
    assert authorizer.check(early) != authorizer.check(late)


def test_dns_is_asked_once_and_never_again_for_a_static_tree(nameserver: StartServer) -> None:
    server = nameserver(PROVIDERS)
    authorizer = compile("providers.test", resolver=server.resolver())
    asked = list(server.queries)
    assert len(asked) == len(set(asked))
    assert authorizer.stats.undecided == 0
    authorizer.check_many(edge_ips(PROVIDERS))
    assert server.queries == asked


def test_macro_target_naming_only_the_domain_compiles(nameserver: StartServer) -> None:
    server = nameserver(REDIRECT)
    authorizer = compile("redir.test", resolver=server.resolver())
    assert authorizer.stats.undecided == 0


def test_terms_naming_the_ip_fall_back_for_the_addresses_that_reach_them(
    nameserver: StartServer,
) -> None:
    server = nameserver(DYNAMIC)
    authorizer = compile("dyn.test", resolver=server.resolver())
    assert authorizer.stats.undecided > 0
    undecided = [row for row in authorizer.ranges() if row[2] is None]
    decided_first = ipaddress.ip_address("70.0.0.0"), ipaddress.ip_address("70.0.0.255")
    # 70.0.0.0/24 matches before any dynamic term, so it stays compiled.
    assert all(
        not (ipaddress.ip_address(first) <= decided_first[0] <= ipaddress.ip_address(last))
        for first, last, _ in undecided
        if ipaddress.ip_address(first).version == 4
    )
    for ip in ("70.0.2.5", "70.0.3.1", "70.0.4.9", "70.0.2.6", "70.0.5.7", "70.0.4.8"):
        assert authorizer.check(ip) == str(
            check_host(ip, "postmaster@dyn.test", resolver=server.resolver()).result
        )
    assert {authorizer.check(ip) for ip in ("70.0.2.5", "70.0.3.1", "70.0.4.9")} == {"pass"}
    assert authorizer.check("70.0.5.7") != authorizer.check("70.0.4.8")


def test_a_domain_without_spf_is_none_everywhere(nameserver: StartServer) -> None:
    server = nameserver({"plain.test": {"A": ["192.0.2.1"]}})
    authorizer = compile("plain.test", resolver=server.resolver())
    ips = ["192.0.2.1", "0.0.0.0", "2001:db8::1", "::ffff:192.0.2.1"]
    assert authorizer.check_many(ips) == _expected(server, "plain.test", ips)
    assert set(authorizer.check_many(ips)) == {"none"}


def test_two_records_are_a_permerror_everywhere(nameserver: StartServer) -> None:
    server = nameserver({"two.test": {"TXT": ["v=spf1 -all", "v=spf1 +all"]}})
    authorizer = compile("two.test", resolver=server.resolver())
    assert authorizer.check_many(["192.0.2.1", "2001:db8::1"]) == ["permerror", "permerror"]


def test_unusual_spellings_get_check_host_s_own_answer(nameserver: StartServer) -> None:
    server = nameserver(PROVIDERS)
    authorizer = compile("providers.test", resolver=server.resolver())
    for ip in ("2001:DB8:7E0::1", "::FFFF:203.0.113.9", " 203.0.113.9", "203.000.113.9", "bogus"):
        try:
            want: str | type[BaseException] = str(
                check_host(ip, "postmaster@providers.test", resolver=server.resolver()).result
            )
        except Exception as exc:
            want = type(exc)
        if isinstance(want, str):
            assert authorizer.check(ip) == want
            assert authorizer.check_many([ip]) == [want]
        else:
            with pytest.raises(want):
                authorizer.check(ip)


def test_authorizer_repr_is_short(nameserver: StartServer) -> None:
    server = nameserver(PROVIDERS)
    authorizer: Authorizer = compile("providers.test", resolver=server.resolver())
    text = repr(authorizer)
    assert "providers.test" in text
    assert len(text) < 400
