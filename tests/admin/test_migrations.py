"""Schema migrations: an empty database gets every table, an older one gets what it lacks and keeps
its rows, and the ORM classes describe exactly what the revisions build."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import URL

from admin import RouteMode, Store
from admin.database import make_engine, resolve_url
from admin.migrate import current_revision, head_revision, upgrade
from admin.models import Base
from tests.admin.settings_samples import SENDGRID_KEY, sendgrid

TABLES = {"accounts", "connections", "audit_log", "probes", "desk_meta", "alembic_version"}
TABLES |= {"users", "user_sessions", "sign_in_throttle"}  # issue 6: local users
TABLES |= {"intake_mailbox", "intake_runs"}  # issue 15: the report mailbox
TABLES |= {"support_queue", "alert_rules", "alerts", "alert_deliveries", "alert_channels"}  # 16


def test_an_empty_database_is_brought_to_the_head_revision(store: Store, db_url: URL) -> None:
    assert store.schema_revision() == head_revision() == "0006_queue_alerts"
    engine = make_engine(resolve_url(db_url))
    try:
        with engine.connect() as connection:
            assert set(inspect(connection).get_table_names()) == TABLES
    finally:
        engine.dispose()


def test_the_models_match_what_the_migrations_build(store: Store, db_url: URL) -> None:
    engine = make_engine(resolve_url(db_url))
    try:
        with engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    finally:
        engine.dispose()
    assert differences == []


def test_reopening_keeps_the_data(make_store: Callable[..., Store]) -> None:
    first = make_store()
    account = first.create_account("Bluebird Bakery", "nano", actor="alice@desk")
    conn = first.add_connection(account.id, sendgrid(), label="SendGrid")
    first.record_probe(account.id, conn.id, {"ok": True, "stage": "auth", "duration": 0.4})
    log = first.audit_log()
    first.close()

    again = make_store()
    assert again.get_account(account.id) == first_account_after(again, account.id)
    assert again.list_connections(account.id)[0].label == "SendGrid"
    assert again.outbound_route(account.id).connection_id == conn.id
    assert again.connection_settings(conn.id).secret.reveal() == SENDGRID_KEY
    assert again.audit_log() == log
    assert [p.outcome for p in again.probe_history(account.id)] == ["ok"]


def first_account_after(store: Store, account_id: int) -> object:
    listed = {a.id: a for a in store.list_accounts()}
    return listed[account_id]


def test_an_upgrade_from_the_first_revision_keeps_existing_rows(
    db_url: URL, make_store: Callable[..., Store]
) -> None:
    engine = make_engine(resolve_url(db_url))
    now = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)
    try:
        upgrade(engine, "0001_accounts")
        assert current_revision(engine) == "0001_accounts"
        with engine.begin() as connection:
            assert "probes" not in inspect(connection).get_table_names()
            connection.execute(
                text(
                    "INSERT INTO accounts (name, plan, active_connection_id, route_cause, "
                    "route_detail, created_at, updated_at) VALUES "
                    "('Northwind Legal', 'pro', NULL, 'managed_chosen', NULL, :now, :now)"
                ),
                {"now": now.replace(tzinfo=None) if db_url.get_backend_name() == "sqlite" else now},
            )
    finally:
        engine.dispose()

    store = make_store()
    assert store.schema_revision() == head_revision()
    [account] = store.list_accounts()
    assert (account.name, account.plan.value) == ("Northwind Legal", "pro")
    assert account.created_at == now
    assert account.route.mode is RouteMode.MANAGED
    assert "an admin chose managed sending" in account.route.reason
    # The table the second revision added works at once.
    store.record_probe(account.id, None, {"ok": False, "symptom": "connection_refused"})
    assert [p.outcome for p in store.probe_history(account.id)] == ["connection_refused"]


def test_two_processes_opening_a_new_database_at_once_both_succeed(
    make_store: Callable[..., Store],
) -> None:
    opened: list[Store] = []
    errors: list[BaseException] = []
    start = threading.Barrier(3)

    def open_one() -> None:
        start.wait()
        try:
            opened.append(make_store())
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_one) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert len(opened) == 3
    assert {s.schema_revision() for s in opened} == {head_revision()}
    account = opened[0].create_account("One", "pro")
    assert opened[1].get_account(account.id).name == "One"
