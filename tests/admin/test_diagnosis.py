"""One account's diagnosis (admin.diagnosis, issue 12 part B), on SQLite and PostgreSQL, against a
loopback nameserver serving the sample domains and the providers' SPF records: the route, each
connection's lint and latest test in plain words, health for the providers actually configured
and the platform, the reports explained with the connections as evidence, ranked by impact, the
one SPF record (platform kept) and the other records filled from what the account says."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy.engine import URL

from admin import NotFound, Principal, Role, Store, ensure_sample_data
from admin.diagnosis import by_impact, diagnose_account, failing_dmarc
from admin.sample_reports import sample_reports
from diagnostics.dmarc import ReportStore
from diagnostics.findings import Severity
from diagnostics.smtp.codes import Hint, Stage, Symptom
from diagnostics.smtp.result import ProbeResult
from tests.support.nameserver import LoopbackNameserver

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
PROVIDERS = yaml.safe_load((SCENARIOS / "_providers.yaml").read_text())
# The sample domains as a new user meets them: the bakery has no SPF record at all (finding 1),
# Harbor & Pine authorizes the platform only; both receive mail on the platform.
ZONE: dict[str, Any] = {
    **PROVIDERS,
    "bluebird-bakery.example": {"MX": ["10 mx.trekmail.net"]},
    "harborandpine.example": {
        "TXT": ["v=spf1 include:spf.trekmail.net -all"],
        "MX": ["10 mx.trekmail.net"],
    },
    "_dmarc.harborandpine.example": {"TXT": ["v=DMARC1; p=none"]},
    "mx.trekmail.net": {"A": ["203.0.113.10"]},
}
TODAY = dt.date(2026, 12, 7)
NOW = dt.datetime(2026, 12, 7, 12, tzinfo=dt.UTC)
BAKERY_RECORD = "v=spf1 include:spf.trekmail.net include:sendgrid.net -all"


@pytest.fixture
def reports(db_url: URL) -> Iterator[ReportStore]:
    """The sample accounts' demo reports, in the same database as the admin store (as the app)."""
    store = ReportStore(db_url)
    files = []
    for name, data in sample_reports(TODAY):
        handle = io.BytesIO(data)
        handle.name = name
        files.append(handle)
    store.import_files(files)
    yield store
    store.close()


@pytest.fixture
def samples(store: Store) -> Store:
    assert ensure_sample_data(store)
    return store


@pytest.fixture
def diagnose(
    samples: Store, reports: ReportStore, nameserver: Callable[..., LoopbackNameserver]
) -> Callable[..., Any]:
    server = nameserver(ZONE)

    def run(name: str | int, store: Store | None = None) -> Any:
        return diagnose_account(
            store or samples, name, report_store=reports, resolver=server.resolver(), now=NOW
        )

    return run


def test_a_platform_domain_without_spf_gets_one_record_with_the_platform_and_the_provider(
    diagnose: Callable[..., Any],
) -> None:
    found = diagnose("Bluebird Bakery")
    assert found.route.mode.value == "custom"
    assert found.domain == "bluebird-bakery.example"
    assert found.providers == ("sendgrid",)
    assert found.spf_record is not None
    assert (found.spf_record.name, found.spf_record.value) == (
        "bluebird-bakery.example",
        BAKERY_RECORD,
    )
    # The one record is the health check's, the DNS check's and the reports' alike.
    assert found.health is not None
    assert found.health.spf_recommendation is not None
    assert found.health.spf_recommendation.record == BAKERY_RECORD
    for diagnosis in found.reports.diagnoses:
        for action in diagnosis.actions:
            if action.code == "add_spf_include" and action.record:
                assert action.record == BAKERY_RECORD


def test_each_connection_has_its_lint_and_the_live_one_untested_is_a_problem(
    diagnose: Callable[..., Any],
) -> None:
    found = diagnose("Bluebird Bakery")
    (conn,) = found.connections
    assert conn.active
    assert conn.provider == "sendgrid"
    assert "sendgrid_username_not_apikey" in {f.code for f in conn.findings}
    assert conn.latest_test is None
    codes = [p.code for p in found.problems]
    assert "sendgrid_username_not_apikey" in codes
    assert "connection_untested" in codes
    for problem in found.problems:
        assert "_" not in problem.title, problem  # plain words, the code apart


def test_the_lint_judges_the_saved_password_without_handing_it_out(
    diagnose: Callable[..., Any],
) -> None:
    found = diagnose("Lumen Fitness")
    (conn,) = found.connections
    assert "ses_iam_secret_key" in {f.code for f in conn.findings}
    assert "wJalrXUtnFEMI" not in json.dumps(found.to_json())


