"""The app (app.py, as people reach every page) when its database fails under it: PostgreSQL cut
off behind a proxy and restored, a backend killed in the middle of a page, SQLite locked past the
busy timeout under the sign-in form. Each time a plain message instead of Streamlit's "This app
has encountered an error", and the same server works again once the database answers."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import admin
from diagnostics.config import AuthConfig, AuthMode, DatabaseConfig
from diagnostics.dmarc import ReportStore
from diagnostics.secret import Secret
from tests.pages.conftest import Configure
from tests.pages.untrusted import rendered
from tests.support.databases import ProxiedPostgres, backend_killed_on

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
DATA = ROOT / "tests" / "data" / "dmarc"
USSSA = DATA / "aggregate" / "usssa.com!example.com!1538784000!1538870399.xml"
PASSWORD = "database faults page password 3307"
UNAVAILABLE = "The database is not available right now: try again in a moment."
BUSY = "The database is busy right now: try again in a moment."


@pytest.fixture
def desk(postgres_proxy: ProxiedPostgres, tmp_path: Path, configure: Configure) -> ProxiedPostgres:
    """The app's database on PostgreSQL, reached through the proxy: an account, an admin, and a
    report for the DMARC page."""
    key = admin.generate_key()
    configure(
        database=DatabaseConfig(
            postgres_proxy.url.render_as_string(hide_password=False), tmp_path / "data"
        ),
        secret_key=Secret(key),
        auth=AuthConfig(mode=AuthMode.LOCAL),
    )
    store = admin.Store(postgres_proxy.direct, secret_key=key)
    store.create_account("Bluebird Bakery", "pro")
    store.users.add_user("dana", "admin", Secret(PASSWORD))
    store.close()
    reports = ReportStore(postgres_proxy.direct)
    reports.import_paths([USSSA])
    reports.close()
    return postgres_proxy


def run(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def sign_in(at: AppTest) -> AppTest:
    at.text_input[0].input("dana")
    at.text_input[1].input(PASSWORD)
    at.button[0].click()
    return run(at)


def said(at: AppTest) -> str:
    """The errors as a person reads them (the page shows messages as text, escapes and all)."""
    return "\n".join(rendered(e.value) for e in at.error)


def titles(at: AppTest) -> list[str]:
    return [t.value for t in at.title]


@pytest.mark.postgres
def test_the_overview_and_the_gate_say_so_and_work_again(desk: ProxiedPostgres) -> None:
    at = sign_in(run(AppTest.from_file(APP, default_timeout=60)))
    assert titles(at) == ["Overview"]
    assert not said(at)

    desk.proxy.cut()  # the server goes away: the gate's session check is the first to fail
    run(at)
    assert UNAVAILABLE in said(at)
    assert "Overview" not in titles(at)

    desk.proxy.restore()
    run(at)
    assert titles(at) == ["Overview"]
    assert not said(at)

    # Killed in the middle of the page, while the sidebar asks for the accounts.
    with backend_killed_on(desk.direct, "accounts") as killed:
        run(at)
    assert killed.pids
    assert titles(at) == ["Overview"]  # what the page drew before stays
    assert UNAVAILABLE in said(at)
    at.button(key="desk_database_try_again").click()
    run(at)
    assert titles(at) == ["Overview"]
    assert not said(at)
    assert at.sidebar.selectbox[0].value is not None


@pytest.mark.postgres
def test_the_dmarc_reports_page_says_so_and_works_again(desk: ProxiedPostgres) -> None:
    at = sign_in(run(AppTest.from_file(APP, default_timeout=60)))
    run(at.switch_page("pages/dmarc_reports.py"))
    assert titles(at) == ["DMARC reports"]
    assert at.selectbox(key="dmarc_domain").value == "example.com"

    with backend_killed_on(desk.direct, "dmarc_store_state") as killed:
        run(at)
    assert killed.pids
    assert UNAVAILABLE in said(at)

    desk.proxy.cut()
    run(at)
    assert UNAVAILABLE in said(at)

    desk.proxy.restore()
    run(at)
    assert titles(at) == ["DMARC reports"]
    assert at.selectbox(key="dmarc_domain").value == "example.com"
    assert not said(at)


@pytest.mark.postgres
def test_a_sign_in_while_the_database_is_away_is_answered_plainly(desk: ProxiedPostgres) -> None:
    at = run(AppTest.from_file(APP, default_timeout=60))
    desk.proxy.cut()
    at = sign_in(at)
    assert UNAVAILABLE in said(at)
    assert titles(at) == ["Deliverability desk"]
    desk.proxy.restore()
    at = sign_in(run(at))
    assert titles(at) == ["Overview"]


def test_a_sign_in_behind_a_writer_that_keeps_the_lock_is_told_busy(
    tmp_path: Path, configure: Configure
) -> None:
    path = tmp_path / "desk.sqlite"
    config = configure(
        database=DatabaseConfig(f"sqlite:///{path}", tmp_path / "data", busy_seconds=0.5),
        secret_key=Secret(admin.generate_key()),
        auth=AuthConfig(mode=AuthMode.LOCAL),
    )
    store = admin.Store.from_config(config)
    store.create_account("Bluebird Bakery", "pro")
    store.users.add_user("dana", "admin", Secret(PASSWORD))
    store.close()

    at = run(AppTest.from_file(APP, default_timeout=60))
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")  # an import, say, that does not let go
        at = sign_in(at)
        assert BUSY in said(at)
        assert [b.label for b in at.button] == ["Sign in"]
    finally:
        holder.rollback()
        holder.close()
    at = sign_in(at)
    assert titles(at) == ["Overview"]


@pytest.mark.postgres
def test_signing_out_while_the_database_is_away_still_signs_out(desk: ProxiedPostgres) -> None:
    at = sign_in(run(AppTest.from_file(APP, default_timeout=60)))
    desk.proxy.cut()
    at.button(key="desk_sign_out").click()
    run(at)
    assert titles(at) == ["Deliverability desk"]  # said once, on a screen of its own
    assert UNAVAILABLE in said(at)
    desk.proxy.restore()
    run(at)
    assert [b.label for b in at.button] == ["Sign in"]  # signed out all the same
    assert "Signed out. The database did not answer" in said(at)
