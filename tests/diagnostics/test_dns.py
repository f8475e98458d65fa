"""The resolver against a real nameserver on loopback."""

from __future__ import annotations

import asyncio
import time

import pytest

from diagnostics.dns import Resolver, Status, normalize_name, parse_nameserver
from diagnostics.errors import InvalidInput, ResolverError

ZONE = {
    "example.com": {
        "TXT": ["v=spf1 -all", ["first half ", "second half"]],
        "MX": ["10 mx1.example.com", "5 mx0.example.com"],
        "A": ["192.0.2.1"],
        "AAAA": ["2001:db8:0:0::1"],
    },
    "alias.example.com": {"CNAME": "example.com"},
    "sub.parent.example.com": {"A": "192.0.2.7"},
    "1.2.0.192.in-addr.arpa": {"PTR": "Mail.Example.com"},
    "slow.example.com": {"TIMEOUT": True, "A": "192.0.2.5"},
    "big.example.com": {"TXT": [f"record number {i} " + "x" * 200 for i in range(12)]},
    "*.wild.example.com": {"A": "192.0.2.99"},
    "xn--bcher-kva.example": {"A": "192.0.2.8"},
}


@pytest.fixture
def ns(nameserver):
    return nameserver(ZONE)


def test_records_in_text_form(ns):
    r = ns.resolver()
    txt = r.query("example.com", "TXT")
    assert txt.status is Status.OK
    assert sorted(txt.records) == ["first half second half", "v=spf1 -all"]
    assert (b"first half ", b"second half") in txt.strings
    assert r.query("example.com", "MX").mx == [(5, "mx0.example.com"), (10, "mx1.example.com")]
    assert r.query("EXAMPLE.com.", "AAAA").records == ("2001:db8::1",)
    assert r.query("1.2.0.192.in-addr.arpa", "PTR").records == ("mail.example.com",)


def test_void_answers_are_told_apart(ns):
    r = ns.resolver()
    assert r.query("nowhere.example.com", "A").status is Status.NXDOMAIN
    assert r.query("example.com", "PTR").status is Status.NODATA
    # an empty non-terminal exists: no data, not NXDOMAIN
    assert r.query("parent.example.com", "A").status is Status.NODATA
    assert Status.NXDOMAIN.is_void
    assert Status.NODATA.is_void
    assert not Status.TIMEOUT.is_void


def test_cname_followed_and_wildcards(ns):
    r = ns.resolver()
    assert r.query("alias.example.com", "A").records == ("192.0.2.1",)
    assert r.query("anything.wild.example.com", "A").records == ("192.0.2.99",)


def test_large_answer_falls_back_to_tcp(ns):
    answer = ns.resolver().query("big.example.com", "TXT")
    assert answer.status is Status.OK
    assert len(answer.records) == 12


def test_timeout_is_a_value_and_bounded(ns):
    r = ns.resolver(timeout=0.5)
    started = time.monotonic()
    answer = r.query("slow.example.com", "TXT")
    assert answer.status is Status.TIMEOUT
    assert answer.status.is_temporary
    assert time.monotonic() - started < 2.0
    # a type that has records still answers
    assert r.query("slow.example.com", "A").records == ("192.0.2.5",)


def test_cache_and_query_count(ns):
    r = ns.resolver()
    r.query("example.com", "A")
    r.query("example.com", "A")
    r.query("nowhere.example.com", "A")
    r.query("nowhere.example.com", "A")
    assert r.queries_sent == 2
    assert r.cache_hits == 2
    assert len(ns.queries) == 2
    r.clear_cache()
    r.query("example.com", "A")
    assert r.queries_sent == 3


def test_caches_are_per_resolver(ns):
    ns.resolver().query("example.com", "A")
    other = ns.resolver()
    other.query("example.com", "A")
    assert other.queries_sent == 1


def test_async_queries_run_concurrently(nameserver):
    server = nameserver(ZONE, delay=0.2)
    r = server.resolver()

    async def many():
        names = [f"host{i}.wild.example.com" for i in range(20)]
        return await asyncio.gather(*(r.query_async(n, "A") for n in names))

    started = time.monotonic()
    answers = asyncio.run(many())
    assert all(a.records == ("192.0.2.99",) for a in answers)
    assert time.monotonic() - started < 2.0  # 20 x 0.2 s one after another would be 4 s
    assert r.queries_sent == 20


def test_live_zone_update(ns):
    r = ns.resolver(cache=False)
    assert r.query("new.example.com", "TXT").status is Status.NXDOMAIN
    ns.update({"new.example.com": {"TXT": "v=spf1 mx -all"}})
    assert r.query("new.example.com", "TXT").records == ("v=spf1 mx -all",)


def test_bad_names_are_values_not_crashes(ns):
    r = ns.resolver()
    long_label = "a" * 64 + ".example.com"
    answer = r.query(long_label, "A")
    assert answer.status is Status.INVALID_NAME
    assert "63" in (answer.error or "")
    assert r.query("a..example.com", "A").status is Status.INVALID_NAME
    assert r.queries_sent == 0


def test_idn_names_become_punycode(ns):
    assert normalize_name("Bücher.example.") == "xn--bcher-kva.example"
    assert ns.resolver().query("bücher.example", "A").records == ("192.0.2.8",)


def test_zone_file_source(nameserver, tmp_path):
    zone = tmp_path / "zone.test"
    zone.write_text(
        "$ORIGIN zone.test.\n$TTL 300\n"
        "@ IN SOA ns hostmaster 1 3600 600 86400 60\n"
        '@ IN TXT "v=spf1 ip4:192.0.2.0/24 -all"\n'
        "mail IN A 192.0.2.25\n"
    )
    server = nameserver(zone)
    r = server.resolver()
    assert r.query("zone.test", "TXT").records == ("v=spf1 ip4:192.0.2.0/24 -all",)
    assert r.query("mail.zone.test", "A").records == ("192.0.2.25",)


def test_yaml_source(nameserver, tmp_path):
    path = tmp_path / "zone.yaml"
    path.write_text("yaml.test:\n  TXT: ['v=spf1 a -all']\n  A: 192.0.2.3\n")
    r = nameserver(path).resolver()
    assert r.query("yaml.test", "A").records == ("192.0.2.3",)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("127.0.0.1", ("127.0.0.1", 53)),
        ("127.0.0.1:5353", ("127.0.0.1", 5353)),
        ("[::1]:5353", ("::1", 5353)),
        ("::1", ("::1", 53)),
    ],
)
def test_parse_nameserver(spec, expected):
    assert parse_nameserver(spec) == expected


def test_parse_nameserver_rejects_bad_port():
    with pytest.raises(InvalidInput, match="port"):
        parse_nameserver("127.0.0.1:99999")


def test_resolver_needs_a_nameserver():
    with pytest.raises(ResolverError):
        Resolver([])
    with pytest.raises(InvalidInput):
        Resolver(["127.0.0.1"], timeout=0)


def test_the_ad_bit_says_whether_the_resolver_validated(nameserver):
    # The loopback server answers one name as a validating resolver does for a signed zone.
    server = nameserver(
        {"signed.example": {"A": "192.0.2.2", "AD": True}, "plain.example": {"A": "192.0.2.3"}}
    )
    resolver = server.resolver()
    assert resolver.query("signed.example", "A").authenticated is True
    assert resolver.query("plain.example", "A").authenticated is False
    assert asyncio.run(resolver.query_async("signed.example", "A")).authenticated is True
