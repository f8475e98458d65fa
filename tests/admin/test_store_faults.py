"""A database that fails under an open admin store: PostgreSQL cut off behind a proxy, a backend
killed in the middle of a call, SQLite locked past the busy timeout. Every call then raises
StoreUnavailable (StoreBusy) with a plain message, the same store works again once the database
answers, and `python -m admin` says so in one line with exit code 2."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy.engine import URL

from admin import Store, StoreBusy, StoreUnavailable
from admin.passwords import Hasher
from diagnostics.secret import Secret
from tests.support.databases import ProxiedPostgres, backend_killed_on

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "store faults password 5521"
UNAVAILABLE = "The database is not available right now: try again in a moment."
BUSY = "The database is busy right now: try again in a moment."


def _open(url: URL | str, tmp_path: Path, **options: float) -> Store:
    return Store(
        url, key_file=tmp_path / "secret.key", password_hasher=Hasher(fast=True), **options
    )


@pytest.mark.postgres
def test_a_database_cut_off_and_back_needs_no_new_store(
    postgres_proxy: ProxiedPostgres, tmp_path: Path
) -> None:
    store = _open(postgres_proxy.url, tmp_path)
    try:
        store.create_account("Bluebird Bakery", "pro")
        store.users.add_user("dana", "support", Secret(PASSWORD))
        postgres_proxy.proxy.cut()
        for call in (
            store.list_accounts,
            lambda: store.users.sign_in("dana", Secret(PASSWORD)),
            lambda: store.users.resume("a session token"),
            lambda: store.create_account("Harbor & Pine", "nano"),
        ):
            with pytest.raises(StoreUnavailable) as caught:
                call()
            assert str(caught.value) == UNAVAILABLE
        postgres_proxy.proxy.restore()
        assert [a.name for a in store.list_accounts()] == ["Bluebird Bakery"]
        assert store.users.sign_in("dana", Secret(PASSWORD)).ok
    finally:
        store.close()


@pytest.mark.postgres
def test_a_backend_killed_in_the_middle_of_a_call(postgres_url: URL, tmp_path: Path) -> None:
    store = _open(postgres_url, tmp_path)
    try:
        store.create_account("Bluebird Bakery", "pro")
        with (
            backend_killed_on(postgres_url, "accounts") as killed,
            pytest.raises(StoreUnavailable, match="not available right now"),
        ):
            store.list_accounts()
        assert killed.pids
        assert [a.name for a in store.list_accounts()] == ["Bluebird Bakery"]
    finally:
        store.close()


def test_a_sign_in_behind_a_writer_that_keeps_the_lock_is_told_busy(tmp_path: Path) -> None:
    path = tmp_path / "desk.sqlite"
    store = _open(f"sqlite:///{path}", tmp_path, busy_seconds=0.5)
    store.users.add_user("dana", "support", Secret(PASSWORD))
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")  # a writer that does not let go
        started = time.monotonic()
        with pytest.raises(StoreBusy) as caught:
            store.users.sign_in("dana", Secret(PASSWORD))
        assert time.monotonic() - started < 5  # the setting, not the old 30 s
        assert str(caught.value) == BUSY
        assert isinstance(caught.value, TimeoutError)
        holder.rollback()
        assert store.users.sign_in("dana", Secret(PASSWORD)).ok
    finally:
        holder.close()
        store.close()


def _cli(url: URL, data: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DATABASE_URL": url.render_as_string(hide_password=False),
        "DESK_DATA_DIR": str(data),
    }
    env.pop("DESK_SECRET_KEY", None)
    return subprocess.run(
        [sys.executable, "-m", "admin", *argv],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _one_plain_line(run: subprocess.CompletedProcess[str]) -> str:
    assert run.returncode == 2, run.stdout + run.stderr
    assert "Traceback" not in run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    return lines[0]


@pytest.mark.postgres
def test_the_cli_says_a_database_fault_in_one_line(
    postgres_proxy: ProxiedPostgres, tmp_path: Path
) -> None:
    store = _open(postgres_proxy.direct, tmp_path)
    store.users.add_user("root", "admin", Secret(PASSWORD))
    store.close()

    # Killed while the command reads the users.
    with backend_killed_on(postgres_proxy.direct, "users") as killed:
        run = _cli(postgres_proxy.url, tmp_path, "users", "list")
    assert killed.pids
    assert _one_plain_line(run) == f"error: {UNAVAILABLE}"

    # Cut off before the command starts.
    postgres_proxy.proxy.cut()
    line = _one_plain_line(_cli(postgres_proxy.url, tmp_path, "users", "list"))
    assert line.startswith("error: Cannot open the database at postgresql+psycopg2://")
    assert line.endswith("it does not answer. Is the server running, and the address right?")

    postgres_proxy.proxy.restore()
    run = _cli(postgres_proxy.url, tmp_path, "users", "list")
    assert run.returncode == 0, run.stderr
    assert "root" in run.stdout
