"""One answer per account, on every surface (issue 12): the sample accounts (admin/sample.py) and
every configured account of the scenario corpus (tests/scenarios, `providers:` / `hosts:`) go
through the Overview, the DNS check and the DMARC reports page (AppTest), `python -m admin
accounts show` (--json and text) and the call the notebook makes (diagnose_account), and each
says the same categories and shows the same records to publish, byte for byte: filled records
offered to copy, templates never.

One database and one loopback nameserver hold them all: each scenario's domain (example.com in
its file) is renamed to one of its own, in its zone and its rows alike, and its report is dated
yesterday, inside the last 30 days the diagnosis reads and the reports page's whole period.
Slow for a page test (about 35 s on the shared 2-core machine: 12 accounts, three pages each, one
session per page; the diagnoses themselves take 0.2 s at most each), as
the one test that holds every surface to the same answer.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from streamlit.testing.v1 import AppTest

import admin
from admin.cli import main as admin_cli
from admin.diagnosis import AccountDiagnosis, diagnose_account
from admin.sample_reports import sample_report_files
from diagnostics import providers as catalogue
from diagnostics.config import DnsConfig
from diagnostics.dmarc import Category, ReportStore
from diagnostics.secret import Secret
from diagnostics.smtp import Security, SmtpSettings
from tests.admin.test_diagnosis import ZONE as SAMPLE_ZONE
from tests.pages.untrusted import rendered

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "tests" / "scenarios"
PAGES = ROOT / "pages"
CONFIGURED = [
    path
    for path in sorted(SCENARIOS.glob("*.yaml"))
    if not path.name.startswith("_")
    and {"providers", "hosts"} & set(yaml.safe_load(path.read_text()))
]
YESTERDAY = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
SAMPLE_ACCOUNTS = [
    "Bluebird Bakery",
    "Northwind Legal",
    "Harbor & Pine Agency",
    "Lumen Fitness",
    "Cedar Studio",
]


def _renamed(path: Path) -> tuple[str, dict[str, Any]]:
    """The scenario with example.com renamed to a domain of its own, everywhere it is written."""
    domain = path.stem.replace("_", "-") + ".example"
    scenario: dict[str, Any] = yaml.safe_load(path.read_text().replace("example.com", domain))
    assert scenario.get("domain", domain) == domain, (
        "every configured scenario is about example.com"
    )
    assert all(name.endswith(domain) for name in scenario["zone"]), "no provider's name overridden"
    return domain, scenario


def _report(domain: str, rows: list[dict[str, Any]], report_id: str) -> bytes:
    """The rows as a receiver's aggregate report of yesterday."""
    begin = int(dt.datetime.combine(YESTERDAY, dt.time(), dt.UTC).timestamp())
    records = []
    for row in rows:
        signatures = zip(
            str(row.get("dkim_domains") or "").split(","),
            str(row.get("dkim_selectors") or "").split(","),
            str(row.get("dkim_results") or "").split(","),
            strict=False,
        )
        dkim = "".join(
            f"<dkim><domain>{d.strip()}</domain><selector>{s.strip()}</selector>"
            f"<result>{r.strip()}</result></dkim>"
            for d, s, r in signatures
            if d.strip()
        )
        reasons = "".join(
            f"<reason><type>{reason.strip()}</reason></type>".replace(
                "</reason></type>", "</type></reason>"
            )
            for reason in str(row.get("override_reasons") or "").split(",")
            if reason.strip()
        )
        records.append(
            f"<record><row><source_ip>{row['source_ip']}</source_ip><count>{row['count']}"
            f"</count><policy_evaluated><disposition>{row.get('disposition', 'none')}"
            f"</disposition><dkim>{row['dkim_aligned']}</dkim><spf>{row['spf_aligned']}</spf>"
            f"{reasons}</policy_evaluated></row><identifiers><header_from>{domain}"
            f"</header_from><envelope_from>{row['envelope_from']}</envelope_from></identifiers>"
            f"<auth_results>{dkim}<spf><domain>{row.get('spf_domain') or row['envelope_from']}"
            f"</domain><result>{row['spf_result']}</result></spf></auth_results></record>"
        )
    return (
        '<?xml version="1.0"?><feedback><report_metadata><org_name>receiver.example</org_name>'
        f"<email>r@receiver.example</email><report_id>{report_id}</report_id><date_range>"
        f"<begin>{begin}</begin><end>{begin + 86399}</end></date_range></report_metadata>"
        f"<policy_published><domain>{domain}</domain><adkim>r</adkim><aspf>r</aspf>"
        f"<p>none</p></policy_published>{''.join(records)}</feedback>"
    ).encode()


def _upload(name: str, data: bytes) -> io.BytesIO:
    handle = io.BytesIO(data)
    handle.name = name
    return handle


