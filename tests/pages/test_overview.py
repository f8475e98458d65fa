"""The Overview page over the sample accounts: a temporary SQLite store, a loopback nameserver with
their domains' DNS, and a DMARC report of this month in the report store."""

from __future__ import annotations

import datetime as dt
import re
import socket
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import admin
from admin.diagnosis import diagnose_account
from desk.resources import demo_reports
from diagnostics.config import ChecksConfig, DnsConfig
from diagnostics.dmarc import Category, ReportStore
from diagnostics.secret import Secret
from diagnostics.smtp import ProbeResult, Security, SmtpSettings, probe
from diagnostics.smtp.codes import Stage
from tests.admin.test_diagnosis import ZONE as SAMPLE_ZONE
from tests.pages.conftest import Configure
from tests.pages.untrusted import rendered

ROOT = Path(__file__).resolve().parents[2]
PAGE = str(ROOT / "pages" / "overview.py")

BAKERY = "bluebird-bakery.example"
SENDGRID_IP = "167.89.1.10"
PLATFORM_IP = "198.51.100.5"

# Bluebird Bakery sends through SendGrid, but its SPF only lists the platform; DKIM is the
# platform's; DMARC p=none. Harbor & Pine's domain is fine for SES bar its DMARC record.
ZONE = {
    BAKERY: {
        "TXT": "v=spf1 include:spf.trekmail.net -all",
        "MX": "10 mx.bluebird-bakery.example.",
    },
    f"mx.{BAKERY}": {"A": "192.0.2.25"},
    f"_dmarc.{BAKERY}": {"TXT": "v=DMARC1; p=none; rua=mailto:dmarc@bluebird-bakery.example"},
    f"trekmail._domainkey.{BAKERY}": {
        "TXT": "v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAu5kq8Jk1"
    },
    "spf.trekmail.net": {"TXT": "v=spf1 ip4:198.51.100.0/24 -all"},
    "sendgrid.net": {"TXT": "v=spf1 ip4:167.89.0.0/17 ip4:149.72.0.0/16 ~all"},
    "harborandpine.example": {
        "TXT": "v=spf1 include:spf.trekmail.net include:amazonses.com -all",
        "MX": "10 mx.harborandpine.example.",
    },
    "mx.harborandpine.example": {"A": "192.0.2.26"},
    "amazonses.com": {"TXT": "v=spf1 ip4:54.240.0.0/18 -all"},
}

REPORT = """<?xml version="1.0" encoding="UTF-8"?>
<feedback>
 <report_metadata>
  <org_name>receiver.example</org_name>
  <email>noreply-dmarc@receiver.example</email>
  <report_id>overview-{begin}</report_id>
  <date_range><begin>{begin}</begin><end>{end}</end></date_range>
 </report_metadata>
 <policy_published>
  <domain>{domain}</domain><adkim>r</adkim><aspf>r</aspf><p>none</p><pct>100</pct>
 </policy_published>
 <record>
  <row>
   <source_ip>{sendgrid}</source_ip><count>120</count>
   <policy_evaluated><disposition>none</disposition><dkim>fail</dkim><spf>fail</spf></policy_evaluated>
  </row>
  <identifiers><header_from>{domain}</header_from></identifiers>
  <auth_results>
   <dkim><domain>sendgrid.net</domain><result>pass</result></dkim>
   <spf><domain>{domain}</domain><result>fail</result></spf>
  </auth_results>
 </record>
 <record>
  <row>
   <source_ip>{platform}</source_ip><count>80</count>
   <policy_evaluated><disposition>none</disposition><dkim>pass</dkim><spf>pass</spf></policy_evaluated>
  </row>
  <identifiers><header_from>{domain}</header_from></identifiers>
  <auth_results>
   <dkim><domain>{domain}</domain><selector>trekmail</selector><result>pass</result></dkim>
   <spf><domain>{domain}</domain><result>pass</result></spf>
  </auth_results>
 </record>
</feedback>
"""


