"""Every timestamp admin writes comes from the store's clock (`Store(clock=...)`): accounts,
connections, routing changes, probes, the audit log, one-time claims, users, sign-ins, sessions and
the sign-in throttle, on SQLite and PostgreSQL. Read back from the tables themselves, so a column
written from the machine's clock anywhere shows up."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL

from admin import AuditAction, Store, generate_key
from admin.passwords import Hasher
from diagnostics.secret import Secret
from diagnostics.smtp.settings import Security, SmtpSettings

# Far from the machine's own time, so that a timestamp from it cannot pass for the clock's.
THEN = datetime(2031, 5, 6, 7, 8, 9, tzinfo=UTC)
PASSWORD = "correct horse battery staple 71"

# Every timestamp column of the admin tables; the throttle's lock is the clock's time plus a wait.
COLUMNS = {
    "accounts": ["created_at", "updated_at"],
    "connections": ["created_at", "updated_at"],
    "audit_log": ["at"],
    "probes": ["at"],
    "users": ["created_at", "updated_at", "last_sign_in_at"],
    "user_sessions": ["created_at", "last_seen_at"],
    "sign_in_throttle": ["last_failure_at"],
}


def settings(password: str = "first password 1") -> SmtpSettings:
    return SmtpSettings(
        host="smtp.sendgrid.net",
        port=587,
        security=Security.STARTTLS,
        username="apikey",
        password=password,
        from_address="news@bluebird-bakery.example",
    )


def utc(value: datetime | str) -> datetime:
    # SQLite hands raw SQL its text form, without the zone (admin.models.UtcDateTime).
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def written(db_url: URL) -> dict[str, list[datetime]]:
    """Every value of every timestamp column, as UTC, per table.column."""
    engine = create_engine(db_url)
    found: dict[str, list[datetime]] = {}
    with engine.connect() as connection:
        for table, columns in COLUMNS.items():
            for column in columns:
                values = connection.execute(text(f"SELECT {column} FROM {table}")).scalars()
                found[f"{table}.{column}"] = [utc(v) for v in values if v is not None]
        claimed = connection.execute(
            text("SELECT value FROM desk_meta WHERE key = 'clock_test_claim'")
        ).scalar_one()
    engine.dispose()
    found["desk_meta.clock_test_claim"] = [datetime.fromisoformat(claimed)]
    return found


def test_every_timestamp_admin_writes_is_the_stores_clock(
    make_store: Callable[..., Store], db_url: URL
) -> None:
    key = generate_key()
    store = make_store(clock=lambda: THEN, secret_key=key, password_hasher=Hasher(fast=True))
    account = store.create_account("Bluebird Bakery", "pro")
    first = store.add_connection(account.id, settings(), "SendGrid")
    second = store.add_connection(account.id, settings("second password 2"), "Backup")
    store.update_connection(second.id, settings("third password 3"), label="Backup relay")
    store.activate(second.id)
    store.use_managed(account.id)
    store.change_plan(account.id, "nano")
    store.delete_connection(first.id)
    store.record_probe(account.id, second.id, {"ok": True, "transcript": ["220 ready"]})
    store.audit_event(AuditAction.REPORTS_IMPORTED, "Imported nothing: a test.")
    assert store.claim("clock_test_claim")

    users = store.users
    users.add_user("dana", "support", Secret(PASSWORD))
    users.add_user("root", "admin", Secret(PASSWORD))
    users.set_role("dana", "analyst")
    users.set_disabled("dana")
    users.set_disabled("dana", False)
    users.set_password("dana", Secret(PASSWORD + "!"))
    for _ in range(3):  # the third locks the name from that client for a while
        assert not users.sign_in("dana", Secret("wrong password 9"), client_key="203.0.113.9").ok
    signed = users.sign_in("root", Secret(PASSWORD))
    assert signed.ok
    assert users.resume(signed.session_token).ok
    users.end(signed.session_token)
    assert users.sign_in("root", Secret(PASSWORD)).ok  # a session that stays
    store.rotate_key(key, generate_key())

    found = written(db_url)
    assert all(found.values()), {k: v for k, v in found.items() if not v}  # each was written
    wrong = {k: sorted(set(v) - {THEN}) for k, v in found.items() if set(v) != {THEN}}
    assert wrong == {}
    engine = create_engine(db_url)
    with engine.connect() as connection:
        locks = connection.execute(
            text("SELECT locked_until FROM sign_in_throttle WHERE locked_until IS NOT NULL")
        ).scalars()
        until = [utc(lock) for lock in locks]
    engine.dispose()
    assert until  # the name from that client, and maybe the client itself
    assert all(THEN < lock <= THEN + timedelta(hours=1) for lock in until), until
