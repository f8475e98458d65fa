"""The audit log (who, what, when, before/after) and the promise that no secret is stored readable."""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import URL

from admin import AuditAction, PlanRuleError, Store
from tests.admin.settings_samples import (
    MAILGUN_PASSWORD,
    SENDGRID_KEY,
    SES_PASSWORD,
    mailgun,
    sendgrid,
    ses,
)

NEW_SES_PASSWORD = "BZz8Yy7Xx6Ww5Vv4Uu3Tt2Ss1Rr0Qq9Pp8Oo7Nn6Mm5L"
ALL_PASSWORDS = [SENDGRID_KEY, SES_PASSWORD, MAILGUN_PASSWORD, NEW_SES_PASSWORD]


def test_every_change_is_logged_with_who_what_when_and_before_after(store: Store) -> None:
    account = store.create_account("Harbor & Pine", "pro", actor="alice@desk")
    ses_conn = store.add_connection(account.id, ses(), label="SES", actor="alice@desk")
    mg_conn = store.add_connection(account.id, mailgun(), label="Mailgun", actor="bob@desk")
    store.activate(mg_conn.id, actor="bob@desk")
    store.use_managed(account.id, actor="carol@desk")
    store.update_connection(ses_conn.id, ses(password=NEW_SES_PASSWORD), actor="alice@desk")
    store.change_plan(account.id, "agency", actor="dave@desk")
    store.delete_connection(mg_conn.id, actor="erin@desk")
    store.add_connection(account.id, sendgrid())  # default actor

    entries = list(reversed(store.audit_log(account.id)))
    assert [(e.action, e.actor) for e in entries] == [
        (AuditAction.ACCOUNT_CREATED, "alice@desk"),
        (AuditAction.CONNECTION_ADDED, "alice@desk"),
        (AuditAction.CONNECTION_ADDED, "bob@desk"),
        (AuditAction.CONNECTION_ACTIVATED, "bob@desk"),
        (AuditAction.MANAGED_CHOSEN, "carol@desk"),
        (AuditAction.CONNECTION_UPDATED, "alice@desk"),
        (AuditAction.PLAN_CHANGED, "dave@desk"),
        (AuditAction.CONNECTION_DELETED, "erin@desk"),
        (AuditAction.CONNECTION_ADDED, "system"),
    ]
    times = [e.at for e in entries]
    assert times == sorted(times)
    assert all(t.tzinfo is not None for t in times)
    assert all(e.account_id == account.id for e in entries)

    created, added_ses, _, activated, managed, updated, plan, deleted, _ = entries
    assert created.before is None
    assert created.after is not None
    assert created.after["plan"] == "pro"
    assert created.after["route"]["mode"] == "managed"
    assert added_ses.connection_id == ses_conn.id
    assert added_ses.before is not None
    assert added_ses.after is not None
    assert added_ses.before["route"]["mode"] == "managed"
    assert added_ses.after["route"] == {
        "mode": "custom",
        "connection_id": ses_conn.id,
        "reason": added_ses.after["route"]["reason"],
    }
    assert added_ses.after["connection"]["host"] == "email-smtp.eu-west-1.amazonaws.com"
    assert added_ses.after["connection"]["password"] == f"set, ends in …{SES_PASSWORD[-4:]}"
    assert activated.before is not None
    assert activated.after is not None
    assert activated.before["route"]["connection_id"] == ses_conn.id
    assert activated.after["route"]["connection_id"] == mg_conn.id
    assert managed.before is not None
    assert managed.after is not None
    assert (managed.before["route"]["mode"], managed.after["route"]["mode"]) == (
        "custom",
        "managed",
    )
    assert updated.before is not None
    assert updated.after is not None
    assert updated.after["password_changed"] is True
    assert updated.after["password"] == f"set, ends in …{NEW_SES_PASSWORD[-4:]}"
    assert "password" in updated.summary
    assert plan.before is not None
    assert plan.after is not None
    assert (plan.before["plan"], plan.after["plan"]) == ("pro", "agency")
    assert deleted.before is not None
    assert deleted.before["connection"]["label"] == "Mailgun"
    assert "“Mailgun”" in deleted.summary


