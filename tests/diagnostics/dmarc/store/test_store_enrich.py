"""Enrichment through the store's cache: PTR look-ups against a loopback nameserver once, then the
by-service view in SQL, and no DNS at all the second time."""

from __future__ import annotations

from diagnostics.dmarc import ReportStore, load_reports
from diagnostics.enrich import enrich
from diagnostics.enrich.addresses import reverse_pointer
from tests.diagnostics.dmarc.conftest import SAMPLES
from tests.diagnostics.dmarc.store.store_fixtures import *  # noqa: F403

# rfc9990-example.net: two records, from these two addresses (see the sample).
REPORT = SAMPLES / "aggregate" / "rfc9990-example.net!example.com!1700000000!1700086399.xml"


def test_enrich_fills_the_store_cache_and_by_service_uses_it(
    store: ReportStore, nameserver
) -> None:
    store.import_paths([REPORT])
    sources = store.by_source("example.com")
    ips = sources["source_ip"].tolist()
    assert len(ips) == 2
    names = {ips[0]: "a8-1.smtp-out.amazonses.com", ips[1]: "o1.ptr7.sendgrid.net"}
    ns = nameserver({reverse_pointer(ip): {"PTR": name} for ip, name in names.items()})

    cache = store.enrichment_cache()
    first = enrich(ips, resolver=ns.resolver(cache=False), cache=cache)
    asked = len(ns.queries)
    assert asked == 2
    assert dict(zip(first["ip"], first["reverse_dns"], strict=True)) == names

    again = enrich(ips, resolver=ns.resolver(cache=False), cache=store.enrichment_cache())
    assert len(ns.queries) == asked  # every row came from the database
    assert again.equals(first)

    services = store.by_service("example.com")
    by_name = dict(zip(first["service_name"], first["ip"], strict=True))
    assert set(services["service_name"]) == set(by_name)
    for row in services.itertuples():
        sent = sources.loc[sources["source_ip"] == by_name[row.service_name], "messages"].sum()
        assert row.messages == sent
        assert row.ips == 1
    with_names = store.by_source("example.com").set_index("source_ip")
    assert with_names["reverse_dns"].to_dict() == names
    assert len(load_reports([REPORT]).records) == 2
