"""Many small reports in one batch (a mailbox's backlog) are written together (_ingest._write_many):
each still stored once, counted as its own, summed right in the rollup, and one the database
refuses is refused alone, on SQLite and PostgreSQL."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import text

from diagnostics.dmarc import load_reports
from diagnostics.dmarc.store import ReportStore
from tests.diagnostics.dmarc.store.store_fixtures import *  # noqa: F403
from tests.support.reportmail import report_xml

REFUSED = "the database refused part of this report, so none of it was stored"


def _batch(*numbers: int):  # type: ignore[no-untyped-def]
    files = []
    for position, number in enumerate(numbers):
        handle = io.BytesIO(report_xml(number))
        handle.name = f"report-{position}-{number}.xml"
        files.append(handle)
    return load_reports(files)


def _counts(summary) -> list[tuple[str, int, int, int]]:  # type: ignore[no-untyped-def]
    return [(r.source, r.imported, r.duplicates, r.rejected) for r in summary.files]


def _records_total(store: ReportStore) -> int:
    return int(store.records()["count"].sum())


def test_a_batch_of_small_reports_is_stored_once_each_and_summed_right(
    store: ReportStore,
) -> None:
    first = store.import_batch(_batch(1, 2, 1, 3))
    assert _counts(first) == [
        ("report-0-1.xml", 1, 0, 0),
        ("report-1-2.xml", 1, 0, 0),
        ("report-2-1.xml", 0, 1, 0),  # the same report twice in one batch: stored once
        ("report-3-3.xml", 1, 0, 0),
    ]
    again = store.import_batch(_batch(3, 4))
    assert _counts(again) == [("report-0-3.xml", 0, 1, 0), ("report-1-4.xml", 1, 0, 0)]
    assert sorted(store.reports()["report_id"]) == [f"desk-test-{n}" for n in (1, 2, 3, 4)]
    # The rollup the pages read sums to the records, however the reports were grouped.
    assert int(store.volume_by_day()["messages"].sum()) == _records_total(store) > 0
    assert store.generation() >= 2


def test_a_report_the_database_refuses_is_refused_alone(store: ReportStore) -> None:
    # A real refusal by the database: a trigger that aborts the insert of one report.
    with store.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(
                text(
                    "CREATE FUNCTION refuse_nine() RETURNS trigger AS $$ BEGIN "
                    "IF NEW.report_id = 'desk-test-9' THEN RAISE EXCEPTION 'refused'; END IF; "
                    "RETURN NEW; END $$ LANGUAGE plpgsql"
                )
            )
            connection.execute(
                text(
                    "CREATE TRIGGER refuse_nine BEFORE INSERT ON dmarc_reports "
                    "FOR EACH ROW EXECUTE FUNCTION refuse_nine()"
                )
            )
        else:
            # Not RAISE(), which SQLite reports as a constraint (a duplicate): a runtime error.
            connection.execute(
                text(
                    "CREATE TRIGGER refuse_nine BEFORE INSERT ON dmarc_reports "
                    "WHEN NEW.report_id = 'desk-test-9' "
                    "BEGIN SELECT abs(-9223372036854775807 - 1); END"
                )
            )
    summary = store.import_batch(_batch(7, 9, 8))
    assert _counts(summary) == [
        ("report-0-7.xml", 1, 0, 0),
        ("report-1-9.xml", 0, 0, 1),
        ("report-2-8.xml", 1, 0, 0),
    ]
    assert summary.files[1].reasons == (REFUSED,)
    assert sorted(store.reports()["report_id"]) == ["desk-test-7", "desk-test-8"]
    assert int(store.volume_by_day()["messages"].sum()) == _records_total(store) > 0


@pytest.mark.parametrize("chunk_rows", [1, 3])
def test_small_chunks_still_write_every_report(make_store, chunk_rows: int) -> None:  # type: ignore[no-untyped-def]
    store = make_store(chunk_rows=chunk_rows)
    summary = store.import_batch(_batch(*range(20, 30)))
    assert [r.imported for r in summary.files] == [1] * 10
    assert int(store.volume_by_day()["messages"].sum()) == _records_total(store)


def test_compaction_can_wait_for_the_last_batch(store: ReportStore) -> None:
    def rollup_rows() -> int:
        with store.engine.connect() as connection:
            return int(connection.execute(text("SELECT count(*) FROM dmarc_rollup")).scalar_one())

    touched: set[tuple[str, int | None]] = set()
    for first in (60, 70, 80):
        store.import_batch(_batch(first, first + 1), touched=touched)
    assert touched  # the day the reports start on, not compacted yet
    before = rollup_rows()
    # Right already: readers sum the rollup's rows, however many there are.
    assert int(store.volume_by_day()["messages"].sum()) == _records_total(store)
    store.compact(touched)
    assert not touched
    assert rollup_rows() < before  # three batches' rows of one day, merged into one set
    assert int(store.volume_by_day()["messages"].sum()) == _records_total(store)
