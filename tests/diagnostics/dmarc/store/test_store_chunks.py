"""Imports commit a chunk at a time, yet every reader sees a report whole or not at all: a large
report is invisible until its last chunk, a sign-in never waits long behind its import, a crash
leaves nothing visible and the next import stores the report once, and two imports of the same
report at once store it once."""

from __future__ import annotations

import itertools
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Connection, create_engine, event, func, select, text, update
from sqlalchemy.engine import URL

from admin import Store
from admin.passwords import Hasher
from diagnostics.database import WRITE
from diagnostics.dmarc.store import ReportStore
from diagnostics.dmarc.store import _claims as claims
from diagnostics.dmarc.store import _rollup as rollup
from diagnostics.dmarc.store import _schema as schema
from diagnostics.dmarc.store import _tables as tables
from diagnostics.secret import Secret
from tests.diagnostics.dmarc.conftest import SAMPLES
from tests.diagnostics.dmarc.store.store_fixtures import *  # noqa: F403
from tests.support.big_reports import write_aggregate

ROOT = Path(__file__).resolve().parents[4]
LARGE = SAMPLES / "aggregate" / "!large-example.com!1711897200!1711983600.xml"
LARGE_RECORDS = 2286
BIG_RECORDS = 100_000
CRASH_RECORDS = 30_000  # three chunks of the default size
PASSWORD = "chunked import password 4417"


@pytest.fixture(scope="module")
def big_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One receiver's report of 100,000 records (ten chunks; written once for the module)."""
    return write_aggregate(tmp_path_factory.mktemp("big") / "big.xml", BIG_RECORDS)


@pytest.fixture(scope="module")
def report_to_crash(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A report of three chunks: large enough to kill its import in the middle."""
    return write_aggregate(
        tmp_path_factory.mktemp("crash") / "crash.xml", CRASH_RECORDS, report_id="crash-1"
    )


def _counts(url: str | URL) -> dict[str, int]:
    """What the tables hold, visible or not, read past the store."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return {
                table.name: int(
                    connection.execute(select(func.count()).select_from(table)).scalar_one()
                )
                for table in (tables.reports, tables.records, tables.rollup_pending)
            }
    finally:
        engine.dispose()


def _nothing_visible(store: ReportStore) -> None:
    assert store.reports().empty
    assert store.domains().empty
    assert store.records(limit=10).empty
    assert store.verdicts().empty
    assert store.volume_by_day().empty
    assert store.by_source().empty


def _locked(sqlite_url: str) -> bool:
    """True while some connection holds the SQLite database's write lock."""
    probe = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"), timeout=0, isolation_level=None)
    try:
        probe.execute("BEGIN IMMEDIATE")
        probe.rollback()
        return False
    except sqlite3.OperationalError:
        return True
    finally:
        probe.close()


def _whole_or_nothing(store: ReportStore, records: int) -> bool:
    """Each reader sees the one report being imported whole or not at all; True if whole."""
    messages = int(store.volume_by_day()["messages"].sum())
    assert messages in (0, records)
    assert int(store.verdicts()["count"].sum()) in (0, records)
    domains = store.domains()
    assert domains.empty or int(domains["records"].sum()) == records
    assert len(store.reports()) in (0, 1)
    return messages == records


