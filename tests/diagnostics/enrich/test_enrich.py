"""`enrich` against a real nameserver on loopback: PTR names, timeouts, concurrency, cache, offline."""

from __future__ import annotations

import asyncio
import time

import pandas as pd
import pytest

from diagnostics import providers
from diagnostics.enrich import (
    COLUMNS,
    PROVIDER_SERVICE_TYPE,
    EnrichmentCache,
    MemoryCache,
    describe,
    enrich,
    enrich_async,
)
from diagnostics.enrich.addresses import reverse_pointer
from diagnostics.errors import InvalidInput

SES = ("54.240.8.1", "a8-1.smtp-out.amazonses.com")
SENDGRID = ("167.89.0.1", "o1.ptr7.sendgrid.net")
GOOGLE6 = ("2a00:1450:4001::1a", "mail-ej1-f26.google.com")
NO_PTR = "198.51.100.9"  # NXDOMAIN
SLOW = "8.8.4.4"  # never answered (a real network, so the IP database knows it)

ZONE = {
    reverse_pointer(SES[0]): {"PTR": SES[1]},
    reverse_pointer(SENDGRID[0]): {"PTR": SENDGRID[1]},
    reverse_pointer(GOOGLE6[0]): {"PTR": GOOGLE6[1]},
    reverse_pointer(SLOW): {"PTR": "TIMEOUT"},
}


@pytest.fixture
def ns(nameserver):
    return nameserver(ZONE)


def test_one_row_per_distinct_ip_in_first_seen_order(ns):
    resolver = ns.resolver(cache=False)
    ips = [SENDGRID[0], SES[0], SENDGRID[0], GOOGLE6[0].upper(), NO_PTR, SES[0]]
    table = enrich(ips, resolver=resolver)
    assert tuple(table.columns) == COLUMNS
    assert list(table["ip"]) == [SENDGRID[0], SES[0], GOOGLE6[0], NO_PTR]
    assert list(table["reverse_dns"].fillna("-")) == [SENDGRID[1], SES[1], GOOGLE6[1], "-"]
    # Each distinct address asked once, under its reverse name.
    assert sorted(q for q, _ in ns.queries) == sorted(reverse_pointer(ip) for ip in table["ip"])
    assert resolver.queries_sent == 4


def test_rows_agree_with_describe_over_the_ptr_name(ns):
    table = enrich([SES[0], GOOGLE6[0], NO_PTR], resolver=ns.resolver())
    for record, (ip, ptr) in zip(
        table.itertuples(index=False), [SES, GOOGLE6, (NO_PTR, None)], strict=True
    ):
        expected = describe(ip, ptr)
        got = {c: (None if pd.isna(v) else v) for c, v in zip(COLUMNS, record, strict=True)}
        assert got == {c: getattr(expected, c) for c in COLUMNS}
    ses = table.iloc[0]
    assert ses["service_name"] == providers.get("ses").name
    assert ses["service_type"] == PROVIDER_SERVICE_TYPE
    assert ses["base_domain"] == "amazonses.com"


def test_ipv6_ptr_is_asked_under_ip6_arpa(ns):
    table = enrich([GOOGLE6[0]], resolver=ns.resolver())
    assert table.loc[0, "reverse_dns"] == GOOGLE6[1]
    assert ns.queries == [(reverse_pointer(GOOGLE6[0]), "PTR")]
    assert ns.queries[0][0].endswith(".ip6.arpa")


def test_a_timeout_leaves_reverse_dns_empty_and_the_batch_completes(ns):
    resolver = ns.resolver(timeout=0.3, cache=False)
    started = time.monotonic()
    table = enrich([SLOW, SES[0]], resolver=resolver)
    assert time.monotonic() - started < 2.0
    assert pd.isna(table.loc[0, "reverse_dns"])
    assert table.loc[1, "reverse_dns"] == SES[1]
    # The offline data still serves the address whose PTR timed out.
    offline_only = describe(SLOW, None)
    assert offline_only.asn is not None
    assert table.loc[0, "asn"] == offline_only.asn
    assert table.loc[0, "country"] == offline_only.country


def test_lookups_run_concurrently(nameserver):
    delay = 0.2
    ips = [f"192.0.2.{i}" for i in range(1, 31)]
    ns = nameserver(
        {reverse_pointer(ip): {"PTR": f"h{i}.example"} for i, ip in enumerate(ips)}, delay=delay
    )
    started = time.monotonic()
    table = enrich(ips, resolver=ns.resolver(cache=False))
    elapsed = time.monotonic() - started
    assert list(table["reverse_dns"]) == [f"h{i}.example" for i in range(30)]
    # One after the other this is 30 x 0.2 s = 6 s; concurrently it is about one delay.
    assert elapsed < 4 * delay, elapsed


def test_concurrency_bounds_lookups_in_flight(nameserver):
    delay = 0.15
    ips = [f"192.0.2.{i}" for i in range(1, 7)]
    ns = nameserver({}, delay=delay)
    started = time.monotonic()
    table = enrich(ips, resolver=ns.resolver(cache=False), concurrency=2)
    elapsed = time.monotonic() - started
    assert table["reverse_dns"].isna().all()
    # Six look-ups, two at a time: three rounds of one delay each.
    assert elapsed >= 3 * delay * 0.95, elapsed
    assert len(ns.queries) == 6


