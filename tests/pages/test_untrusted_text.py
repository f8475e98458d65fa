"""Every page shows what strangers wrote as text (issue 10, findings 3 and 4).

Each page is run (AppTest) over real data an attacker controls: reports imported into a real store,
headers pasted, DNS answers from a loopback nameserver, a real SMTP server's replies. Every field
carries tests/support/hostile.py's PAYLOAD (Markdown images, links, HTML, directives, LaTeX,
autolinks, backticks that close a code span). Every string the page hands Streamlit as Markdown is
then read as Streamlit's browser would read it (tests/pages/untrusted.py): nothing naming the
attacker may be live. Hidden characters (a right-to-left override in an org name) must show as
`<U+202E>` markers, in Markdown, in tables and in select options alike.

tests/e2e/test_untrusted.py does the same in Chromium and watches the network.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

import admin
from diagnostics.config import DnsConfig, SmtpConfig
from diagnostics.dmarc import ReportStore
from diagnostics.secret import Secret
from diagnostics.smtp import Security, SmtpSettings, probe
from diagnostics.text import hidden_characters
from tests.pages.untrusted import live, markdown_of, rendered
from tests.support.hostile import ATTACKER, MARKER, PAYLOAD, hostile_headers, hostile_report
from tests.support.smtpserver import Behaviour, SmtpServer

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "dmarc"
DOMAIN = "hostile.example"
RLO = "\u202e"
# "evil" written backwards behind a right-to-left override reads as "live".
REVERSED = f"Receiver {RLO}live{PAYLOAD[:40]}"


def page(name: str) -> AppTest:
    return AppTest.from_file(str(ROOT / "pages" / name), default_timeout=60)


def run(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def assert_shown_as_text(at: AppTest) -> None:
    """The attack reached the page, and nothing of it is live; no hidden character is hidden."""
    sources = markdown_of(at)
    assert any(MARKER in rendered(s) for s in sources), "the payload never reached the page"
    alive = {s[:60]: found for s in sources if (found := live(s, MARKER))}
    assert alive == {}
    hidden = [s[:60] for s in sources if hidden_characters(s.replace("\n", "").replace("\r", ""))]
    assert hidden == []
    for frame in at.dataframe:
        cells = [v for v in frame.value.to_numpy().ravel() if isinstance(v, str)]
        assert [c for c in cells if hidden_characters(c.replace("\n", ""))] == []
    for box in at.selectbox:  # options are plain text: only made visible
        assert [x for x in box.options if hidden_characters(x)] == []


# ---- DMARC reports ---------------------------------------------------------------------------


def failure_report() -> bytes:
    raw = (DATA / "failure" / "dmarc_ruf_report_linkedin.eml").read_bytes()
    raw = raw.replace(b"Reported-Domain: example.com", f"Reported-Domain: {DOMAIN}".encode())
    # Its subject, source and identities: the sender's words.
    return raw.replace(b"Subject:", f"Subject: {RLO}{PAYLOAD} ".encode(), 1)


def tls_report() -> bytes:
    document = json.loads((DATA / "smtp_tls" / "rfc8460.json").read_bytes())
    document["organization-name"] = f"{RLO}{PAYLOAD}"
    document["contact-info"] = PAYLOAD
    document["policies"][0]["policy"]["policy-domain"] = DOMAIN
    document["policies"][0]["policy"]["mx-host"] = PAYLOAD
    return json.dumps(document).encode()


@pytest.fixture
def reports(configure) -> ReportStore:
    store = ReportStore.from_config(configure())
    day = dt.date(2026, 11, 1)
    summary = store.import_files(
        [
            hostile_report(DOMAIN, day, report_id="hostile-1"),
            hostile_report(DOMAIN, day, report_id="hostile-2", org_name=REVERSED),
            hostile_report("b\u00fccher.example", day, report_id="unicode", org_name="idn.example"),
            failure_report(),
            tls_report(),
        ]
    )
    assert summary.ok, summary.lines()
    yield store
    store.close()


def test_dmarc_reports_page_shows_every_report_field_as_text(reports: ReportStore) -> None:
    at = run(page("dmarc_reports.py"))
    assert at.selectbox(key="dmarc_domain").value == DOMAIN
    # A Unicode domain is listed by the name receivers use, its Unicode form beside it.
    labels = at.selectbox(key="dmarc_domain").options
    assert any(x.startswith("xn--bcher-kva.example (b\u00fccher.example) (") for x in labels), (
        labels
    )
    # Each report of the domain in turn: its receiver's name, address, policy, errors, records.
    for index in range(len(at.selectbox(key="dmarc_report").options)):
        at.selectbox(key="dmarc_report").select_index(index)
        run(at)
        assert_shown_as_text(at)
    assert any("<U+202E>live" in rendered(s) for s in markdown_of(at)), "the override is not shown"
    assert any("<U+202E>" in o for o in at.selectbox(key="dmarc_report").options)
    for toggle in ("dmarc_failure_all", "dmarc_tls_all"):
        at.toggle(key=toggle).set_value(True)
    run(at)
    assert_shown_as_text(at)
    tables = "\n".join(frame.value.to_csv() for frame in at.dataframe)
    assert "<U+202E>" in tables  # the failure report's subject and the TLS report's organisation
    assert ATTACKER in tables


def test_the_import_summary_shows_file_names_and_reasons_as_text(reports: ReportStore) -> None:
    at = run(page("dmarc_reports.py"))
    name = f"![x](http://{ATTACKER}/name.png) :red[{ATTACKER}] {RLO}.xml"
    lookalike = hostile_report("inje\u200bct.example", report_id="lookalike")
    at.file_uploader[0].set_value([(name, lookalike, "application/xml")])
    run(at)
    next(b for b in at.button if b.label == "Import").click()
    run(at)
    summary = "\n".join(c.value for c in at.code)
    assert "U+200B ZERO WIDTH SPACE" in summary  # refused, and why
    assert "<U+202E>" in summary
    assert_shown_as_text(at)
    assert all("inject" not in o for o in at.selectbox(key="dmarc_domain").options)


# ---- Overview -------------------------------------------------------------------------------

BAKERY = "bluebird-bakery.example"
ZONE = {
    # DNS is anyone's: a record with the payload in its terms, a DMARC record quoting it.
    BAKERY: {"TXT": f"v=spf1 include:spf.trekmail.net {PAYLOAD} -all"},
    f"_dmarc.{BAKERY}": {"TXT": f"v=DMARC1; p=none; rua=mailto:{PAYLOAD}"},
    f"trekmail._domainkey.{BAKERY}": {"TXT": f"v=DKIM1; k=rsa; p={PAYLOAD}"},
    "spf.trekmail.net": {"TXT": "v=spf1 ip4:198.51.100.0/24 -all"},
    "sendgrid.net": {"TXT": "v=spf1 ip4:167.89.0.0/17 ~all"},
}


def _refused_login(reply: str) -> Any:
    """A real SMTP test against a loopback server whose refusal repeats the payload."""
    server = SmtpServer(Behaviour(login_refusal=reply)).start()
    try:
        settings = SmtpSettings(
            "127.0.0.1", server.port, Security.NONE, "user", "password", f"a@{BAKERY}"
        )
        return probe(settings, timeout=5, tls_verify=False)
    finally:
        server.stop()


def test_overview_shows_dns_reports_and_provider_replies_as_text(configure, nameserver) -> None:
    config = configure(
        secret_key=Secret(admin.generate_key()), dns=DnsConfig(nameserver(ZONE).address, 1.0)
    )
    store = admin.Store.from_config(config)
    admin.ensure_sample_data(store)
    reports = ReportStore.from_config(config)
    recent = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=2)
    assert reports.import_files([hostile_report(BAKERY, recent, report_id="o1")]).ok
    account = next(a for a in store.list_accounts() if a.name == "Bluebird Bakery")
    result = _refused_login(f"535 5.7.8 {PAYLOAD}")
    assert not result.ok
    store.record_probe(account.id, account.route.connection_id, result)
    try:
        at = run(page("overview.py"))
        assert_shown_as_text(at)
        shown = "\n".join(rendered(s) for s in markdown_of(at))
        assert "DNS of bluebird-bakery.example" in shown
        assert "From the DMARC reports" in shown
    finally:
        reports.close()
        store.close()


# ---- Header analyzer -------------------------------------------------------------------------


def test_header_analyzer_shows_every_header_field_as_text() -> None:
    at = run(page("header_analyzer.py"))
    headers = hostile_headers().replace("Evil ", f"Evil {RLO}")
    at.text_area[0].input(headers)
    next(b for b in at.button if b.label == "Analyze").click()
    run(at)
    assert_shown_as_text(at)
    # The authserv-id's backticks do not end the code span it is shown in.
    caption = next(c.value for c in at.caption if "judged by" in c.value)
    assert live(caption, MARKER) == []
    assert f"mx.receiver.example`![x](http://{ATTACKER}/authserv.png)`" in rendered(caption)
    assert RLO not in json.dumps(at.json[0].value, ensure_ascii=False)


# ---- DNS check ---------------------------------------------------------------------------------


def test_dns_check_shows_records_and_explanations_as_text(nameserver, configure) -> None:
    zone = {
        DOMAIN: {"TXT": f"v=spf1 include:spf.trekmail.net {PAYLOAD[:200]} exp=exp.{DOMAIN} -all"},
        f"exp.{DOMAIN}": {"TXT": PAYLOAD},  # the domain's own words when SPF fails
        "spf.trekmail.net": {"TXT": "v=spf1 ip4:198.51.100.0/24 -all"},
        "sendgrid.net": {"TXT": "v=spf1 ip4:167.89.0.0/17 ~all"},
    }
    configure(dns=DnsConfig(nameserver(zone).address, timeout=1.0))
    at = run(page("dns_check.py"))
    at.text_input[0].input(DOMAIN)
    at.multiselect[0].set_value(["trekmail", "sendgrid"])
    at.text_input[1].input("203.0.113.9")
    at.button[0].click()
    run(at)
    assert_shown_as_text(at)


# ---- Test mail and SMTP settings ---------------------------------------------------------------


def test_test_mail_and_smtp_settings_show_provider_replies_and_labels_as_text(
    configure,
) -> None:
    config = configure(secret_key=Secret(admin.generate_key()), smtp=SmtpConfig(timeout=5.0))
    server = SmtpServer(Behaviour(login_refusal=f"535 5.7.8 {PAYLOAD}")).start()
    store = admin.Store.from_config(config)
    try:
        # The account's name is the desk's own (the sidebar's picker is not this page's).
        account = store.create_account("Evil Corp", "nano")
        settings = SmtpSettings(
            "127.0.0.1", server.port, Security.NONE, "user", "password", "orders@bluebird.example"
        )
        store.add_connection(account.id, settings, f"Relay {PAYLOAD[:60]}")
        at = run(page("test_mail.py"))
        next(b for b in at.button if b.label == "Check connection").click()
        run(at)
        shown = "\n".join(rendered(s) for s in markdown_of(at))
        assert ATTACKER in shown  # the provider's reply is on the page, as text
        assert_shown_as_text(at)
        at = run(page("smtp_settings.py"))
        assert_shown_as_text(at)
    finally:
        store.close()
        server.stop()


def test_the_checks_above_can_fail() -> None:
    """What the assertions would say of a page that put a value in Markdown as it is."""
    frame = pd.DataFrame({"org": [f"{RLO}evil"]})
    assert hidden_characters(frame["org"][0])
    assert live(f"From **{PAYLOAD}**", MARKER)
    assert live(f"policy `none`{PAYLOAD}`", MARKER)
