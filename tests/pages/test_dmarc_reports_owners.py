"""The DMARC reports page names an address the same way in its two views: a spoofer in Amazon's
network (outside SES's sending networks) is "Amazon" by "IP owner (offline)" in the Sources table
and an unknown sender with that same owner in the diagnoses' table, while the customer's real SES
address is "Amazon SES" in both the Sources table and its diagnosis."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import yaml
from streamlit.testing.v1 import AppTest

from diagnostics import providers
from diagnostics.config import DnsConfig
from diagnostics.dmarc import ReportStore
from diagnostics.dmarc.explain import NAMED_BY_CATALOGUE, NAMED_BY_OWNER
from diagnostics.enrich import network_owner
from tests.pages.test_dmarc_reports_shared import url

__all__ = ["url"]  # the page's database, a fixture used below

ROOT = Path(__file__).resolve().parents[2]
PAGE = str(ROOT / "pages" / "dmarc_reports.py")
PROVIDERS = yaml.safe_load((ROOT / "tests" / "scenarios" / "_providers.yaml").read_text())
DOMAIN = "spoofed.example"
EC2 = "3.80.10.10"  # Amazon's network in the bundled IPinfo Lite data, outside SES's
SES = "54.240.8.21"  # in SES's published networks


def _record(ip: str, count: int, dkim: str, spf_domain: str, spf: str) -> str:
    return (
        f"<record><row><source_ip>{ip}</source_ip><count>{count}</count><policy_evaluated>"
        f"<disposition>none</disposition><dkim>{dkim}</dkim><spf>fail</spf></policy_evaluated>"
        f"</row><identifiers><header_from>{DOMAIN}</header_from></identifiers><auth_results>"
        f"<dkim><domain>{DOMAIN}</domain><result>{dkim}</result></dkim><spf><domain>{spf_domain}"
        f"</domain><result>{spf}</result></spf></auth_results></record>"
    )


def _report() -> bytes:
    begin = int(dt.datetime(2026, 11, 20, tzinfo=dt.UTC).timestamp())
    records = _record(SES, 420, "pass", "us-east-1.amazonses.com", "pass") + _record(
        EC2, 31, "fail", DOMAIN, "fail"
    )
    return (
        '<?xml version="1.0"?><feedback><report_metadata><org_name>receiver.example</org_name>'
        "<email>r@receiver.example</email><report_id>owners-1</report_id><date_range>"
        f"<begin>{begin}</begin><end>{begin + 86399}</end></date_range></report_metadata>"
        f"<policy_published><domain>{DOMAIN}</domain><p>none</p></policy_published>{records}"
        "</feedback>"
    ).encode()


def test_an_amazon_owned_spoofer_is_named_alike_in_the_card_and_the_sources_table(
    url, nameserver, configure
) -> None:
    owner = network_owner(EC2)
    assert owner is not None
    assert owner.asn is not None
    assert providers.by_asn(owner.asn) == providers.get("ses")  # the confusable case
    spf = "v=spf1 include:spf.trekmail.net include:amazonses.com -all"
    server = nameserver({**PROVIDERS, DOMAIN: {"TXT": [spf]}})
    configure(dns=DnsConfig(server.address, timeout=1.0))
    store = ReportStore(url)
    assert store.import_files([_report()]).ok

    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception, [e.value for e in at.exception]

    card = next(m.value for m in at.markdown if "unknown sender" in m.value)
    assert card.startswith("**1 unknown sender**")
    unknown = next(d.value for d in at.dataframe if "sending IP" in d.value.columns)
    assert list(unknown["sending IP"]) == [EC2]
    assert list(unknown[NAMED_BY_OWNER]) == [owner.name]

    tables = {tuple(d.value.columns[:3]): d.value for d in at.tabs[0].dataframe}
    by_ip = tables[("source_ip", "service", "named_by")].set_index("source_ip")
    assert by_ip.loc[EC2, "service"] == owner.name
    assert by_ip.loc[EC2, "named_by"] == NAMED_BY_OWNER
    # The customer's SES address is not lumped in with the spoofer's network.
    assert by_ip.loc[SES, "service"] == "Amazon SES"
    assert by_ip.loc[SES, "named_by"] == NAMED_BY_CATALOGUE
    services = tables[("service", "ips", "messages")].set_index("service")
    assert services.loc["Amazon SES", "messages"] == 420
    assert services.loc[owner.name, "messages"] == 31
    # And the diagnosis of the real SES mail uses the same name.
    assert any("Amazon SES" in m.value and "DKIM only" in m.value for m in at.markdown), [
        m.value for m in at.markdown
    ]
    store.close()
