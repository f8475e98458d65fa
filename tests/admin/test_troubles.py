"""The support queue's troubles from an account's diagnosis problems and its domain's figures:
each kind found, its thresholds honoured, the worst first, one plain line."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from admin.troubles import (
    QueueEvidence,
    Rule,
    TroubleKind,
    one_line,
    score,
    troubles,
)
from diagnostics.dmarc.trend import DomainTrend

NOW = datetime(2026, 12, 7, tzinfo=UTC)


@dataclass(frozen=True)
class P:
    """A problem as admin.diagnosis.Problem has it (the fields the queue reads)."""

    code: str
    severity: str
    title: str
    area: str
    subject: str = ""
    failing_dmarc: int = 0
    detail: str = ""


def evidence(*problems: P, plan: str = "pro", **kwargs: object) -> QueueEvidence:
    values: dict[str, object] = {
        "account_id": 1,
        "name": "Bluebird Bakery",
        "plan": plan,
        "provider": "sendgrid",
        "domain": "bluebird-bakery.example",
        "problems": problems,
    }
    return QueueEvidence(**(values | kwargs))  # type: ignore[arg-type]


def kinds(found: list) -> list[TroubleKind]:  # type: ignore[type-arg]
    return [t.kind for t in found]


def test_nothing_wrong_is_no_trouble() -> None:
    found = troubles(evidence(P("provider_authorized", "info", "SendGrid is in SPF", "dns")))
    assert found == []
    assert score(found) == 0
    assert one_line(found) == "Nothing needs attention."


def test_each_problem_of_the_diagnosis_is_its_kind_the_worst_first() -> None:
    found = troubles(
        evidence(
            P(
                "sendgrid_username_not_apikey",
                "error",
                "User name is not apikey",
                "connection",
                "SendGrid",
            ),
            P("auth_failed", "error", "Latest test: Authentication failed", "test", "SendGrid"),
            P("too_many_lookups", "warning", "Too many look-ups", "dns"),
            P("provider_not_authorized", "error", "Provider not authorized", "dns"),
            active="SendGrid",
            spf_codes=frozenset({"too_many_lookups", "provider_not_authorized"}),
        )
    )
    assert kinds(found) == [
        TroubleKind.CONNECTION_FAILING,
        TroubleKind.SPF_BROKEN,
        TroubleKind.PROVIDER_MISSING_FROM_SPF,
        TroubleKind.CONNECTION_LINT,
    ]
    assert found[0].line == "Latest test: Authentication failed (connection “SendGrid”)."
    assert one_line(found) == f"{found[0].line} (and 3 other problems)"
    assert score(found) == 80 + 60 + 50 + 30


def test_only_the_live_connection_counts_and_a_dmarc_finding_is_not_spf() -> None:
    found = troubles(
        evidence(
            P("auth_failed", "error", "Latest test: Authentication failed", "test", "Old one"),
            P("iam_key", "error", "IAM key", "connection", "Old one"),
            P("multiple_records", "error", "Multiple records", "dns"),  # DMARC's, not SPF's
            active="SendGrid",
            spf_codes=frozenset(),
        )
    )
    assert found == []


def test_a_paused_nano_account_ranks_first_and_a_lint_warning_is_no_trouble() -> None:
    problems = (
        P("port_25", "warning", "Port 25 is often blocked", "connection", "SendGrid"),
        P(
            "route_paused",
            "error",
            "Outbound mail is paused",
            "route",
            detail="Outbound mail is paused: the last connection was deleted. Add one.",
        ),
    )
    found = troubles(evidence(*problems, plan="nano", active="SendGrid"))
    assert kinds(found) == [TroubleKind.NANO_PAUSED]
    assert found[0].line == "Outbound mail is paused: the last connection was deleted."
    assert troubles(evidence(*problems, plan="pro", active="SendGrid")) == []


def test_a_provider_missing_in_the_reports_needs_its_messages() -> None:
    missing = P(
        "spf_include_missing", "error", "SPF include missing: SendGrid", "reports", "SendGrid", 3
    )
    found = troubles(evidence(missing))
    assert kinds(found) == [TroubleKind.PROVIDER_MISSING_FROM_SPF]
    assert found[0].line == "SPF include missing: SendGrid: 3 messages failing DMARC."
    rules = {
        TroubleKind.PROVIDER_MISSING_FROM_SPF: Rule(
            TroubleKind.PROVIDER_MISSING_FROM_SPF, True, {"min_messages": 5}
        )
    }
    assert troubles(evidence(missing), rules) == []


def trend(**figures: object) -> DomainTrend:
    return DomainTrend(domain="bluebird-bakery.example", now=NOW, **figures)  # type: ignore[arg-type]


def test_the_pass_rate_falling_by_the_threshold() -> None:
    falling = trend(week_messages=100, week_pass=70, earlier_messages=400, earlier_pass=360)
    found = troubles(evidence(trend=falling))
    assert kinds(found) == [TroubleKind.DMARC_PASS_FALLING]
    assert found[0].messages == 30
    assert "fell to 70% this week, from 90%" in found[0].line
    # 20 points are asked for: 90 -> 70 is exactly that; 90 -> 71 is not.
    strict = {
        TroubleKind.DMARC_PASS_FALLING: Rule(
            TroubleKind.DMARC_PASS_FALLING, True, {"drop_points": 20}
        )
    }
    assert kinds(troubles(evidence(trend=falling), strict)) == [TroubleKind.DMARC_PASS_FALLING]
    better = trend(week_messages=100, week_pass=71, earlier_messages=400, earlier_pass=360)
    assert troubles(evidence(trend=better), strict) == []
    # Too little mail this week to say.
    few = trend(week_messages=10, week_pass=0, earlier_messages=400, earlier_pass=360)
    assert troubles(evidence(trend=few)) == []


def test_new_unknown_senders_above_the_share() -> None:
    found = troubles(
        evidence(
            trend=trend(
                week_messages=200,
                week_pass=180,
                earlier_messages=800,
                earlier_pass=790,
                new_unknown_sources=2,
                new_unknown_messages=20,
            )
        )
    )
    assert kinds(found) == [TroubleKind.UNKNOWN_SENDERS]
    assert (
        found[0].line
        == "2 new senders failing DMARC sent 10% of the mail of bluebird-bakery.example this week."
    )
    below = trend(week_messages=200, week_pass=195, earlier_messages=800, new_unknown_messages=5)
    assert troubles(evidence(trend=below)) == []
    # A domain whose reports began this week: every sender is "new"; that says nothing.
    first_week = trend(
        week_messages=200, week_pass=0, new_unknown_sources=3, new_unknown_messages=200
    )
    assert troubles(evidence(trend=first_week)) == []


def test_no_reports_only_for_a_domain_that_asks_for_them() -> None:
    quiet = trend(last_report_at=NOW - timedelta(days=9))
    assert troubles(evidence(trend=quiet)) == []
    found = troubles(evidence(trend=quiet, publishes_rua=True))
    assert kinds(found) == [TroubleKind.NO_REPORTS]
    assert "in 9 days" in found[0].line
    recent = trend(last_report_at=NOW - timedelta(days=2))
    assert troubles(evidence(trend=recent, publishes_rua=True)) == []
    never = troubles(evidence(trend=trend(), publishes_rua=True))
    assert (
        never[0].line
        == "bluebird-bakery.example asks for DMARC reports (rua=) but none has arrived."
    )
