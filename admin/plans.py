"""The platform's plans and the outbound-routing rule, as pure logic with no database in it.

From the TrekMail help (../shared/seed): Nano has no managed sending and needs a custom SMTP connection to
send; deleting the last custom connection switches a paid account back to managed sending and pauses a
Nano account until a connection is added or the plan upgraded. The store keeps the state; this module
decides what that state means and says it in plain words.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from admin.errors import AdminInputError, PlanRuleError


class Plan(StrEnum):
    NANO = "nano"
    STARTER = "starter"
    PRO = "pro"
    AGENCY = "agency"

    @property
    def has_managed_sending(self) -> bool:
        """Every paid plan includes managed TrekMail SMTP; Nano does not."""
        return self is not Plan.NANO

    @property
    def display_name(self) -> str:
        return self.value.capitalize()

    @classmethod
    def parse(cls, value: str | Plan) -> Plan:
        try:
            return cls(str(value).strip().lower())
        except ValueError:
            names = ", ".join(p.value for p in cls)
            raise AdminInputError(f"The plan must be one of {names}, not {value!r}.") from None


class RouteMode(StrEnum):
    CUSTOM = "custom"  # through the account's active custom SMTP connection
    MANAGED = "managed"  # through managed TrekMail SMTP
    PAUSED = "paused"  # not at all: Nano without a custom connection


class RouteCause(StrEnum):
    """Why the account routes the way it does: stored with the account so the reason can say so."""

    NEW_ACCOUNT = "new_account"
    CONNECTION_ACTIVATED = "connection_activated"
    MANAGED_CHOSEN = "managed_chosen"
    ACTIVE_CONNECTION_DELETED = "active_connection_deleted"
    LAST_CONNECTION_DELETED = "last_connection_deleted"
    PLAN_CHANGED = "plan_changed"


@dataclass(frozen=True, slots=True)
class ActiveConnection:
    """What the reason needs to name the connection mail goes through."""

    id: int
    label: str
    host: str
    port: int


@dataclass(frozen=True, slots=True)
class Route:
    """How the account's webmail and API mail goes out: `mode`, through which connection, and why."""

    mode: RouteMode
    connection_id: int | None
    reason: str

    def to_dict(self) -> dict[str, str | int | None]:
        return {"mode": self.mode.value, "connection_id": self.connection_id, "reason": self.reason}


def decide_route(
    plan: Plan,
    active: ActiveConnection | None,
    cause: RouteCause,
    detail: str | None = None,
) -> Route:
    """The route of an account on `plan` whose active custom connection is `active` (None: none).

    `cause` and `detail` (the label of a deleted connection) only change the wording of the reason.
    """
    if active is not None:
        reason = (
            f"Webmail and API mail go out through the custom SMTP connection “{active.label}” "
            f"({active.host}:{active.port})."
        )
        if cause is RouteCause.ACTIVE_CONNECTION_DELETED and detail:
            reason += f" It took over when the active connection “{detail}” was deleted."
        return Route(RouteMode.CUSTOM, active.id, reason)

    if plan.has_managed_sending:
        lead = "Webmail and API mail go out through managed TrekMail SMTP"
        why = {
            RouteCause.MANAGED_CHOSEN: "an admin chose managed sending",
            RouteCause.LAST_CONNECTION_DELETED: (
                f"the last custom connection{_named(detail)} was deleted, so the account "
                "switched back to managed sending"
            ),
            RouteCause.PLAN_CHANGED: (
                f"the account moved to the {plan.display_name} plan, which includes managed sending"
            ),
        }.get(
            cause,
            f"the default of the {plan.display_name} plan while no custom connection is active",
        )
        return Route(
            RouteMode.MANAGED,
            None,
            f"{lead}: {why}. The platform handles SPF and DKIM for it.",
        )

    why = {
        RouteCause.LAST_CONNECTION_DELETED: (
            f"the last custom connection{_named(detail)} was deleted, and the Nano plan has no "
            "managed sending"
        ),
        RouteCause.PLAN_CHANGED: (
            "the account moved to the Nano plan, which has no managed sending, and no custom "
            "connection is active"
        ),
    }.get(cause, "the Nano plan has no managed sending and no custom SMTP connection is active")
    return Route(
        RouteMode.PAUSED,
        None,
        f"Outbound mail is paused: {why}. Add a custom SMTP connection, or upgrade to a paid plan.",
    )


def check_managed_allowed(plan: Plan) -> None:
    """Raise PlanRuleError when `plan` cannot send through managed TrekMail SMTP."""
    if not plan.has_managed_sending:
        raise PlanRuleError(
            "The Nano plan has no managed sending: it needs a custom SMTP connection to send. "
            "Add or activate a connection, or upgrade to Starter, Pro or Agency."
        )


def _named(label: str | None) -> str:
    return f" (“{label}”)" if label else ""