def sample_desk(configure: Configure, nameserver_address: str) -> tuple[admin.Store, ReportStore]:
    """The sample accounts in the test's fresh database, the pages' DNS on `nameserver_address`;
    the admin store and the report store over it (the caller closes both)."""
    config = configure(
        secret_key=Secret(admin.generate_key()), dns=DnsConfig(nameserver_address, timeout=1.0)
    )
    store = admin.Store.from_config(config)
    admin.ensure_sample_data(store)
    return store, ReportStore.from_config(config)


@pytest.fixture
def desk(tmp_path, configure, nameserver):
    """The sample accounts in a fresh database, DNS on loopback, this month's report for the bakery."""
    server = nameserver(ZONE)
    store, reports = sample_desk(configure, server.address)
    end = dt.datetime.now(dt.UTC) - dt.timedelta(days=2)
    begin = end - dt.timedelta(days=1)
    report = tmp_path / f"receiver.example!{BAKERY}!{int(begin.timestamp())}.xml"
    report.write_text(
        REPORT.format(
            begin=int(begin.timestamp()),
            end=int(end.timestamp()),
            domain=BAKERY,
            sendgrid=SENDGRID_IP,
            platform=PLATFORM_IP,
        )
    )
    assert reports.import_paths([report]).files[0].rejected == 0
    yield store, reports, server
    reports.close()
    store.close()


def open_page() -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=30).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def choose_account(at: AppTest, store: admin.Store, name: str) -> AppTest:
    account = next(a for a in store.list_accounts() if a.name == name)
    at.sidebar.selectbox[0].set_value(account.id).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def shown(at: AppTest) -> str:
    """The text of every message, paragraph, caption and code block on the page, as a person
    reads it (the Markdown's escapes resolved)."""
    kinds = (at.markdown, at.caption, at.code, at.success, at.info, at.warning, at.error)
    return "\n".join(rendered(str(element.value)) for kind in kinds for element in kind)


def diagnosis_of(store: admin.Store, reports: ReportStore, server, name: str):
    """The account's one diagnosis, as the page gets it (the same function, the same DNS)."""
    return diagnose_account(store, name, report_store=reports, resolver=server.resolver())


def test_custom_route_domain_tiles_and_the_spf_fix(desk):
    store, reports, server = desk
    at = open_page()  # the first account: Bluebird Bakery on SendGrid
    # Its saved user name is not "apikey" and it was never tested: no green box (finding 8).
    assert not at.success or not any("custom SMTP" in s.value for s in at.success)
    route = [w.value for w in at.warning]
    assert any("custom SMTP" in w and "SendGrid" in w for w in route), route

    expected = diagnosis_of(store, reports, server, "Bluebird Bakery").health
    page = shown(at)
    for part in expected.parts:
        assert part.summary in page, part.name
    # SendGrid's include is advised on the From domain, not required (issue 12): a warning.
    assert expected.spf.status.value == "warning"
    rec = expected.spf_recommendation
    assert rec is not None
    assert "include:sendgrid.net" in rec.record
    assert rec.record in [c.value for c in at.code]
    # Records to publish wrap on a phone's width instead of running out of their box.
    assert all(c.proto.wrap_lines for c in at.code)
    assert any(t.label.startswith("SPF (") for t in at.tabs)
    # Every part has its tile and tab, named as people read it; MX TLS needs the network checks,
    # which are off unless DESK_HEALTH_NETWORK says so, and its tile says it was not checked.
    assert [t.label.split(" (")[0] for t in at.tabs][:9] == [p.label for p in expected.parts]
    assert "Not checked" in page
    assert "MTA_STS" not in page
    # The bakery has set up none of the optional parts: their tiles say so, never a green OK.
    absent = [p for p in expected.parts if p.absent]
    assert {p.name for p in absent} >= {"mta_sts", "tls_rpt", "bimi"}
    badges = [m.value for m in at.markdown if "badge[" in m.value]
    for part in absent:
        [badge] = [b for b in badges if b.startswith(f"**{part.label}**")]
        assert "Not set up" in badge
        assert "OK" not in badge


