"""Canonical, distinct addresses from whatever a caller holds; invalid values refused or set aside."""

from __future__ import annotations

import ipaddress

import dns.reversename
import pandas as pd
import pytest

from diagnostics.enrich import canonical_ip, distinct_ips, split_ips
from diagnostics.enrich.addresses import reverse_pointer
from diagnostics.errors import InvalidInput


def test_same_address_in_other_spellings_is_one_entry_in_first_seen_order():
    values = ["198.51.100.7", "2001:DB8::1", " 198.51.100.7 ", "2001:db8:0:0::1", "192.0.2.1"]
    assert distinct_ips(values) == ("198.51.100.7", "2001:db8::1", "192.0.2.1")


def test_missing_values_are_skipped_not_invalid():
    values = pd.Series(["192.0.2.1", None, pd.NA, "", "  "], dtype="object")
    split = split_ips([*values, float("nan")])
    assert split.valid == ("192.0.2.1",)
    assert split.invalid == ()


def test_invalid_values_are_set_aside_by_split():
    split = split_ips(["192.0.2.1", "not-an-ip", "192.0.2.300", 5, "fe80::1%eth0", "not-an-ip"])
    assert split.valid == ("192.0.2.1",)
    assert split.invalid == ("not-an-ip", "192.0.2.300", "5", "fe80::1%eth0")


def test_distinct_ips_refuses_invalid_values_naming_them():
    bad = [f"host{i}.example" for i in range(7)]
    with pytest.raises(InvalidInput) as caught:
        distinct_ips(["192.0.2.1", *bad])
    message = str(caught.value)
    assert message.startswith("7 values are not an IP address")
    assert "'host0.example'" in message
    assert "and 2 more" in message
    assert "split_ips" in message


def test_canonical_ip_accepts_address_objects():
    assert canonical_ip(ipaddress.ip_address("2001:db8::a")) == "2001:db8::a"
    assert canonical_ip(b"192.0.2.1") is None


@pytest.mark.parametrize("ip", ["192.0.2.1", "2001:db8::1", "::ffff:192.0.2.1"])
def test_reverse_pointer_is_the_ptr_name_dnspython_builds(ip):
    expected = dns.reversename.from_address(ip).to_text(omit_final_dot=True)
    assert reverse_pointer(ip) == expected