def test_the_latest_test_reads_in_plain_words(samples: Store, diagnose: Callable[..., Any]) -> None:
    account = next(a for a in samples.list_accounts() if a.name == "Lumen Fitness")
    result = ProbeResult(
        ok=False,
        stage=Stage.AUTH,
        host="email-smtp.us-east-1.amazonaws.com",
        port=465,
        security="tls",
        symptom=Symptom.AUTH_FAILED,
        explanation="The server refused the user name and password.",
        fix="Create SMTP credentials in the SES console.",
        hints=(Hint.SES_IAM_KEY_USED,),
    )
    samples.record_probe(account.id, account.route.connection_id, result)
    test = diagnose(account.id).connections[0].latest_test
    assert (test.ok, test.code, test.title, test.stage) == (
        False,
        "auth_failed",
        "Authentication failed",
        "Sign-in",
    )
    assert test.causes == ("IAM key used instead of SES SMTP credentials",)
    assert test.cause_codes == ("ses_iam_key_used",)
    problem = next(p for p in diagnose(account.id).problems if p.area == "test")
    assert problem.title == "Latest test: Authentication failed at Sign-in"

    samples.record_probe(account.id, account.route.connection_id, {"ok": True, "stage": "data"})
    works = diagnose(account.id).connections[0].latest_test
    assert works.ok
    assert works.title == "It works"
    assert "ok" not in works.explanation.split()


def test_ses_on_its_own_mail_from_gets_filled_records_and_no_include(
    diagnose: Callable[..., Any],
) -> None:
    found = diagnose("Harbor & Pine Agency")
    assert found.providers == ("ses",)  # Mailgun sends as mg.harborandpine.example, not here
    assert found.categories == ("dkim_not_aligned",)
    assert found.spf_record is None  # the platform is authorized; SES is never asked for
    values = [r.record.value for r in found.other_records]
    assert "feedback-smtp.eu-west-1.amazonses.com" in " ".join(values)
    # The region is the account's (its SES host): filled. SES's DKIM tokens are per account and
    # the reports show only SES's own signature: a template, marked, saying where to find them.
    for record in found.records_to_publish:
        assert not re.search(r"REGION|TOKEN\d", record.value), record
        assert record.template == ("<" in f"{record.name} {record.value}"), record
        assert (record.fill_in is not None) == record.template, record
    mail_from = [r for r in found.other_records if r.reason == "custom_return_path"]
    assert mail_from
    assert not any(r.template for r in mail_from)
    assert "provider_not_authorized" not in {p.code for p in found.problems}


def test_a_paused_account_and_a_managed_one(diagnose: Callable[..., Any]) -> None:
    paused = diagnose("cedar studio")
    assert paused.route.mode.value == "paused"
    assert paused.problems[0].code == "route_paused"
    assert paused.problems[0].severity is Severity.ERROR
    managed = diagnose("Northwind Legal")
    assert managed.route.mode.value == "managed"
    assert managed.domain == ""
    assert managed.health is None
    assert managed.health_note
    assert managed.problems == ()


def test_reports_are_ranked_by_messages_failing_dmarc_then_severity(
    diagnose: Callable[..., Any],
) -> None:
    found = diagnose("Bluebird Bakery")
    ranked = found.reports.diagnoses
    assert list(ranked) == by_impact(ranked)
    failing = [failing_dmarc(d) for d in ranked]
    assert failing == sorted(failing, reverse=True)
    reported = [p for p in found.problems if p.area == "reports"]
    assert [p.failing_dmarc for p in found.problems[: len(reported)]] == sorted(
        (p.failing_dmarc for p in found.problems[: len(reported)]), reverse=True
    )


def test_an_analyst_sees_the_route_without_the_connections(
    samples: Store, diagnose: Callable[..., Any]
) -> None:
    found = diagnose("Bluebird Bakery", samples.as_user(Principal("ann", Role.ANALYST)))
    assert not found.connections_visible
    assert found.connections == ()
    # The domain is named by the connections alone: without them there is nothing to check.
    assert found.route.mode.value == "custom"
    assert found.domain == ""
    assert found.reports.messages == 0
    assert found.problems == ()


def test_json_carries_codes_and_an_unknown_account_is_not_found(
    diagnose: Callable[..., Any],
) -> None:
    data = json.loads(json.dumps(diagnose("Bluebird Bakery").to_json()))
    assert data["plan"] == "nano"
    assert data["route"]["mode"] == "custom"
    assert data["spf_record"]["value"] == BAKERY_RECORD
    assert {p["code"] for p in data["problems"]} >= {"sendgrid_username_not_apikey"}
    assert set(data["categories"]) <= {
        "spf_include_missing",
        "unauthorized",
        "dkim_only",
        "compliant",
    }
    with pytest.raises(NotFound):
        diagnose("No Such Account")
