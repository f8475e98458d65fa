"""The DNS check page against a loopback nameserver, as an admin would use it."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from diagnostics.config import DnsConfig

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "dns_check.py")

BAKERY = "bluebird-bakery.example"
WITH_PLATFORM = "v=spf1 include:spf.trekmail.net include:sendgrid.net -all"
ZONE = {
    BAKERY: {"MX": "10 mx.trekmail.net."},  # no SPF record readable (issue 12, finding 1)
    "example.com": {"TXT": "v=spf1 include:spf.trekmail.net -all"},
    "spf.trekmail.net": {"TXT": "v=spf1 ip4:198.51.100.0/24 -all"},
    "sendgrid.net": {"TXT": "v=spf1 ip4:167.89.0.0/17 ip4:149.72.0.0/16 ~all"},
    "broken.example": {"TXT": ["v=spf1 include:spf.trekmail.net", "v=spf1 -all"]},
}


@pytest.fixture
def page(nameserver, configure):
    configure(dns=DnsConfig(nameserver(ZONE).address, timeout=1.0))
    return AppTest.from_file(PAGE, default_timeout=30).run()


def test_recommends_the_seed_record(page):
    page.text_input[0].input("example.com")
    page.multiselect[0].set_value(["trekmail", "sendgrid"])
    page.button[0].click().run()
    assert not page.exception
    codes = [c.value for c in page.code]
    assert "v=spf1 include:spf.trekmail.net -all" in codes
    assert "v=spf1 include:spf.trekmail.net include:sendgrid.net -all" in codes
    # The record to publish wraps on a phone's width instead of running out of its box.
    assert all(c.proto.wrap_lines for c in page.code)
    assert any("example.com" in m.value for m in page.markdown)


def test_ip_test_shows_verdict_and_trace(page):
    page.text_input[0].input("example.com")
    page.text_input[1].input("203.0.113.9")
    page.button[0].click().run()
    assert not page.exception
    assert any("fail" in e.value for e in page.error)
    assert page.dataframe, "the trace table is missing"


def test_multiple_records_is_a_finding_not_a_crash(page):
    page.text_input[0].input("broken.example")
    page.button[0].click().run()
    assert not page.exception
    assert any("More than one record" in e.value for e in page.error)


@pytest.mark.parametrize("bad", ["exa mple.com", "a" * 64 + ".com", "nowhere.example"])
def test_bad_domains_get_a_plain_message(page, bad):
    page.text_input[0].input(bad)
    page.button[0].click().run()
    assert not page.exception
    shown = " ".join(x.value for x in [*page.error, *page.warning, *page.info])
    assert shown, "nothing told the user what happened"


def test_a_platform_domain_without_spf_keeps_the_platform_include(page):
    """Issue 12 finding 1: SendGrid alone chosen for a domain with no SPF record; the record to
    publish keeps the platform's include, unless the domain is said not to be on the platform."""
    page.text_input[0].input(BAKERY)
    page.multiselect[0].set_value(["sendgrid"])
    page.button[0].click().run()
    assert not page.exception
    codes = [c.value for c in page.code]
    assert WITH_PLATFORM in codes
    assert "v=spf1 include:sendgrid.net -all" not in codes

    page.checkbox[0].check()
    page.button[0].click().run()
    assert not page.exception
    codes = [c.value for c in page.code]
    assert "v=spf1 include:sendgrid.net -all" in codes
    assert WITH_PLATFORM not in codes


def test_a_provider_not_authorized_is_never_no_problems(page):
    """Issue 12 finding 2: the chosen provider missing from the record is a problem counted and
    shown, never "Problems 0 / No problems found"."""
    page.text_input[0].input("example.com")
    page.multiselect[0].set_value(["sendgrid"])
    page.button[0].click().run()
    assert not page.exception
    problems = next(m for m in page.metric if m.label == "Problems")
    assert int(problems.value) >= 1
    assert not any("No problems found" in s.value for s in page.success)
    said = " ".join(str(x.value) for x in [*page.warning, *page.error])
    assert "include:sendgrid.net" in said