def test_top_diagnoses_of_the_reports_with_their_records(desk):
    store, reports, server = desk
    at = open_page()
    found = diagnosis_of(store, reports, server, "Bluebird Bakery").reports
    failing = found.to_fix
    compliant = [d for d in found.diagnoses if d.category is Category.COMPLIANT]
    assert failing, found
    assert compliant, found
    page = shown(at)
    codes = [c.value for c in at.code]
    for diagnosis in failing[:3]:
        assert diagnosis.explanation in page
        assert f"{diagnosis.share:.0%} of the mail" in page
        assert diagnosis.category.label in page
        for action in diagnosis.actions:
            for record in action.records:
                assert (record.value in codes) is not record.template, (action.code, record)
            if action.record and not action.records:
                assert action.record in codes
    for diagnosis in compliant:
        assert diagnosis.explanation not in page


def test_paused_account_has_no_domain_to_check(desk):
    store, _, _ = desk
    at = choose_account(open_page(), store, "Cedar Studio")
    assert any("paused" in e.value for e in at.error)
    # Its only connection was deleted: no From address names a domain; the DNS check takes any.
    assert any("no sending domain" in rendered(i.value) for i in at.info)
    assert not [s for s in at.subheader if s.value.startswith("DNS of")]
    links = [str(m.value) for m in at.markdown]
    assert any("(/dns-check)" in m for m in links), links


def test_a_saved_iam_secret_key_is_shown_with_a_test_button_and_no_green_box(desk):
    """Issue 12 finding 8: the live connection's lint error and a "Run test" button, in plain
    words; the box is not green while the settings are wrong."""
    store, _, _ = desk
    at = choose_account(open_page(), store, "Lumen Fitness")
    assert not any("custom SMTP" in s.value for s in at.success)
    errors = [rendered(e.value) for e in at.error]
    assert any(e.startswith("**IAM secret key instead of SES SMTP password**") for e in errors), (
        errors
    )
    assert any(b.label == "Run test" for b in at.button)
    assert any("Not tested yet" in rendered(w.value) for w in at.warning)
    # What a person reads: not the badges' icon names, nor the files and records to publish,
    # whose own syntax has underscores (an MTA-STS policy's max_age).
    prose = "\n".join(
        rendered(str(element.value))
        for kind in (at.markdown, at.caption, at.success, at.info, at.warning, at.error)
        for element in kind
    )
    prose = re.sub(r":material/[a-z_]+:", "", prose)
    assert not re.search(r"\b[a-z]+_[a-z_]+\b", prose), re.findall(r"\b[a-z]+_[a-z_]+\b", prose)


def test_run_test_runs_the_probe_and_the_latest_test_reads_in_plain_words(desk):
    store, _, _ = desk
    at = choose_account(open_page(), store, "Lumen Fitness")
    next(b for b in at.button if b.label == "Run test").click().run()
    assert not at.exception, [e.value for e in at.exception]
    account = next(a for a in store.list_accounts() if a.name == "Lumen Fitness")
    (record,) = store.probe_history(account.id)
    assert not record.ok  # the loopback nameserver knows no SES host
    result = ProbeResult.from_dict(record.result)
    errors = [rendered(e.value) for e in at.error]
    assert any(e.startswith(f"**{result.symptom.label}**") for e in errors), errors
    assert not any("Not tested yet" in rendered(w.value) for w in at.warning)


