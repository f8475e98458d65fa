"""How admin reads and writes its database: a read session, a write transaction, the clock every
timestamp admin writes comes from, and the audit entry every write adds. One `Transactions` is made
by the Store and shared by everything that works on its database (the store itself, its users and
their sign-in), so none of them opens a session, reads the time or writes the audit log its own way.

    with tx.write() as s:                      # one transaction; BEGIN IMMEDIATE / FOR UPDATE
        row = ...                              # the change
        row.updated_at = tx.now()              # the injected clock (Store(clock=...)), never utcnow
        tx.audit(s, "dana", AuditAction.PLAN_CHANGED, "Changed the plan ...", before=..., after=...)

A write transaction begins as a writer at once (admin.database's WRITE option): on SQLite
BEGIN IMMEDIATE, so concurrent writers queue rather than fail on upgrade. An audit entry holds
names, counts and public settings only, never a secret; it is also logged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from admin.database import WRITE
from admin.models import AuditRow
from admin.records import AuditAction

log = logging.getLogger("admin.store")


class Transactions:
    """Sessions on one database and the clock of everything written through them."""

    def __init__(self, engine: Engine, *, clock: Callable[[], datetime]) -> None:
        self.engine = engine
        self._writer = engine.execution_options(**{WRITE: True})
        self._clock = clock

    def now(self) -> datetime:
        """The time every timestamp admin writes carries (the Store's injected clock)."""
        return self._clock()

    @contextmanager
    def read(self) -> Iterator[Session]:
        with Session(self.engine, expire_on_commit=False) as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """One transaction that commits when the block ends and rolls back if it raises."""
        with Session(self._writer, expire_on_commit=False) as session, session.begin():
            yield session

    def audit(
        self,
        s: Session,
        actor: str,
        action: AuditAction,
        summary: str,
        *,
        account_id: int | None = None,
        connection_id: int | None = None,
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
    ) -> AuditRow:
        """Add one audit entry to the write transaction `s`: who (`actor`, a name), what, in plain
        words, and the state before and after (never a secret)."""
        row = AuditRow(
            at=self.now(),
            actor=actor,
            action=action.value,
            account_id=account_id,
            connection_id=connection_id,
            summary=summary,
            before=before,
            after=after,
        )
        s.add(row)
        log.info("audit: %s by %s: %s", action.value, actor, summary)
        return row


__all__ = ["Transactions"]
