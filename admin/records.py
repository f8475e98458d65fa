"""What the store hands out: frozen values with no database session behind them.

A `Connection` carries the password only as a hint ("set, ends in …1234"); the decrypted password
leaves the store through `Store.connection_settings()` alone, for the probe.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from admin.access import Principal, Role
from admin.plans import Plan, Route
from diagnostics.smtp.settings import Security


@dataclass(frozen=True, slots=True)
class Account:
    id: int
    name: str
    plan: Plan
    route: Route
    created_at: datetime
    updated_at: datetime

    @property
    def active_connection_id(self) -> int | None:
        return self.route.connection_id


@dataclass(frozen=True, slots=True)
class Connection:
    """One saved SMTP connection of an account, safe to show on a page."""

    id: int
    account_id: int
    label: str
    host: str
    port: int
    security: Security
    username: str
    from_address: str
    password_hint: str  # "not set", "set", or "set, ends in …1234"
    active: bool
    created_at: datetime
    updated_at: datetime

    def public_dict(self) -> dict[str, Any]:
        """The settings as `SmtpSettings.public_dict()` shows them: the password as a hint only."""
        return {
            "host": self.host,
            "port": self.port,
            "security": self.security.value,
            "username": self.username,
            "password": self.password_hint,
            "from_address": self.from_address,
        }


class AuditAction(StrEnum):
    ACCOUNT_CREATED = "account_created"
    PLAN_CHANGED = "plan_changed"
    CONNECTION_ADDED = "connection_added"
    CONNECTION_UPDATED = "connection_updated"
    CONNECTION_DELETED = "connection_deleted"
    CONNECTION_ACTIVATED = "connection_activated"
    MANAGED_CHOSEN = "managed_chosen"
    USER_ADDED = "user_added"
    USER_CHANGED = "user_changed"
    SIGNED_IN = "signed_in"
    SIGN_IN_FAILED = "sign_in_failed"
    SIGN_IN_LOCKED = "sign_in_locked"
    SIGNED_OUT = "signed_out"
    SESSION_EXPIRED = "session_expired"
    REPORTS_IMPORTED = "reports_imported"
    REPORTS_REFUSED = "reports_refused"
    KEY_ROTATED = "key_rotated"
    INTAKE_CHANGED = "intake_changed"
    INTAKE_CHECKED = "intake_checked"
    ALERTS_CHANGED = "alerts_changed"


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """Who did what, when, to which account, with the state before and after (never a secret)."""

    id: int
    at: datetime
    actor: str
    action: AuditAction
    account_id: int | None
    connection_id: int | None
    summary: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class ProbeRecord:
    """One SMTP test as it was run: the outcome code ("ok" or the symptom), timing and transcript."""

    id: int
    account_id: int
    connection_id: int | None
    connection_label: str
    at: datetime
    actor: str
    outcome: str
    ok: bool
    stage: str | None
    duration: float | None
    transcript: str
    result: dict[str, Any]


@dataclass(frozen=True, slots=True)
class User:
    """A local user as the desk shows it: never the password or its hash."""

    id: int
    name: str
    role: Role
    disabled: bool
    created_at: datetime
    last_sign_in_at: datetime | None
    # The identity provider's account this user is bound to (admin.oidc), or None.
    oidc_issuer: str | None = None
    oidc_subject: str | None = None

    @property
    def principal(self) -> Principal:
        return Principal(self.name, self.role)
