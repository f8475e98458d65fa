"""Finding and locking accounts and connections inside one session, and the route an account's row
gives: the store's building blocks (admin.store).

Locking order, everywhere: the account row first, then its connections. A change to a connection
locks its account, so every change to one account is serialized on that single row.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from admin.errors import NotFound
from admin.models import AccountRow, ConnectionRow
from admin.plans import ActiveConnection, Plan, Route, RouteCause, decide_route


def get_account(s: Session, account_id: int) -> AccountRow:
    row = s.get(AccountRow, account_id)
    if row is None:
        raise NotFound(f"There is no account {account_id}.")
    return row


def get_connection(s: Session, connection_id: int) -> ConnectionRow:
    row = s.get(ConnectionRow, connection_id)
    if row is None:
        raise NotFound(f"There is no SMTP connection {connection_id}.")
    return row


def lock_account(s: Session, account_id: int) -> AccountRow:
    row = s.scalars(
        select(AccountRow)
        .where(AccountRow.id == account_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one_or_none()
    if row is None:
        raise NotFound(f"There is no account {account_id}.")
    return row


def lock_connection(s: Session, connection_id: int) -> tuple[AccountRow, ConnectionRow]:
    # Lock the account first, then read the connection again: whatever ran meanwhile (another
    # activate, a delete) has committed, and this change sees its result.
    account_id = s.scalar(select(ConnectionRow.account_id).where(ConnectionRow.id == connection_id))
    if account_id is None:
        raise NotFound(f"There is no SMTP connection {connection_id}.")
    account = lock_account(s, account_id)
    row = s.scalars(
        select(ConnectionRow)
        .where(ConnectionRow.id == connection_id, ConnectionRow.account_id == account.id)
        .execution_options(populate_existing=True)
    ).one_or_none()
    if row is None:
        raise NotFound(f"There is no SMTP connection {connection_id} (it was just deleted).")
    return account, row


def newest_connection(s: Session, account_id: int) -> ConnectionRow | None:
    return s.scalars(
        select(ConnectionRow)
        .where(ConnectionRow.account_id == account_id)
        .order_by(ConnectionRow.updated_at.desc(), ConnectionRow.id.desc())
        .limit(1)
    ).first()


def route_of(s: Session, account: AccountRow) -> Route:
    active = None
    if account.active_connection_id is not None:
        row = s.get(ConnectionRow, account.active_connection_id)
        if row is not None:
            active = ActiveConnection(row.id, row.label, row.host, row.port)
    return decide_route(
        Plan(account.plan), active, RouteCause(account.route_cause), account.route_detail
    )


__all__ = [
    "get_account",
    "get_connection",
    "lock_account",
    "lock_connection",
    "newest_connection",
    "route_of",
]
