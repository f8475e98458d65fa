"""The plan rules as pure logic: which route each state means, and the words that explain it."""

from __future__ import annotations

import pytest

from admin.errors import AdminInputError, PlanRuleError
from admin.plans import (
    ActiveConnection,
    Plan,
    RouteCause,
    RouteMode,
    check_managed_allowed,
    decide_route,
)

SES = ActiveConnection(7, "Amazon SES", "email-smtp.eu-west-1.amazonaws.com", 587)
PAID = [Plan.STARTER, Plan.PRO, Plan.AGENCY]


@pytest.mark.parametrize("plan", list(Plan))
@pytest.mark.parametrize("cause", list(RouteCause))
def test_an_active_custom_connection_always_carries_the_mail(plan: Plan, cause: RouteCause) -> None:
    route = decide_route(plan, SES, cause, "old")
    assert route.mode is RouteMode.CUSTOM
    assert route.connection_id == 7
    assert "“Amazon SES”" in route.reason
    assert "email-smtp.eu-west-1.amazonaws.com:587" in route.reason


@pytest.mark.parametrize("plan", PAID)
@pytest.mark.parametrize("cause", list(RouteCause))
def test_a_paid_plan_without_active_connection_sends_managed(plan: Plan, cause: RouteCause) -> None:
    route = decide_route(plan, None, cause)
    assert route.mode is RouteMode.MANAGED
    assert route.connection_id is None
    assert "managed TrekMail SMTP" in route.reason


@pytest.mark.parametrize("cause", list(RouteCause))
def test_nano_without_active_connection_is_paused_and_says_what_to_do(cause: RouteCause) -> None:
    route = decide_route(Plan.NANO, None, cause)
    assert route.mode is RouteMode.PAUSED
    assert route.connection_id is None
    assert "no managed sending" in route.reason
    assert "Add a custom SMTP connection" in route.reason
    assert "upgrade" in route.reason


def test_the_reason_names_the_deleted_connection() -> None:
    paused = decide_route(Plan.NANO, None, RouteCause.LAST_CONNECTION_DELETED, "SendGrid")
    managed = decide_route(Plan.PRO, None, RouteCause.LAST_CONNECTION_DELETED, "SendGrid")
    took_over = decide_route(Plan.PRO, SES, RouteCause.ACTIVE_CONNECTION_DELETED, "SendGrid")
    for route in (paused, managed, took_over):
        assert "“SendGrid”" in route.reason
        assert "deleted" in route.reason
    assert "switched back to managed sending" in managed.reason


def test_reasons_differ_by_cause() -> None:
    reasons = {decide_route(Plan.PRO, None, cause).reason for cause in RouteCause}
    assert len(reasons) >= 4  # default, chosen, last deleted, plan changed


def test_route_to_dict_is_plain_json() -> None:
    route = decide_route(Plan.NANO, SES, RouteCause.CONNECTION_ACTIVATED)
    assert route.to_dict() == {"mode": "custom", "connection_id": 7, "reason": route.reason}


@pytest.mark.parametrize(
    ("text", "plan"),
    [
        ("nano", Plan.NANO),
        (" Pro ", Plan.PRO),
        ("AGENCY", Plan.AGENCY),
        (Plan.STARTER, Plan.STARTER),
    ],
)
def test_plan_parse_accepts_the_four_names(text: str, plan: Plan) -> None:
    assert Plan.parse(text) is plan


@pytest.mark.parametrize("text", ["", "free", "enterprise", "nan"])
def test_plan_parse_rejects_other_names_plainly(text: str) -> None:
    with pytest.raises(AdminInputError, match="nano, starter, pro, agency") as caught:
        Plan.parse(text)
    assert isinstance(caught.value, ValueError)


def test_only_nano_lacks_managed_sending() -> None:
    assert [p for p in Plan if not p.has_managed_sending] == [Plan.NANO]
    for plan in PAID:
        check_managed_allowed(plan)
    with pytest.raises(PlanRuleError, match="Nano plan has no managed sending") as caught:
        check_managed_allowed(Plan.NANO)
    assert isinstance(caught.value, ValueError)
