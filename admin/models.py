"""The database tables, as SQLAlchemy 2 ORM classes.

The schema itself is created and changed only by the Alembic revisions in admin/migrations/; these
classes must match what those revisions build (tests/admin/test_migrations.py compares the two).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, Float, ForeignKey, Integer, String, Text
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator


class UtcDateTime(TypeDecorator[datetime]):
    """Timestamps in UTC, aware on the way out, whatever the backend keeps (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        # SQLite stores the text form; without the zone every row compares the same way.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class MetaRow(Base):
    """Small facts about the database itself: the id of the secret key, sample data loaded."""

    __tablename__ = "desk_meta"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class AccountRow(Base):
    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    plan: Mapped[str] = mapped_column(String(16))
    # No foreign key: accounts and connections would reference each other, which SQLite's
    # table rebuilds handle badly. The store keeps it pointing at one of the account's connections.
    active_connection_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    route_cause: Mapped[str] = mapped_column(String(40))
    route_detail: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class ConnectionRow(Base):
    __tablename__ = "connections"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    label: Mapped[str] = mapped_column(String(200))
    host: Mapped[str] = mapped_column(String(255))
    port: Mapped[int] = mapped_column(Integer)
    security: Mapped[str] = mapped_column(String(16))
    username: Mapped[str] = mapped_column(String(320))
    from_address: Mapped[str] = mapped_column(String(320))
    password_encrypted: Mapped[str] = mapped_column(Text)
    password_hint: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class AuditRow(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(40))
    # Plain ids, no foreign keys: the history outlives a deleted connection.
    account_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    connection_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    summary: Mapped[str] = mapped_column(Text)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


class ProbeRow(Base):
    __tablename__ = "probes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account_id: Mapped[int] = mapped_column(Integer, index=True)
    connection_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    connection_label: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    actor: Mapped[str] = mapped_column(String(200))
    outcome: Mapped[str] = mapped_column(String(40))
    ok: Mapped[bool] = mapped_column(Boolean)
    stage: Mapped[str | None] = mapped_column(String(40), nullable=True)
    duration: Mapped[float | None] = mapped_column(Float, nullable=True)
    transcript: Mapped[str] = mapped_column(Text)
    result: Mapped[dict[str, Any]] = mapped_column(JSON)


class UserRow(Base):
    """A local user of the desk (issue 6): the password only as an argon2 hash."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(Text)
    disabled: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    last_sign_in_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    # The identity provider's account (iss, sub) bound at the first OpenID Connect sign-in (issue
    # 10): another account showing the same address is refused. None until then, or once cleared.
    oidc_issuer: Mapped[str | None] = mapped_column(String(255), nullable=True)
    oidc_subject: Mapped[str | None] = mapped_column(String(255), nullable=True)


class SessionRow(Base):
    """A signed-in session: the SHA-256 of its random token, never the token itself."""

    __tablename__ = "user_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UtcDateTime())


class ThrottleRow(Base):
    """Failed sign-ins in a row for one user name or client, and until when further tries wait."""

    __tablename__ = "sign_in_throttle"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    last_failure_at: Mapped[datetime] = mapped_column(UtcDateTime())
    locked_until: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class IntakeMailboxRow(Base):
    """The mailbox the desk takes DMARC reports from (issue 15): one per desk, id 1. The password
    only encrypted (admin.secrets), with its hint."""

    __tablename__ = "intake_mailbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    host: Mapped[str] = mapped_column(String(255))
    port: Mapped[int] = mapped_column(Integer)
    security: Mapped[str] = mapped_column(String(16))
    username: Mapped[str] = mapped_column(String(320))
    password_encrypted: Mapped[str] = mapped_column(Text)
    password_hint: Mapped[str] = mapped_column(String(64))
    folder: Mapped[str] = mapped_column(String(255))
    archive_folder: Mapped[str] = mapped_column(String(255))
    invalid_folder: Mapped[str] = mapped_column(String(255))
    ca_pem: Mapped[str | None] = mapped_column(Text, nullable=True)
    max_message_bytes: Mapped[int] = mapped_column(Integer)
    enabled: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class IntakeRunRow(Base):
    """One pass over the report mailbox: its counts, and what went wrong (plain words, no secret)."""

    __tablename__ = "intake_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    finished_at: Mapped[datetime] = mapped_column(UtcDateTime())
    actor: Mapped[str] = mapped_column(String(200))
    ok: Mapped[bool] = mapped_column(Boolean)
    counts: Mapped[dict[str, Any]] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    problems: Mapped[list[str]] = mapped_column(JSON)


class QueueRow(Base):
    """One account's place in the support queue (issue 16): its troubles as the last refresh found
    them, so the "Needs attention" page and `python -m admin queue` read one table instead of
    diagnosing thousands of accounts. Plain words and codes only; never a secret."""

    __tablename__ = "support_queue"

    account_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    account_name: Mapped[str] = mapped_column(String(200))
    plan: Mapped[str] = mapped_column(String(16), index=True)
    provider: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    domain: Mapped[str] = mapped_column(String(255), index=True)
    score: Mapped[int] = mapped_column(Integer, index=True)
    messages: Mapped[int] = mapped_column(Integer)
    kinds: Mapped[list[str]] = mapped_column(JSON)
    line: Mapped[str] = mapped_column(Text)
    troubles: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    # Set by what changes the account's evidence (a test, an import); the next refresh clears it.
    stale: Mapped[bool] = mapped_column(Boolean, index=True)
    refreshed_at: Mapped[datetime] = mapped_column(UtcDateTime())


class AlertRuleRow(Base):
    """The desk's rule for one trouble kind: whether it alerts, and its thresholds."""

    __tablename__ = "alert_rules"

    kind: Mapped[str] = mapped_column(String(40), primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean)
    thresholds: Mapped[dict[str, float]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_by: Mapped[str] = mapped_column(String(200))


class AlertRow(Base):
    """One trouble of one account, from the run that first saw it until the run that saw it end."""

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account_id: Mapped[int] = mapped_column(Integer, index=True)
    account_name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(40))
    line: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, index=True)
    first_seen: Mapped[datetime] = mapped_column(UtcDateTime())
    last_seen: Mapped[datetime] = mapped_column(UtcDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class AlertDeliveryRow(Base):
    """One notice (an alert opening, its resolve, a digest) to one channel: the outbox. Unique per
    alert, event and channel, so a notice is queued once however many runs see the trouble."""

    __tablename__ = "alert_deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    alert_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    event: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(16))
    # A digest has no alert: its day ("2026-12-07") keeps it unique instead.
    dedupe_key: Mapped[str] = mapped_column(String(120), unique=True)
    subject: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), index=True)
    attempts: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime())
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class AlertChannelRow(Base):
    """Where alerts go: "email" (an SMTP connection the desk holds, and recipients) or "webhook"
    (its URL and HMAC secret). The secrets only encrypted (admin.secrets), as one JSON object, in
    `password_encrypted` like every other saved secret, so a key rotation moves them too."""

    __tablename__ = "alert_channels"

    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    settings: Mapped[dict[str, Any]] = mapped_column(JSON)
    password_encrypted: Mapped[str] = mapped_column(Text)
    password_hint: Mapped[str] = mapped_column(String(64))
    enabled: Mapped[bool] = mapped_column(Boolean)
    digest: Mapped[bool] = mapped_column(Boolean)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
