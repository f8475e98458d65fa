"""The offline data agrees with parsedmarc's own reading of the same files, and our catalogue wins."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from parsedmarc import utils as pm

from diagnostics import providers
from diagnostics.enrich import PROVIDER_SERVICE_TYPE, describe, offline

# Public addresses of well-known networks, IPv4 and IPv6, plus documentation and private ranges.
IPS = [
    "8.8.8.8",
    "54.240.8.1",
    "167.89.0.1",
    "209.61.151.1",
    "40.107.22.1",
    "2a00:1450:4001::1",
    "2a01:111:f400::1",
    "192.0.2.1",
    "10.0.0.1",
    "2001:db8::1",
]


@pytest.mark.parametrize("ip", IPS)
def test_ip_record_matches_parsedmarc(ip):
    theirs = pm.get_ip_address_db_record(ip)
    ours = offline.ip_record(ip)
    assert (ours.asn, ours.as_name, ours.as_domain, ours.country) == (
        theirs["asn"],
        theirs["as_name"],
        theirs["as_domain"],
        theirs["country"],
    )


def test_the_database_knows_public_addresses():
    known = [offline.ip_record(ip) for ip in IPS[:7]]
    assert all(r.asn is not None and r.country for r in known)
    assert offline.ip_record("192.0.2.1") == offline.IpRecord()


@pytest.mark.parametrize(
    "hostname",
    [
        "a8-30.smtp-out.amazonses.com",
        "mail-ej1-f41.google.com",
        "o1.ptr1234.sendgrid.net",
        "host-1.example.co.uk",
        "customer-17-applefibernet.com",
        "Mail.Example.COM.",
        "com",
    ],
)
def test_base_domain_matches_parsedmarc(hostname):
    assert offline.base_domain(hostname) == pm.get_base_domain(hostname.rstrip("."))


def _service_rows() -> dict[str, tuple[str, str]]:
    path = Path(pm.__file__).parent / "resources" / "maps" / "base_reverse_dns_map.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        return {r["base_reverse_dns"]: (r["name"], r["type"]) for r in csv.DictReader(handle)}


def test_service_map_names_a_ptr_our_catalogue_does_not_know():
    rows = _service_rows()
    # Any two-label entry of the map that is not one of our providers will do.
    domain = next(d for d in rows if d.count(".") == 1 and providers.match_ptr(f"x.{d}") is None)
    row = describe("192.0.2.1", f"out-7.{domain}")
    assert row.base_domain == domain
    assert (row.service_name, row.service_type) == rows[domain]


def test_provider_catalogue_wins_over_the_service_map():
    ptr = "a8-30.smtp-out.amazonses.com"
    row = describe("54.240.8.1", ptr)
    assert row.service_name == providers.match_ptr(ptr).name
    assert row.service_type == PROVIDER_SERVICE_TYPE
    assert row.base_domain == "amazonses.com"


def test_without_ptr_the_service_comes_from_the_as_domain():
    record = offline.ip_record("8.8.8.8")
    rows = _service_rows()
    assert record.as_domain in rows
    row = describe("8.8.8.8", None)
    assert row.reverse_dns is None
    assert row.base_domain is None
    assert (row.service_name, row.service_type) == rows[record.as_domain]


def test_unknown_everything_leaves_the_row_empty():
    row = describe("192.0.2.1", "nothing.example")
    assert row.base_domain == "nothing.example"
    assert row.service_name is None
    assert row.asn is None
    assert row.country is None


def test_offline_data_is_loaded_once():
    assert offline._service_map() is offline._service_map()
    assert offline._ip_database() is offline._ip_database()