def test_refused_and_empty_changes_leave_no_entry(store: Store) -> None:
    nano = store.create_account("Bluebird", "nano")
    conn = store.add_connection(nano.id, sendgrid())
    before = store.audit_log(nano.id)
    with pytest.raises(PlanRuleError):
        store.use_managed(nano.id)
    store.activate(conn.id)  # already active
    assert store.audit_log(nano.id) == before


def test_the_log_spans_accounts_newest_first_and_honours_the_limit(store: Store) -> None:
    one = store.create_account("One", "pro")
    two = store.create_account("Two", "nano")
    store.add_connection(two.id, sendgrid())
    everything = store.audit_log()
    assert [e.account_id for e in everything] == [two.id, two.id, one.id]
    assert store.audit_log(limit=1) == everything[:1]
    assert [e.account_id for e in store.audit_log(one.id)] == [one.id]


def _secret_forms(password: str) -> list[bytes]:
    raw = password.encode()
    return [raw, base64.b64encode(raw), raw[4:-4]]


def _database_bytes(store: Store, url: URL) -> bytes:
    """Everything the database holds, as bytes: the SQLite files, or every PostgreSQL row as text."""
    if url.get_backend_name() == "sqlite":
        folder = Path(url.database or "").parent
        return b"".join(p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file())
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            names = inspect(connection).get_table_names()
            dump = [
                str(row[0])
                for name in names
                for row in connection.execute(text(f'SELECT CAST(t AS text) FROM "{name}" AS t'))
            ]
    finally:
        engine.dispose()
    return "\n".join(dump).encode()


def test_no_secret_in_the_database_the_audit_log_or_the_logs(
    make_store: Callable[..., Store], db_url: URL, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        store = make_store()
        account = store.create_account("Harbor & Pine", "agency", actor="alice@desk")
        ses_conn = store.add_connection(account.id, ses(), label="SES")
        store.add_connection(account.id, mailgun(), label="Mailgun")
        sg = store.add_connection(account.id, sendgrid(), label="SendGrid")
        store.update_connection(ses_conn.id, ses(password=NEW_SES_PASSWORD))
        store.activate(sg.id)
        store.delete_connection(sg.id)
        store.record_probe(
            account.id,
            ses_conn.id,
            {
                "ok": False,
                "symptom": "auth_failed",
                "transcript": [f"C: AUTH PLAIN {NEW_SES_PASSWORD}"],
            },
        )
        dumped = _database_bytes(store, db_url)
        audit_text = json.dumps(
            [[e.summary, e.before, e.after, repr(e)] for e in store.audit_log()], ensure_ascii=False
        )
        reprs = repr(store) + repr(store.list_connections(account.id)) + repr(store.list_accounts())

    # The checks can see: what is not secret is there in plain form.
    assert b"email-smtp.eu-west-1.amazonaws.com" in dumped
    assert b"alice@desk" in dumped
    for password in ALL_PASSWORDS:
        for form in _secret_forms(password):
            assert form not in dumped, (
                f"a password form is readable in the {db_url.get_backend_name()} data"
            )
        assert password[4:-4] not in audit_text
        assert password[4:-4] not in caplog.text
        assert password[4:-4] not in reprs
    assert "connection_added" in caplog.text  # the log did record the changes


def test_no_secret_left_after_the_store_closes(
    make_store: Callable[..., Store], db_url: URL
) -> None:
    store = make_store()
    account = store.create_account("Bluebird", "nano")
    store.add_connection(account.id, sendgrid())
    store.close()
    dumped = _database_bytes(store, db_url)
    assert b"smtp.sendgrid.net" in dumped
    for form in _secret_forms(SENDGRID_KEY):
        assert form not in dumped