def _scenario_account(store: admin.Store, path: Path, domain: str, scenario: dict) -> str:
    """An account configured as the scenario says: a connection per SMTP host, and one with the
    catalogue's example host for a provider no host names, each sending as the domain."""
    name = f"Scenario {path.stem}"
    account = store.create_account(name, "pro")
    hosts = list(scenario.get("hosts", ()))
    named = {p.key for p in map(catalogue.match_host, hosts) if p is not None}
    hosts += [
        catalogue.get(k).example_host for k in scenario.get("providers", ()) if k not in named
    ]
    for host in hosts:
        settings = SmtpSettings(host, 587, Security.STARTTLS, "user", "password", f"mail@{domain}")
        store.add_connection(account.id, settings, label=host, activate=True)
    return name


@pytest.fixture
def desk(configure, nameserver):
    zone = dict(SAMPLE_ZONE)
    files = sample_report_files(dt.datetime.now(dt.UTC).date())
    scenarios = []
    for path in CONFIGURED:
        domain, scenario = _renamed(path)
        zone.update(scenario["zone"])
        files.append(_upload(f"r!{domain}!1.xml", _report(domain, scenario["rows"], path.stem)))
        scenarios.append((path, domain, scenario))
    server = nameserver(zone)
    config = configure(
        secret_key=Secret(admin.generate_key()), dns=DnsConfig(server.address, timeout=1.0)
    )
    store = admin.Store.from_config(config)
    assert admin.ensure_sample_data(store)
    reports = ReportStore.from_config(config)
    assert not any(f.rejected for f in reports.import_files(files).files)
    names = SAMPLE_ACCOUNTS + [_scenario_account(store, *s) for s in scenarios]
    yield store, reports, server, config, names
    reports.close()
    store.close()


class Pages:
    """One session per page, as a person keeps a tab open, switching accounts in the sidebar."""

    def __init__(self, store: admin.Store) -> None:
        self.store = store
        self.open: dict[str, AppTest] = {}

    def show(self, page: str, name: str) -> AppTest:
        at = self.open.get(page)
        if at is None:
            at = self.open[page] = AppTest.from_file(str(PAGES / page), default_timeout=60)
        account = next(a for a in self.store.list_accounts() if a.name == name)
        at.session_state["desk_account_id"] = account.id
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        return at


def _said(at: AppTest) -> str:
    kinds = (at.markdown, at.caption, at.success, at.info, at.warning, at.error)
    parts = [rendered(str(e.value)) for kind in kinds for e in kind]
    return "\n".join(parts + [str(e.label) for e in at.expander])


def _records_offered(at: AppTest, found: AccountDiagnosis) -> None:
    """The account's records to publish: each filled one in a code block to copy, byte for
    byte; a template never is."""
    codes = {c.value for c in at.code}
    for record in found.records_to_publish:
        if record.template:
            assert record.value not in codes, record
        else:
            assert record.value in codes, record


def test_every_surface_gives_the_account_the_same_answer(desk, capsys) -> None:
    store, reports, server, config, names = desk
    assert len(names) == len(SAMPLE_ACCOUNTS) + len(CONFIGURED) >= 12
    with_records = 0
    pages = Pages(store)
    for name in names:
        # The notebook's call.
        found = diagnose_account(store, name, report_store=reports, resolver=server.resolver())
        records = [[r.name, r.rdtype, r.value] for r in found.records_to_publish]
        with_records += bool(records)

        # The command line: codes in --json, the same records; in the text, each record alone.
        assert admin_cli(["accounts", "show", name, "--json"], config=config) == 0
        data = json.loads(capsys.readouterr().out)
        assert data["categories"] == list(found.categories), name
        shown = [data["spf_record"]] if data["spf_record"] else []
        shown += data["other_records"]
        assert [[r["name"], r["type"], r["value"]] for r in shown] == records, name
        assert admin_cli(["accounts", "show", name], config=config) == 0
        lines = [line.strip() for line in capsys.readouterr().out.splitlines()]
        for record in found.records_to_publish:
            if record.template:
                assert any(line.startswith("Template, not ready to copy") for line in lines)
            else:
                assert record.value in lines, (name, record)

        # The Overview: the records, and the worst sources' categories as cards.
        overview = pages.show("overview.py", name)
        _records_offered(overview, found)
        said = _said(overview)
        for diagnosis in found.reports.to_fix[:3]:
            assert f"· {diagnosis.category.label} ·" in said, (name, diagnosis.category)

        # The DNS check, filled in from the account, shows its answer without being asked.
        if found.domain and found.health is not None:
            check = pages.show("dns_check.py", name)
            assert check.text_input[0].value == found.domain
            _records_offered(check, found)

        # The DMARC reports page: the account's domain first, each category and no other.
        if found.reports.messages:
            page = pages.show("dmarc_reports.py", name)
            assert page.selectbox(key="dmarc_domain").value == found.domain
            said = _said(page).lower()
            for category in found.categories:
                assert Category(category).label.lower() in said, (name, category)
            for other in set(Category) - {Category(c) for c in found.categories}:
                assert f"· {other.label.lower()} ·" not in said, (name, other)
            # Every SPF record its cards offer is one of the account's, byte for byte.
            spf = {c.value for c in page.code if c.value.startswith("v=spf1")}
            assert spf <= {r.value for r in found.records_to_publish}, name
    assert with_records >= 6
