"""Dispositions summed by the store: RFC 9990's `pass` is mail delivered, as `none` is.

The bug: 132 messages shown as "delivered 7 · rejected 2", because 123 messages a receiver reported
with disposition `pass` (RFC 9990, where DMARC passed) were neither delivered nor rejected.
"""

from __future__ import annotations

from diagnostics.dmarc.store import ReportStore
from tests.diagnostics.dmarc.store.store_fixtures import *  # noqa: F403


def _row(ip: str, count: int, disposition: str, dmarc: str) -> str:
    return f"""
  <record>
    <row>
      <source_ip>{ip}</source_ip>
      <count>{count}</count>
      <policy_evaluated><disposition>{disposition}</disposition><dkim>{dmarc}</dkim>
        <spf>fail</spf></policy_evaluated>
    </row>
    <identifiers><envelope_from>example.com</envelope_from>
      <header_from>example.com</header_from></identifiers>
    <auth_results>
      <dkim><domain>example.com</domain><result>{dmarc}</result><selector>s1</selector></dkim>
      <spf><domain>example.com</domain><result>fail</result></spf>
    </auth_results>
  </record>"""


# One RFC 9990 report: 123 messages that passed (disposition pass), 7 that a p=none policy let
# through, 2 rejected; the 123 and the 7 come from the same address.
REPORT = f"""<feedback xmlns="urn:ietf:params:xml:ns:dmarc-2.0">
  <version>1.0</version>
  <report_metadata>
    <org_name>Receiver</org_name><email>r@receiver.example</email>
    <report_id>dispositions-1</report_id>
    <date_range><begin>1700000000</begin><end>1700086399</end></date_range>
  </report_metadata>
  <policy_published><domain>example.com</domain><p>reject</p><testing>n</testing>
    <discovery_method>treewalk</discovery_method></policy_published>
  {_row("192.0.2.10", 123, "pass", "pass")}
  {_row("192.0.2.10", 7, "none", "fail")}
  {_row("198.51.100.9", 2, "reject", "fail")}
</feedback>
""".encode()


def test_disposition_pass_counts_as_delivered(store: ReportStore) -> None:
    summary = store.import_files([REPORT])
    assert summary.imported == 1

    sources = store.by_source("example.com").set_index("source_ip")
    assert sources.loc["192.0.2.10", "messages"] == 130
    assert sources.loc["192.0.2.10", "delivered"] == 130  # 123 passed + 7 let through
    assert sources.loc["198.51.100.9", "delivered"] == 0
    assert sources.loc["198.51.100.9", "reject"] == 2
    # `none` is the same count under its earlier name, for callers not yet moved to `delivered`.
    assert sources["none"].tolist() == sources["delivered"].tolist()
    # Every message is delivered, quarantined or rejected: nothing falls between.
    counted = sources["delivered"] + sources["quarantine"] + sources["reject"]
    assert counted.tolist() == sources["messages"].tolist()

    services = store.by_service("example.com")
    assert services["delivered"].sum() == 130
    assert services["reject"].sum() == 2
    assert (services["delivered"] + services["quarantine"] + services["reject"]).sum() == 132
