"""A database that fails under an open report store: PostgreSQL cut off behind a proxy, a backend
killed in the middle of a call, SQLite locked past the busy timeout. Each call then raises the
library's own error with a plain message, and the same store works again once the database
answers, without being reopened."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest
from sqlalchemy import event

from diagnostics.config import DatabaseConfig, DeskConfig
from diagnostics.database import BUSY_MESSAGE, UNAVAILABLE_MESSAGE
from diagnostics.dmarc.store import ReportStore
from diagnostics.errors import DatabaseBusy, DatabaseUnavailable
from tests.diagnostics.dmarc.conftest import SAMPLES
from tests.support.databases import ProxiedPostgres, backend_killed_on

USSSA = SAMPLES / "aggregate" / "usssa.com!example.com!1538784000!1538870399.xml"
LARGE = SAMPLES / "aggregate" / "!large-example.com!1711897200!1711983600.xml"


@pytest.mark.postgres
def test_a_database_cut_off_and_back_needs_no_new_store(postgres_proxy: ProxiedPostgres) -> None:
    store = ReportStore(postgres_proxy.url)
    try:
        store.import_paths([USSSA])
        postgres_proxy.proxy.cut()
        for call in (
            store.domains,
            store.generation,
            lambda: store.verdicts("example.com"),
            lambda: store.records("example.com"),
            lambda: store.import_paths([LARGE]),
        ):
            with pytest.raises(DatabaseUnavailable) as caught:
                call()
            assert str(caught.value) == UNAVAILABLE_MESSAGE
            assert isinstance(caught.value, ConnectionError)
        postgres_proxy.proxy.restore()
        assert store.domains()["policy_domain"].tolist() == ["example.com"]
        assert store.import_paths([LARGE]).imported == 1
        assert len(store.records("example.com")) == 2 + 2286
    finally:
        store.close()


@pytest.mark.postgres
def test_a_backend_killed_in_the_middle_of_a_call(postgres_url) -> None:
    store = ReportStore(postgres_url)
    try:
        store.import_paths([USSSA])
        with (
            backend_killed_on(postgres_url, "dmarc_store_state") as killed,
            pytest.raises(DatabaseUnavailable, match="not available right now"),
        ):
            store.generation()
        assert killed.pids
        # The pool dropped the dead connection: the next call connects afresh.
        assert store.generation() == 1
        assert not store.domains().empty
    finally:
        store.close()


def test_sqlite_locked_past_the_busy_timeout_is_busy(tmp_path: Path) -> None:
    path = tmp_path / "desk.sqlite"
    config = DeskConfig(database=DatabaseConfig(f"sqlite:///{path}", busy_seconds=0.5))
    store = ReportStore.from_config(config)  # DESK_DB_BUSY_SECONDS=0.5
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")  # another writer that keeps the lock
        started = time.monotonic()
        with pytest.raises(DatabaseBusy) as caught:
            store.import_paths([USSSA])
        assert time.monotonic() - started < 5  # the setting, not the old 30 s
        assert str(caught.value) == BUSY_MESSAGE
        assert isinstance(caught.value, TimeoutError)
        assert store.domains().empty  # readers never wait for a writer
        holder.rollback()
        assert store.import_paths([USSSA]).imported == 1
    finally:
        holder.close()
        store.close()


def test_an_interruption_during_a_query_stays_an_interruption(tmp_path: Path) -> None:
    # SQLAlchemy counts a connection lost when Ctrl-C lands in the middle of a query; the caller
    # (the CLI says "interrupted") must still see the KeyboardInterrupt, not a database fault.
    store = ReportStore(f"sqlite:///{tmp_path / 'desk.sqlite'}")

    def ctrl_c(*_args: object) -> None:
        raise KeyboardInterrupt

    event.listen(store.engine, "before_cursor_execute", ctrl_c)
    try:
        with pytest.raises(KeyboardInterrupt):
            store.domains()
    finally:
        event.remove(store.engine, "before_cursor_execute", ctrl_c)
    assert store.domains().empty  # and the store goes on
    store.close()
