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
    code: str
    severity: str
    title: str
    detail: str = ""
    messages: int = 0


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
    found = troubles(evidence(P("provider_authorized", "info", "SendGrid is in SPF")))
    assert found == []
    assert score(found) == 0
    assert one_line(found) == "Nothing needs attention."


def test_each_problem_of_the_diagnosis_is_its_kind_the_worst_first() -> None:
    found = troubles(
        evidence(
            P("sendgrid_username_not_apikey", "error", "User name is not apikey", "Use apikey."),
            P("latest_test_failed", "error", "The latest test failed", "Login refused."),
            P("too_many_lookups", "warning", "SPF needs 12 look-ups", "The limit is 10."),
            P("provider_not_authorized", "error", "SendGrid is not in SPF", "Add the include."),
            P("nano_paused", "error", "Mail is paused"),  # not Nano: not this kind
            lint_codes=frozenset({"sendgrid_username_not_apikey"}),
        )
    )
    assert kinds(found) == [
        TroubleKind.CONNECTION_FAILING,
        TroubleKind.SPF_BROKEN,
        TroubleKind.PROVIDER_MISSING_FROM_SPF,
        TroubleKind.CONNECTION_LINT,
    ]
    assert found[0].line == "The latest test failed: Login refused."
    assert one_line(found) == "The latest test failed: Login refused. (and 3 other problems)"
    assert score(found) == 80 + 60 + 50 + 30


def test_a_paused_nano_account_ranks_first_and_a_lint_warning_is_no_trouble() -> None:
    found = troubles(
        evidence(
            P("port_25", "warning", "Port 25 is often blocked"),
            P("nano_paused", "error", "Mail is paused", "Nano needs its own connection."),
            plan="nano",
            lint_codes=frozenset({"port_25"}),
        )
    )
    assert kinds(found) == [TroubleKind.NANO_PAUSED]


def test_a_provider_missing_in_the_reports_needs_its_messages() -> None:
    missing = P("spf_include_missing", "error", "SendGrid is not in SPF", "Its mail fails.", 3)
    assert kinds(troubles(evidence(missing))) == [TroubleKind.PROVIDER_MISSING_FROM_SPF]
    rules = {k: Rule(k, True, {"min_messages": 5}) for k in [TroubleKind.PROVIDER_MISSING_FROM_SPF]}
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
                week_messages=200, week_pass=180, new_unknown_sources=2, new_unknown_messages=20
            )
        )
    )
    assert kinds(found) == [TroubleKind.UNKNOWN_SENDERS]
    assert (
        found[0].line
        == "2 new senders failing DMARC sent 10% of the mail of bluebird-bakery.example this week."
    )
    below = trend(week_messages=200, week_pass=195, new_unknown_sources=1, new_unknown_messages=5)
    assert troubles(evidence(trend=below)) == []


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
