"""`python -m diagnostics explain` over report files and over the store, on a loopback nameserver."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from diagnostics.cli import main
from diagnostics.dmarc import ReportStore
from diagnostics.enrich import describe

PROVIDERS = yaml.safe_load(
    (Path(__file__).resolve().parents[2] / "scenarios" / "_providers.yaml").read_text()
)

# The seed's case: SendGrid sends for seed.example, whose SPF names only the platform.
REPORT = (Path(__file__).resolve().parents[2] / "data" / "seed" / "seed.example.xml").read_text()

SEED_RECORD = "v=spf1 include:spf.trekmail.net include:sendgrid.net -all"


@pytest.fixture
def ns(nameserver):
    zone = {
        **PROVIDERS,
        "seed.example": {"TXT": ["v=spf1 include:spf.trekmail.net -all"]},
        "_dmarc.seed.example": {"TXT": ["v=DMARC1; p=none; rua=mailto:dmarc@seed.example"]},
    }
    return nameserver(zone).address


@pytest.fixture
def report(tmp_path):
    path = tmp_path / "google.com!seed.example!1763942400!1764028799.xml"
    path.write_text(REPORT)
    return path


def test_explains_report_files_with_the_exact_record(ns, report, capsys):
    code = main(["explain", "--domain", "seed.example", str(report), "--nameserver", ns])
    out = capsys.readouterr().out
    assert code == 1  # SendGrid's include is still missing today
    # The category in plain words; its code stays in --json.
    assert "SPF include missing" in out
    assert "spf_include_missing" not in out
    assert SEED_RECORD in out
    assert "DMARC policy" in out


def test_explains_from_the_store_as_json(ns, report, tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'desk.sqlite'}"
    ReportStore(url).import_paths([str(report)])
    code = main(
        ["explain", "--domain", "seed.example", "--database", url, "--nameserver", ns, "--json"]
    )
    document = json.loads(capsys.readouterr().out)
    assert code == 1
    categories = {d["source"]: d["category"] for d in document["diagnoses"]}
    assert categories["SendGrid"] == "spf_include_missing"
    actions = next(d["actions"] for d in document["diagnoses"] if d["source"] == "SendGrid")
    assert actions[0]["code"] == "add_spf_include"
    assert actions[0]["record"] == SEED_RECORD
    # DKIM carries DMARC for every legitimate source, so the next policy step is offered
    assert document["readiness"]["ready"] is True
    # The next step keeps the record's other tags: the reports keep coming.
    assert document["readiness"]["record"] == (
        "v=DMARC1; p=quarantine; rua=mailto:dmarc@seed.example"
    )


def test_no_reports_for_the_domain_exits_2(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'empty.sqlite'}"
    code = main(["explain", "--domain", "nothing.example", "--database", url])
    assert code == 2
    assert "no DMARC report records" in capsys.readouterr().err


def test_bad_since_is_a_plain_error(report, capsys):
    code = main(["explain", "--domain", "seed.example", str(report), "--since", "yesterday-ish"])
    captured = capsys.readouterr()
    assert code == 2
    assert "not a date" in captured.err
    assert "Traceback" not in captured.err


def test_the_store_enrichment_cache_names_what_dns_cannot(nameserver, tmp_path, capsys):
    # sendgrid.net answers SERVFAIL (a CNAME loop), and the sender is outside the catalogue's copy
    # of SendGrid's networks: only the reverse DNS stored in the store's cache names it.
    zone = {
        **PROVIDERS,
        "seed.example": {"TXT": ["v=spf1 include:spf.trekmail.net -all"]},
        "sendgrid.net": {"CNAME": ["loop.test"]},
        "loop.test": {"CNAME": ["sendgrid.net"]},
    }
    ns = nameserver(zone).address
    path = tmp_path / "google.com!seed.example!1763942400!1764028799.xml"
    path.write_text(REPORT.replace("167.89.10.5", "159.183.7.7"))
    url = f"sqlite:///{tmp_path / 'desk.sqlite'}"
    store = ReportStore(url)
    store.import_paths([str(path)])
    command = ["explain", "--domain", "seed.example", "--database", url, "--nameserver", ns]

    main([*command, "--json"])
    before = json.loads(capsys.readouterr().out)
    assert {d["category"] for d in before["diagnoses"]} >= {"undetermined"}

    store.enrichment_cache().put_many([describe("159.183.7.7", "o7.ptr4242.sendgrid.net")], 60)
    code = main(command)
    out = capsys.readouterr().out
    assert code == 1
    assert "SendGrid — SPF include missing" in out
    assert "reverse DNS o7.ptr4242.sendgrid.net" in out
    assert SEED_RECORD in out


def _row(ip: str, count: int, envelope: str, spf: str, selector: str) -> str:
    return f"""<record><row><source_ip>{ip}</source_ip><count>{count}</count>
  <policy_evaluated><disposition>none</disposition><dkim>pass</dkim><spf>fail</spf>
  </policy_evaluated></row>
  <identifiers><envelope_from>{envelope}</envelope_from><header_from>relay.example</header_from>
  </identifiers><auth_results>
  <dkim><domain>relay.example</domain><selector>{selector}</selector><result>pass</result></dkim>
  <spf><domain>{envelope}</domain><result>{spf}</result></spf></auth_results></record>"""


# A Microsoft 365 relay (a selector of no convention) and SES with its own MAIL FROM.
RELAY_REPORT = f"""<?xml version="1.0"?><feedback><report_metadata><org_name>Receiver</org_name>
<email>r@receiver.example</email><report_id>relay-1</report_id>
<date_range><begin>1763942400</begin><end>1764028799</end></date_range></report_metadata>
<policy_published><domain>relay.example</domain><p>none</p></policy_published>
{_row("40.92.4.20", 240, "relay.example", "fail", "k1")}
{_row("54.240.8.30", 500, "amazonses.com", "pass", "r3kdq2ltyckpezmjg4y5clm3f6hjwo2v")}
</feedback>"""


def test_the_accounts_connections_are_evidence(nameserver, tmp_path, capsys):
    zone = {
        **PROVIDERS,
        "relay.example": {
            "TXT": ["v=spf1 include:spf.trekmail.net -all"],
            "MX": ["10 mx.trekmail.net"],
        },
    }
    address = nameserver(zone).address
    path = tmp_path / "receiver!relay.example!1763942400!1764028799.xml"
    path.write_text(RELAY_REPORT)
    base = ["explain", "--domain", "relay.example", str(path), "--nameserver", address]

    assert main(base) == 1  # the reports alone: a forward, and SES passing through DKIM only
    out = capsys.readouterr().out
    assert "Microsoft 365 — Forwarded" in out
    assert "feedback-smtp.<your Amazon SES region>.amazonses.com  (template: fill in" in out

    hosts = ["--host", "smtp.office365.com", "--host", "email-smtp.eu-west-1.amazonaws.com"]
    assert main([*base, *hosts]) == 1
    out = capsys.readouterr().out
    assert "Microsoft 365 — SPF include missing" in out
    assert "Certain: the account sends through Microsoft 365 (smtp.office365.com)" in out
    assert "v=spf1 include:spf.trekmail.net include:spf.protection.outlook.com -all" in out
    assert "mail.relay.example  MX  10 feedback-smtp.eu-west-1.amazonses.com\n" in out
    assert "template" not in out
