"""The Overview tells each customer the exact rua= that sends their reports to the desk
(DESK_REPORT_ADDRESSES): their DMARC record with every tag kept and the desk's address added,
filled in and copyable, and the RFC 7489 7.1 record of the report domain."""

from __future__ import annotations

from diagnostics.config import ReportsConfig
from tests.pages.conftest import Configure
from tests.pages.test_overview import BAKERY, choose_account, desk, open_page, shown

__all__ = ["desk"]  # the fixture, shared with test_overview

DESK_ADDRESS = "dmarc-reports@reports.trekmail.net"


def _codes(at) -> list[str]:  # type: ignore[no-untyped-def]
    return [str(c.value) for c in at.code]


def test_the_record_to_publish_keeps_the_customers_tags_and_adds_the_desk(
    desk, configure: Configure
) -> None:
    configure(reports=ReportsConfig(addresses=(DESK_ADDRESS,)))
    at = open_page()  # Bluebird Bakery: p=none, its own rua= already
    codes = _codes(at)
    assert f"v=DMARC1; p=none; rua=mailto:dmarc@{BAKERY},mailto:{DESK_ADDRESS}" in codes, codes
    assert f'{BAKERY}._report._dmarc.reports.trekmail.net TXT "v=DMARC1"' in codes
    text = shown(at)
    assert f"change the TXT record at **_dmarc.{BAKERY}** to:" in text
    assert "*._report._dmarc.reports.trekmail.net" in text


def test_a_domain_without_dmarc_is_given_a_monitoring_record(desk, configure: Configure) -> None:
    store, _, _ = desk
    configure(reports=ReportsConfig(addresses=(DESK_ADDRESS,)))
    at = choose_account(open_page(), store, "Harbor & Pine Agency")
    assert f"v=DMARC1; p=none; rua=mailto:{DESK_ADDRESS}" in _codes(at)
    assert "publish a TXT record at **_dmarc.harborandpine.example** to:" in shown(at)


def test_without_a_report_address_no_record_is_offered(desk) -> None:
    at = open_page()
    assert "No report address is configured (DESK_REPORT_ADDRESSES)" in shown(at)
    assert not [c for c in _codes(at) if "rua=" in c]