def test_warm_cache_sends_no_dns(ns):
    resolver = ns.resolver(cache=False)  # the resolver's own cache must not be what saves the DNS
    cache = MemoryCache()
    ips = [SES[0], SENDGRID[0], NO_PTR, GOOGLE6[0]]
    first = enrich(ips, resolver=resolver, cache=cache)
    sent = resolver.queries_sent
    assert sent == 4
    assert len(cache) == 4
    second = enrich(reversed(ips), resolver=resolver, cache=cache)
    assert resolver.queries_sent == sent
    pd.testing.assert_frame_equal(
        second, first.iloc[::-1].reset_index(drop=True), check_index_type=False
    )


def test_timeouts_are_not_cached_and_are_asked_again(ns):
    resolver = ns.resolver(timeout=0.3, cache=False)
    cache = MemoryCache()
    enrich([SLOW, SES[0]], resolver=resolver, cache=cache)
    assert set(cache.get_many([SLOW, SES[0]])) == {SES[0]}
    before = resolver.queries_sent
    enrich([SLOW, SES[0]], resolver=resolver, cache=cache)
    assert resolver.queries_sent == before + 1
    assert ns.queries.count((reverse_pointer(SES[0]), "PTR")) == 1


def test_cached_rows_expire():
    now = [1000.0]
    cache = MemoryCache(clock=lambda: now[0])
    row = describe(SES[0], SES[1])
    cache.put_many([row], ttl=60)
    assert cache.get_many([SES[0], NO_PTR]) == {SES[0]: row}
    now[0] += 61
    assert cache.get_many([SES[0]]) == {}
    assert len(cache) == 0
    with pytest.raises(InvalidInput):
        cache.put_many([row], ttl=0)


def test_memory_cache_is_an_enrichment_cache():
    assert isinstance(MemoryCache(), EnrichmentCache)


def test_offline_sends_no_dns_and_uses_offline_data(ns):
    resolver = ns.resolver(cache=False)
    table = enrich([SES[0], GOOGLE6[0], NO_PTR], resolver=resolver, offline=True)
    assert resolver.queries_sent == 0
    assert ns.queries == []
    assert table["reverse_dns"].isna().all()
    assert table["base_domain"].isna().all()
    for ip, asn, country in zip(table["ip"], table["asn"], table["country"], strict=True):
        expected = describe(ip, None)
        assert (None if pd.isna(asn) else asn) == expected.asn
        assert (None if pd.isna(country) else country) == expected.country
    assert table["asn"].notna().sum() >= 2  # the IP database knows Amazon's and Google's networks


def test_offline_serves_cached_rows_and_does_not_cache_its_own(ns):
    cache = MemoryCache()
    enrich([SES[0]], resolver=ns.resolver(), cache=cache)
    table = enrich([SES[0], SENDGRID[0]], cache=cache, offline=True)
    assert table.loc[0, "reverse_dns"] == SES[1]
    assert pd.isna(table.loc[1, "reverse_dns"])
    assert set(cache.get_many([SES[0], SENDGRID[0]])) == {SES[0]}


def test_invalid_ip_is_refused_before_any_dns(ns):
    resolver = ns.resolver()
    with pytest.raises(InvalidInput, match=r"'mail\.example\.com'"):
        enrich([SES[0], "mail.example.com"], resolver=resolver)
    assert resolver.queries_sent == 0


@pytest.mark.parametrize("kwargs", [{"concurrency": 0}, {"cache_ttl": -1}])
def test_bad_settings_are_refused(kwargs):
    with pytest.raises(InvalidInput):
        enrich([SES[0]], offline=True, **kwargs)


def test_empty_input_gives_an_empty_table_with_the_columns():
    table = enrich([None, ""], offline=True)
    assert tuple(table.columns) == COLUMNS
    assert len(table) == 0
    assert str(table["asn"].dtype) == "Int64"


def test_a_categorical_dataframe_column_is_accepted(ns):
    records = pd.DataFrame({"source_ip": pd.Categorical([SES[0], SES[0], SENDGRID[0], None])})
    table = enrich(records["source_ip"], resolver=ns.resolver())
    assert list(table["ip"]) == [SES[0], SENDGRID[0]]
    assert str(table["reverse_dns"].dtype) == "string"


async def test_sync_enrich_works_inside_a_running_event_loop(ns):
    asyncio.get_running_loop()  # as in Streamlit or Jupyter
    table = enrich([SES[0]], resolver=ns.resolver())
    assert table.loc[0, "reverse_dns"] == SES[1]


async def test_enrich_async_is_awaitable(ns):
    table = await enrich_async([SENDGRID[0]], resolver=ns.resolver())
    assert table.loc[0, "reverse_dns"] == SENDGRID[1]


def test_ipv4_mapped_ipv6_is_enriched_as_the_ipv4_sender(ns):
    mapped = f"::ffff:{SES[0]}"
    table = enrich([mapped], resolver=ns.resolver())
    assert table.loc[0, "ip"] == mapped
    assert table.loc[0, "reverse_dns"] == SES[1]
    assert ns.queries == [(reverse_pointer(SES[0]), "PTR")]
    assert table.loc[0, "asn"] == describe(SES[0], None).asn
