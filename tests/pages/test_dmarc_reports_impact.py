"""Issue 12 findings 6 and 7 on the DMARC reports page. Finding 6: "What to fix" is ranked by
impact (messages failing DMARC, then severity, as admin.diagnosis ranks every surface): a quarter
of the mail from unknown senders comes before two sources passing through SPF only with two
messages each. Finding 7: RFC 9990's disposition `pass` counts as delivered."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import yaml
from streamlit.testing.v1 import AppTest

from diagnostics.config import DatabaseConfig, DnsConfig
from diagnostics.dmarc import ReportStore

ROOT = Path(__file__).resolve().parents[2]
PAGE = str(ROOT / "pages" / "dmarc_reports.py")
PROVIDERS = yaml.safe_load((ROOT / "tests" / "scenarios" / "_providers.yaml").read_text())
DOMAIN = "impact.example"

# (ip, messages, SPF aligned and passing, DKIM aligned and passing)
ROWS = [
    ("203.0.113.7", 2, True, False),  # the platform, SPF only
    ("167.89.20.1", 2, True, False),  # SendGrid, SPF only
    ("198.51.100.40", 27, False, False),  # nobody's: unknown sender, 27% of the mail
    ("203.0.113.8", 69, True, True),  # the platform, compliant
]


def _report() -> bytes:
    begin = int(dt.datetime.combine(dt.date(2026, 11, 2), dt.time(), dt.UTC).timestamp())
    records = ""
    for ip, count, spf, dkim in ROWS:
        verdict = {True: "pass", False: "fail"}
        records += (
            f"<record><row><source_ip>{ip}</source_ip><count>{count}</count><policy_evaluated>"
            f"<disposition>none</disposition><dkim>{verdict[dkim]}</dkim><spf>{verdict[spf]}"
            f"</spf></policy_evaluated></row><identifiers><header_from>{DOMAIN}</header_from>"
            f"</identifiers><auth_results><dkim><domain>{DOMAIN}</domain><selector>s1"
            f"</selector><result>{verdict[dkim]}</result></dkim><spf><domain>{DOMAIN}</domain>"
            f"<result>{verdict[spf]}</result></spf></auth_results></record>"
        )
    return (
        '<?xml version="1.0"?><feedback><report_metadata><org_name>receiver.example</org_name>'
        "<email>r@receiver.example</email><report_id>impact-1</report_id><date_range>"
        f"<begin>{begin}</begin><end>{begin + 86399}</end></date_range></report_metadata>"
        f"<policy_published><domain>{DOMAIN}</domain><p>none</p></policy_published>{records}"
        "</feedback>"
    ).encode()


def test_unknown_senders_come_before_two_small_spf_only_sources(tmp_path, configure, nameserver):
    zone = {
        **PROVIDERS,
        DOMAIN: {"TXT": ["v=spf1 include:spf.trekmail.net include:sendgrid.net -all"]},
    }
    address = f"sqlite:///{tmp_path / 'reports.sqlite'}"
    configure(
        database=DatabaseConfig(address, tmp_path / "data"),
        dns=DnsConfig(nameserver(zone).address, timeout=1.0),
    )
    store = ReportStore(address)
    upload = io.BytesIO(_report())
    upload.name = "receiver.example!impact.example!1.xml"
    assert store.import_files([upload]).ok
    store.close()

    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception, [e.value for e in at.exception]
    texts = [str(m.value) for m in at.markdown]
    unknown = next(i for i, t in enumerate(texts) if "unknown sender**" in t)
    spf_only = [i for i, t in enumerate(texts) if "· Passes through SPF only ·" in t]
    assert len(spf_only) == 2, texts
    assert unknown < min(spf_only), texts


def test_rfc_9990_disposition_pass_counts_as_delivered(tmp_path, configure, nameserver):
    """Issue 12 finding 7 on the page: RFC 9990's disposition `pass` is mail delivered. (The
    library half fixed it; this holds the page to it.)"""
    address = f"sqlite:///{tmp_path / 'reports.sqlite'}"
    configure(
        database=DatabaseConfig(address, tmp_path / "data"),
        dns=DnsConfig(nameserver(PROVIDERS).address, timeout=1.0),
    )
    begin = int(dt.datetime.combine(dt.date(2026, 11, 2), dt.time(), dt.UTC).timestamp())
    rows = [("203.0.113.9", 125, "pass"), ("198.51.100.41", 5, "quarantine")]
    rows.append(("198.51.100.42", 2, "reject"))
    records = "".join(
        f"<record><row><source_ip>{ip}</source_ip><count>{count}</count><policy_evaluated>"
        f"<disposition>{disposition}</disposition><dkim>pass</dkim><spf>pass</spf>"
        f"</policy_evaluated></row><identifiers><header_from>{DOMAIN}</header_from>"
        f"</identifiers><auth_results><spf><domain>{DOMAIN}</domain><result>pass</result>"
        "</spf></auth_results></record>"
        for ip, count, disposition in rows
    )
    xml = (
        '<?xml version="1.0"?><feedback xmlns="urn:ietf:params:xml:ns:dmarc-2.0">'
        "<report_metadata><org_name>receiver.example</org_name><email>r@receiver.example"
        "</email><report_id>rfc9990-1</report_id><date_range>"
        f"<begin>{begin}</begin><end>{begin + 86399}</end></date_range></report_metadata>"
        f"<policy_published><domain>{DOMAIN}</domain><p>reject</p></policy_published>{records}"
        "</feedback>"
    )
    store = ReportStore(address)
    upload = io.BytesIO(xml.encode())
    upload.name = "receiver.example!impact.example!9990.xml"
    assert store.import_files([upload]).ok
    store.close()

    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception, [e.value for e in at.exception]
    sources = next(d.value for d in at.dataframe if "none" in d.value.columns)
    assert int(sources["none"].sum()) == 125  # shown under the heading "Delivered"
    services = next(d.value for d in at.dataframe if "disposition" in d.value.columns)
    assert "delivered 125" in " · ".join(services["disposition"])
