"""The support queue refreshed by the app itself (issue 16, "refreshed after each import and each
test"): an Overview visit saves the row from the diagnosis it got, a test on the Test mail page and
an import on the DMARC reports page refresh the rows they changed; an analyst's Overview writes
nothing; a refresh that fails leaves the row marked and the page whole."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from streamlit.testing.v1 import AppTest

import admin
from admin.queue_refresh import refresh_accounts
from admin.troubles import TroubleKind
from tests.pages.conftest import Configure
from tests.pages.test_auth import LOCAL, add, open_app, sign_in
from tests.pages.test_overview import (
    BAKERY,
    PLATFORM_IP,
    SENDGRID_IP,
    choose_account,
    desk,
)
from tests.pages.test_overview import open_page as open_overview
from tests.pages.test_test_mail import SENDGRID_KEY, ca, sendgrid, server, store
from tests.support.smtpserver import Behaviour
from tests.support.trend_reports import aggregate_xml

ROOT = Path(__file__).resolve().parents[2]
DMARC_PAGE = str(ROOT / "pages" / "dmarc_reports.py")
TEST_MAIL_PAGE = str(ROOT / "pages" / "test_mail.py")

__all__ = ["ca", "desk", "server", "store"]  # the fixtures, shared with their own page tests


def account_id(store: admin.Store, name: str) -> int:
    return next(a.id for a in store.list_accounts() if a.name == name)


def fail_a_test(store: admin.Store, account: int) -> None:
    (conn,) = store.list_connections(account)
    store.record_probe(
        account, conn.id, {"ok": False, "symptom": "auth_failed", "stage": "auth", "duration": 0.1}
    )


def test_an_overview_visit_saves_the_row_from_its_diagnosis(desk) -> None:
    store, _, _ = desk
    bakery = account_id(store, "Bluebird Bakery")
    assert store.queue.entry(bakery) is None
    at = open_overview()  # the first account: Bluebird Bakery
    first = store.queue.entry(bakery)
    assert first is not None
    assert not first.stale
    assert TroubleKind.CONNECTION_FAILING not in first.kinds

    fail_a_test(store, bakery)  # a test recorded elsewhere marks the row
    assert store.queue.entry(bakery).stale  # type: ignore[union-attr]
    at.run()  # the newest test changes what the diagnosis rests on: a new one
    assert not at.exception, [e.value for e in at.exception]
    second = store.queue.entry(bakery)
    assert second is not None
    assert not second.stale
    assert second.kinds[0] is TroubleKind.CONNECTION_FAILING
    assert second.refreshed_at > first.refreshed_at


def test_run_test_on_the_overview_refreshes_the_row(desk) -> None:
    store, _, _ = desk
    lumen = account_id(store, "Lumen Fitness")
    at = choose_account(open_overview(), store, "Lumen Fitness")
    before = store.queue.entry(lumen)
    assert before is not None
    assert TroubleKind.CONNECTION_FAILING not in before.kinds
    next(b for b in at.button if b.label == "Run test").click().run()
    assert not at.exception, [e.value for e in at.exception]
    after = store.queue.entry(lumen)
    assert after is not None
    assert not after.stale
    assert after.kinds[0] is TroubleKind.CONNECTION_FAILING  # no SES host on loopback DNS


def test_an_analysts_overview_writes_nothing(desk, configure: Configure) -> None:
    store, _, _ = desk
    configure(auth=LOCAL)
    add(store, "ann", "analyst")
    at = sign_in(open_app(), "ann")
    at.switch_page("pages/overview.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(s.value.startswith("Bluebird Bakery") for s in at.subheader)
    # The page drew the diagnosis, without connections: no row is written from it.
    assert store.queue.counts()["accounts"] == 0


def test_a_refresh_that_fails_leaves_the_row_marked_and_the_page_whole(desk) -> None:
    store, reports, _ = desk
    bakery = account_id(store, "Bluebird Bakery")
    open_overview()
    fail_a_test(store, bakery)
    # The database refuses every change to the queue (as a constraint would): a real failure.
    with reports.engine.begin() as connection:
        connection.exec_driver_sql(
            "CREATE TRIGGER refuse BEFORE UPDATE ON support_queue "
            "BEGIN SELECT RAISE(ABORT, 'the queue is read-only'); END"
        )
    at = open_overview()
    assert [s.value for s in at.subheader][:2] == [
        "Bluebird Bakery · Nano",
        "Live connection: SendGrid",
    ]
    assert any(s.value == "What to fix first" for s in at.subheader)
    said = " ".join(str(m.value) for m in [*at.error, *at.warning, *at.info, *at.success])
    assert said
    assert "read-only" not in said
    assert store.queue.entry(bakery).stale  # type: ignore[union-attr]
    with reports.engine.begin() as connection:
        connection.exec_driver_sql("DROP TRIGGER refuse")
    open_overview()
    assert not store.queue.entry(bakery).stale  # type: ignore[union-attr]


def test_a_test_on_the_test_mail_page_refreshes_the_row(store, server) -> None:
    smtp = server(Behaviour(users={"apikey": SENDGRID_KEY}))
    account = store.create_account("Bluebird Bakery", "nano")
    store.add_connection(account.id, sendgrid(smtp.port, "bob"), label="SendGrid")
    assert store.queue.entry(account.id) is None
    at = AppTest.from_file(TEST_MAIL_PAGE, default_timeout=30).run()
    next(b for b in at.button if b.label == "Check connection").click().run()
    assert not at.exception, [e.value for e in at.exception]
    entry = store.queue.entry(account.id)
    assert entry is not None
    assert not entry.stale
    assert TroubleKind.CONNECTION_FAILING in entry.kinds
    # Its alerts are evaluated at once (sent by the next alert run).
    opened = store.alerts.history(active=True, account_id=account.id)
    assert TroubleKind.CONNECTION_FAILING in [alert.kind for alert in opened]


def test_an_import_refreshes_the_rows_of_its_domains(desk, tmp_path: Path) -> None:
    store, reports, server = desk
    now = dt.datetime.now(dt.UTC)
    # Two weeks ago the bakery's mail came from SendGrid and the platform, passing.
    earlier = aggregate_xml(
        BAKERY,
        now - dt.timedelta(days=14),
        [(SENDGRID_IP, 100, True), (PLATFORM_IP, 100, True)],
        report_id="earlier",
    )
    reports.import_files([earlier])
    refresh_accounts(
        store, store.queue.to_refresh(), report_store=reports, resolver=server.resolver()
    )
    bakery = account_id(store, "Bluebird Bakery")
    before = store.queue.entry(bakery)
    assert before is not None
    assert TroubleKind.UNKNOWN_SENDERS not in before.kinds

    # This week a new sender failing DMARC sends most of its mail.
    new = aggregate_xml(
        BAKERY, now - dt.timedelta(days=1), [("192.0.2.77", 2000, False)], report_id="new"
    )
    at = AppTest.from_file(DMARC_PAGE, default_timeout=60).run()
    at.file_uploader[0].set_value([("new.xml", new, "text/xml")]).run()
    next(b for b in at.button if b.label == "Import").click().run()
    assert not at.exception, [e.value for e in at.exception]
    after = store.queue.entry(bakery)
    assert after is not None
    assert not after.stale
    assert TroubleKind.UNKNOWN_SENDERS in after.kinds
    assert after.refreshed_at > before.refreshed_at
    opened = store.alerts.history(active=True, account_id=bakery)
    assert TroubleKind.UNKNOWN_SENDERS in [alert.kind for alert in opened]
    assert store.queue.to_refresh(domains=[BAKERY]) == []
