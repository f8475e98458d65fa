"""Rows as the store hands them out and as the audit log keeps them: the frozen records of
admin.records (no database session behind them), and the state of an account or connection before
and after a change (public fields only: a password appears as its hint, never itself).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from admin._lookups import route_of
from admin.access import Role
from admin.models import AccountRow, AuditRow, ConnectionRow, ProbeRow, UserRow
from admin.plans import Plan, Route
from admin.records import Account, AuditAction, AuditEntry, Connection, ProbeRecord, User
from diagnostics.smtp.settings import Security


def account_value(s: Session, row: AccountRow) -> Account:
    return Account(
        id=row.id,
        name=row.name,
        plan=Plan(row.plan),
        route=route_of(s, row),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def connection_value(row: ConnectionRow, account: AccountRow) -> Connection:
    return Connection(
        id=row.id,
        account_id=row.account_id,
        label=row.label,
        host=row.host,
        port=row.port,
        security=Security(row.security),
        username=row.username,
        from_address=row.from_address,
        password_hint=row.password_hint,
        active=account.active_connection_id == row.id,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def account_state(row: AccountRow, route: Route) -> dict[str, Any]:
    return {"name": row.name, "plan": row.plan, "route": route.to_dict()}


def connection_state(row: ConnectionRow, account: AccountRow) -> dict[str, Any]:
    state: dict[str, Any] = {"label": row.label}
    state.update(connection_value(row, account).public_dict())
    return state


def probe_value(r: ProbeRow) -> ProbeRecord:
    return ProbeRecord(
        id=r.id,
        account_id=r.account_id,
        connection_id=r.connection_id,
        connection_label=r.connection_label,
        at=r.at,
        actor=r.actor,
        outcome=r.outcome,
        ok=r.ok,
        stage=r.stage,
        duration=r.duration,
        transcript=r.transcript,
        result=r.result,
    )


def audit_value(r: AuditRow) -> AuditEntry:
    return AuditEntry(
        id=r.id,
        at=r.at,
        actor=r.actor,
        action=AuditAction(r.action),
        account_id=r.account_id,
        connection_id=r.connection_id,
        summary=r.summary,
        before=r.before,
        after=r.after,
    )


def user_value(row: UserRow) -> User:
    return User(
        id=row.id,
        name=row.name,
        role=Role(row.role),
        disabled=row.disabled,
        created_at=row.created_at,
        last_sign_in_at=row.last_sign_in_at,
        oidc_issuer=row.oidc_issuer,
        oidc_subject=row.oidc_subject,
    )


def user_state(row: UserRow) -> dict[str, Any]:
    return {"name": row.name, "role": row.role, "disabled": row.disabled}


def oidc_state(row: UserRow) -> dict[str, Any]:
    return {"oidc_issuer": row.oidc_issuer, "oidc_subject": row.oidc_subject}


__all__ = [
    "account_state",
    "account_value",
    "audit_value",
    "connection_state",
    "connection_value",
    "oidc_state",
    "probe_value",
    "user_state",
    "user_value",
]