def _import_in_another_process(database: str, path: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "diagnostics",
            "reports",
            "import",
            str(path),
            "--database",
            database,
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _until(condition: Callable[[], bool], what: str, *, within: float = 120.0) -> None:
    # Another process's progress has no event to wait on: look again shortly.
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting: {what}"
        time.sleep(0.05)


@pytest.fixture
def sqlite_file(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'desk.sqlite'}"


def test_a_sign_in_never_waits_long_behind_a_large_import(
    sqlite_file: str, big_report: Path, tmp_path: Path
) -> None:
    desk = Store(sqlite_file, key_file=tmp_path / "secret.key", password_hasher=Hasher(fast=True))
    desk.users.add_user("dana", "support", Secret(PASSWORD))
    reports = ReportStore(sqlite_file)
    importing = _import_in_another_process(sqlite_file, big_report)
    try:
        _until(lambda: _locked(sqlite_file), "the import taking the write lock")
        began = time.monotonic()
        waits: list[float] = []
        seen_partial = 0
        while importing.poll() is None:
            started = time.monotonic()
            result = desk.users.sign_in("dana", Secret(PASSWORD))
            waits.append(time.monotonic() - started)
            assert result.ok, result.message
            # The report being written is invisible to every reader until its last chunk.
            written = _counts(sqlite_file)["dmarc_records"]
            if not _whole_or_nothing(reports, BIG_RECORDS) and 0 < written < BIG_RECORDS:
                seen_partial += 1
        took = time.monotonic() - began
    finally:
        out, err = importing.communicate(timeout=300)
    assert importing.returncode == 0, err
    assert f"{BIG_RECORDS:,} records" in out
    # Before, a sign-in waited for the whole import (or 30 s, then "database is locked"); now for
    # one chunk at most, a small part of it however loaded the machine: 0.5 s on a quiet one.
    shown = f"sign-ins took {[round(w, 2) for w in waits]} s during a {took:.1f} s import"
    assert max(waits) < min(5.0, took / 4), shown
    assert len(waits) >= 3, shown
    assert seen_partial >= 2, "the import finished before it could be watched"
    assert int(reports.volume_by_day()["messages"].sum()) == BIG_RECORDS
    reports.close()
    desk.close()


def test_a_crash_leaves_nothing_visible_and_the_next_import_stores_it_once(
    db_url: URL, report_to_crash: Path
) -> None:
    database = db_url.render_as_string(hide_password=False)
    reports = ReportStore(db_url)
    importing = _import_in_another_process(database, report_to_crash)
    try:
        _until(lambda: _counts(db_url)["dmarc_records"] > 0, "a chunk of the import committed")
    finally:
        os.kill(importing.pid, signal.SIGKILL)  # a crash: nothing of the importer runs after
        importing.communicate(timeout=60)
    assert importing.returncode == -signal.SIGKILL
    left = _counts(db_url)
    assert left["dmarc_reports"] == 1
    assert 0 < left["dmarc_records"] < CRASH_RECORDS
    _nothing_visible(reports)

    # The next open removes what the crash left; the next import stores the report, once.
    ReportStore(db_url).close()
    assert _counts(db_url) == {"dmarc_reports": 0, "dmarc_records": 0, "dmarc_rollup_pending": 0}
    summary = reports.import_paths([report_to_crash])
    assert (summary.imported, summary.duplicates, summary.records) == (1, 0, CRASH_RECORDS)
    assert _counts(db_url)["dmarc_records"] == CRASH_RECORDS
    assert int(reports.volume_by_day()["messages"].sum()) == CRASH_RECORDS
    assert reports.import_paths([report_to_crash]).duplicates == 1
    reports.close()


def test_a_report_being_imported_is_invisible_to_every_reader(db_url: URL, tmp_path: Path) -> None:
    path = write_aggregate(tmp_path / "mid.xml", 6_000, report_id="mid-1")
    writer = ReportStore(db_url, chunk_rows=1_000)
    reader = ReportStore(db_url)
    # The import stops as it begins its fourth write (its claim and two chunks committed) until
    # the readers have been looked at.
    paused, resume = threading.Event(), threading.Event()
    writes = itertools.count(1)

    def pause_at_the_third_chunk(connection: Connection) -> None:
        if connection.get_execution_options().get(WRITE) and next(writes) == 4:
            paused.set()
            resume.wait(60)

    event.listen(writer.engine, "begin", pause_at_the_third_chunk)
    done: dict[str, object] = {}
    thread = threading.Thread(target=lambda: done.update(summary=writer.import_paths([path])))
    thread.start()
    try:
        assert paused.wait(60), "the import never reached its third chunk"
        assert _counts(db_url)["dmarc_records"] == 2_000
        _nothing_visible(reader)
        assert reader.generation() == 0  # nothing a reader keeps has changed
    finally:
        resume.set()
        thread.join(120)
    summary = done["summary"]
    assert summary.imported == 1  # type: ignore[attr-defined]
    assert len(reader.records()) == 6_000
    assert int(reader.verdicts()["count"].sum()) == 6_000
    assert reader.generation() == 1
    assert _counts(db_url)["dmarc_rollup_pending"] == 0  # the staged sums are gone once copied
    writer.close()
    reader.close()


def test_two_imports_of_one_report_at_once_store_it_once(db_url: URL) -> None:
    stores = [ReportStore(db_url, chunk_rows=500) for _ in range(3)]
    start = threading.Barrier(len(stores))
    results: dict[int, object] = {}

    def run(n: int) -> None:
        start.wait()
        results[n] = stores[n].import_paths([LARGE])

    threads = [threading.Thread(target=run, args=(n,)) for n in range(len(stores))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    summaries = [results[n] for n in range(len(stores))]
    assert sum(s.imported for s in summaries) == 1  # type: ignore[attr-defined]
    assert sum(s.duplicates for s in summaries) == len(stores) - 1  # type: ignore[attr-defined]
    assert _counts(db_url) == {
        "dmarc_reports": 1,
        "dmarc_records": LARGE_RECORDS,
        "dmarc_rollup_pending": 0,
    }
    assert len(stores[0].records()) == LARGE_RECORDS
    records = stores[0].records()
    assert int(stores[0].verdicts()["count"].sum()) == int(records["count"].sum())
    for store in stores:
        store.close()


def test_a_claim_holds_while_its_import_lives() -> None:
    now = int(time.time())
    lease = now + claims.LEASE_SECONDS
    with claims.claiming() as mine:
        assert not claims.abandoned(str(mine), lease, now)  # an import running in this process
    assert claims.abandoned(str(mine), lease, now)  # ... and over
    assert claims.abandoned(str(mine), now - 1, now)  # a lease run out
    assert not claims.abandoned(None, None, now)  # not a claim: a complete report

    here = claims.this_machine()
    alive = claims.Owner(here, os.getppid(), "t")  # the process that started this one
    assert not claims.abandoned(str(alive), lease, now)
    ended = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    gone = claims.Owner(here, int(ended.stdout), "t")
    assert claims.abandoned(str(gone), lease, now)
    # Another machine's processes cannot be seen from here: its lease decides.
    elsewhere = claims.Owner("another-host", int(ended.stdout), "t")
    assert not claims.abandoned(str(elsewhere), lease, now)
    assert claims.abandoned(str(elsewhere), now - 1, now)
    assert claims.Owner.parse(str(alive)) == alive
    assert claims.Owner.parse("not a claim") is None


def test_a_store_from_before_chunked_imports_is_upgraded_with_its_data(
    db_url: URL, tmp_path: Path
) -> None:
    store = ReportStore(db_url)
    store.import_paths([LARGE])
    with store.engine.begin() as connection:  # back to schema 2: no claims, no staged rollup
        connection.execute(text("DROP INDEX ix_dmarc_reports_importing"))
        connection.execute(text("DROP TABLE dmarc_rollup_pending"))
        for column in ("import_owner", "import_lease"):
            connection.execute(text(f"ALTER TABLE dmarc_reports DROP COLUMN {column}"))
        connection.execute(update(tables.schema_version).values(version=2))
    store.close()

    reopened = ReportStore(db_url, chunk_rows=500)
    try:
        with reopened.engine.connect() as connection:
            version = connection.execute(select(tables.schema_version.c.version)).scalar()
        assert version == schema.SCHEMA_VERSION == 4
        assert len(reopened.records()) == LARGE_RECORDS  # stored before: complete, visible
        summary = reopened.import_paths([write_aggregate(tmp_path / "after.xml", 3_000)])
        assert summary.imported == 1
        assert int(reopened.volume_by_day("bulk.example")["messages"].sum()) == 3_000
    finally:
        reopened.close()


def test_an_import_in_tiny_chunks_sums_and_compacts_like_one_transaction(
    db_url: URL, tmp_path: Path
) -> None:
    # chunk_rows=1: every report is written in steps, and the day is compacted an address per
    # transaction; the rollup must end as one import in one transaction leaves it.
    from tests.diagnostics.dmarc.store.test_store_rollup import (
        _one_day_reports,
        _rollup_rows,
        _sums_from_records,
        _sums_from_verdicts,
    )

    tiny = ReportStore(db_url, chunk_rows=1)
    files = _one_day_reports(tmp_path, 6)
    summary = tiny.import_paths(files)
    assert (summary.imported, summary.records) == (6, 12)
    assert _rollup_rows(tiny) == 2  # twelve rows from six receivers, compacted to one per sender
    pd.testing.assert_series_equal(_sums_from_verdicts(tiny), _sums_from_records(tiny))
    assert _counts(db_url)["dmarc_rollup_pending"] == 0
    assert tiny.import_paths(files).duplicates == 6
    # A whole-day compaction in one transaction (a repair) comes to the same.
    with tiny.engine.begin() as connection:
        rollup.refresh(connection, [("oneday.example", 1763942400 // 86400)])
    assert _rollup_rows(tiny) == 2
    pd.testing.assert_series_equal(_sums_from_verdicts(tiny), _sums_from_records(tiny))
    tiny.close()