def test_latest_smtp_test_with_its_explanation_and_fix(desk):
    store, _, _ = desk
    account = next(a for a in store.list_accounts() if a.name == "Lumen Fitness")
    # A real test against a loopback port nobody listens on: refused, with the desk's own words.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = SmtpSettings(
        "127.0.0.1", port, Security.NONE, from_address="classes@lumenfitness.example"
    )
    result = probe(settings, timeout=2)
    assert not result.ok
    assert result.explanation
    store.record_probe(account.id, account.route.connection_id, result)

    at = choose_account(open_page(), store, "Lumen Fitness")
    errors = [rendered(e.value) for e in at.error]
    assert any(result.explanation in e for e in errors), errors
    assert any(e.startswith(f"**{result.symptom.label}** at ") for e in errors), errors
    if result.fix:
        assert any(result.fix in rendered(i.value) for i in at.info)
    links = [str(m.value) for m in at.markdown]
    assert any("(/test-mail)" in m for m in links), links


def test_a_passing_test_says_so_without_its_code(desk):
    """Issue 12 finding 8: never "It works. ok"."""
    store, _, _ = desk
    account = next(a for a in store.list_accounts() if a.name == "Lumen Fitness")
    passed = ProbeResult(
        ok=True,
        stage=Stage.AUTH,
        host="email-smtp.us-east-1.amazonaws.com",
        port=465,
        security="tls",
    )
    store.record_probe(account.id, account.route.connection_id, passed)
    at = choose_account(open_page(), store, "Lumen Fitness")
    said = [rendered(s.value) for s in at.success]
    assert any(s.startswith("**It works.** Every step passed, up to Sign-in") for s in said), said
    assert not any(" ok" in s for s in said), said


def test_a_silent_nameserver_gives_up_with_a_message(desk, configure, nameserver):
    slow = nameserver(ZONE, delay=3.0)
    configure(dns=DnsConfig(slow.address, timeout=5.0), checks=ChecksConfig(timeout=0.5))
    at = open_page()
    said = [rendered(i.value) for i in [*at.info, *at.warning]]
    assert any("did not finish" in w for w in said), said
    assert not [s for s in at.subheader if s.value.startswith("DNS of")]


def test_network_checks_run_when_the_configuration_asks(desk, configure):
    # DESK_HEALTH_NETWORK=on: the MX host (on loopback here) is tested on port 25, so its tile has
    # a verdict; nothing else changes and nothing leaves loopback.
    _, _, server = desk
    server.update({f"mx.{BAKERY}": {"A": "127.0.0.1"}})
    configure(
        dns=DnsConfig(server.address, timeout=1.0),
        checks=ChecksConfig(timeout=10.0, network=True),
    )
    page = shown(open_page())
    assert "Not checked" not in page
    assert "not tested: the network checks are off" not in page
    assert any(
        said in page
        for said in ("no MX host could be reached on port 25", "of 1 MX hosts: STARTTLS")
    ), page


def test_ses_on_its_own_mail_from_asks_for_no_include_and_fills_the_region(
    tmp_path, configure, nameserver
):
    """Issue 12 findings 4 and 5 on the Overview: Harbor & Pine sends through SES with SES's own
    MAIL FROM (SPF passes for amazonses.com, not aligned). The SPF tile asks for no
    include:amazonses.com; the custom MAIL FROM records carry the region of the account's SES
    host, ready to copy; SES's DKIM tokens, which nothing shows the desk, are a marked template
    with nothing to copy."""
    server = nameserver(SAMPLE_ZONE)
    store, reports = sample_desk(configure, server.address)
    try:
        assert not any(
            f.rejected for f in reports.import_files(demo_reports(dt.date.today())).files
        )
        at = choose_account(open_page(), store, "Harbor & Pine Agency")
        codes = [c.value for c in at.code]
        assert not any(
            "include:amazonses.com" in c and c.startswith("v=spf1 include:spf.trek") for c in codes
        )
        spf_tile = next(m.value for m in at.markdown if str(m.value).startswith("**SPF**"))
        assert "Problem" not in spf_tile
        assert "feedback-smtp.eu-west-1.amazonses.com" in " ".join(codes)
        templates = [
            rendered(w.value) for w in at.warning if "Template, not ready to copy" in w.value
        ]
        assert templates
        assert all("<" in t for t in templates)
        assert not any("<" in c for c in codes)
    finally:
        reports.close()
        store.close()
