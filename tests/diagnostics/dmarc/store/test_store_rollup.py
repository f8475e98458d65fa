"""`dmarc_rollup` stays equal to the records it sums, however they arrive: one import or many,
duplicates, a schema upgrade from a store written before the rollup existed; and the store's
generation counts every write, so readers can tell a kept result is stale."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from sqlalchemy import delete, func, inspect, select, text, update

from diagnostics.dmarc._keys import KEYS
from diagnostics.dmarc.store import ReportStore
from diagnostics.dmarc.store import _schema as schema
from diagnostics.dmarc.store import _tables as tables
from diagnostics.enrich import Enrichment
from tests.diagnostics.dmarc.conftest import SAMPLES
from tests.diagnostics.dmarc.store.store_fixtures import *  # noqa: F403

FILES = sorted((SAMPLES / "aggregate").iterdir())


def _sums_from_records(store: ReportStore, domain: str | None = None, start=None, end=None):
    """What the rollup must add up to, computed by pandas from the raw records."""
    records = store.records(domain, start, end)
    keys = list(KEYS)
    frame = records[[*keys, "count"]].astype({k: object for k in keys})
    frame[keys] = frame[keys].where(frame[keys].notna(), "\0null")  # NULLs group together, as SQL
    return frame.groupby(keys, dropna=False)["count"].sum().sort_index()


def _sums_from_verdicts(store: ReportStore, domain: str | None = None, start=None, end=None):
    verdicts = store.verdicts(domain, start, end)
    keys = list(KEYS)
    frame = verdicts[[*keys, "count"]].astype({k: object for k in keys})
    frame[keys] = frame[keys].where(frame[keys].notna(), "\0null")
    return frame.groupby(keys, dropna=False)["count"].sum().sort_index()


def _rollup_rows(store: ReportStore) -> int:
    with store.engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(tables.rollup)).scalar_one())


def test_one_import_sums_like_the_records(store: ReportStore) -> None:
    store.import_paths(FILES)
    want = _sums_from_records(store)
    assert len(want) > 10
    assert int(want.sum()) > 0
    pd.testing.assert_series_equal(_sums_from_verdicts(store), want)


def test_a_day_imported_in_parts_is_summed_once(store: ReportStore) -> None:
    # Each file alone, so each import refreshes days others already wrote.
    for path in FILES:
        store.import_paths([path])
    store.import_paths(FILES)  # all duplicates now: nothing may be counted twice
    pd.testing.assert_series_equal(_sums_from_verdicts(store), _sums_from_records(store))
    assert store.volume_by_day()["messages"].sum() == store.records()["count"].sum()


def test_periods_cut_exactly_where_the_records_cut(store: ReportStore) -> None:
    store.import_paths(FILES)
    begins = store.records()["begin"].dropna().sort_values().unique()
    assert len(begins) >= 3
    # An instant inside the data (not a day boundary), and whole days.
    middle = pd.Timestamp(begins[len(begins) // 2]).to_pydatetime()
    for start, end in [
        (middle, None),
        (None, middle),
        (middle - dt.timedelta(seconds=1), middle + dt.timedelta(seconds=1)),
        ("2018-06-01", "2018-10-01"),
    ]:
        want = _sums_from_records(store, None, start, end)
        pd.testing.assert_series_equal(_sums_from_verdicts(store, None, start, end), want)


def test_a_store_from_before_the_rollup_is_upgraded_with_its_data(db_url) -> None:
    store = ReportStore(db_url)
    store.import_paths(FILES)
    want = _sums_from_records(store)
    # Back to schema 1: no rollup, no generation.
    with store.engine.begin() as connection:
        connection.execute(delete(tables.rollup))
        connection.execute(delete(tables.store_state))
        connection.execute(update(tables.schema_version).values(version=1))
    store.close()

    reopened = ReportStore(db_url)
    try:
        assert _rollup_rows(reopened) > 0
        pd.testing.assert_series_equal(_sums_from_verdicts(reopened), want)
        assert reopened.generation() == 0
        with reopened.engine.connect() as connection:
            version = connection.execute(select(tables.schema_version.c.version)).scalar()
        assert version == schema.SCHEMA_VERSION
    finally:
        reopened.close()


def test_a_store_from_before_the_dkim_selectors_is_upgraded_with_its_data(db_url) -> None:
    # Schema 3's verdicts had no DKIM selectors: the upgrade adds the column to the rollup and
    # the staged rollup, remakes SQLite's verdicts index and sums both again from the records.
    store = ReportStore(db_url)
    store.import_paths(FILES)
    want = _sums_from_records(store)
    assert store.records()["dkim_selectors"].notna().any()
    with store.engine.begin() as connection:  # back to schema 3
        connection.execute(text("DROP INDEX IF EXISTS ix_dmarc_rollup_verdicts"))
        for table in ("dmarc_rollup", "dmarc_rollup_pending"):
            connection.execute(text(f"ALTER TABLE {table} DROP COLUMN dkim_selectors"))
        connection.execute(update(tables.schema_version).values(version=3))
    store.close()

    reopened = ReportStore(db_url)
    try:
        with reopened.engine.connect() as connection:
            version = connection.execute(select(tables.schema_version.c.version)).scalar()
            found = inspect(connection)
            columns = {c["name"] for c in found.get_columns("dmarc_rollup")}
            staged = {c["name"] for c in found.get_columns("dmarc_rollup_pending")}
            indexes = {i["name"] for i in found.get_indexes("dmarc_rollup")}
        assert version == schema.SCHEMA_VERSION == 4
        assert "dkim_selectors" in columns
        assert "dkim_selectors" in staged
        if reopened.engine.dialect.name == "sqlite":
            assert "ix_dmarc_rollup_verdicts" in indexes
        pd.testing.assert_series_equal(_sums_from_verdicts(reopened), want)
        assert reopened.verdicts()["dkim_selectors"].notna().any()
    finally:
        reopened.close()


def test_the_upgrade_sums_a_report_still_being_imported_again(store: ReportStore) -> None:
    # A report an import is writing has its chunks' sums staged; the upgrade stages them anew,
    # selectors included, from the records it has written so far.
    from diagnostics.dmarc.store import _rollup as rollup

    store.import_paths(FILES[:1])
    with store.engine.begin() as connection:
        report_pk, end_ts = connection.execute(
            select(tables.reports.c.id, tables.reports.c.end_ts)
        ).first()
        rollup.stage(connection, report_pk, end_ts, after_id=0)  # as if still being written
        connection.execute(text("DROP INDEX IF EXISTS ix_dmarc_rollup_verdicts"))
        for table in ("dmarc_rollup", "dmarc_rollup_pending"):
            connection.execute(text(f"ALTER TABLE {table} DROP COLUMN dkim_selectors"))
    with store.engine.begin() as connection:
        schema.UPGRADES[3](connection)
        staged = connection.execute(
            select(tables.rollup_pending.c.dkim_selectors, tables.rollup_pending.c["count"])
        ).all()
    records = store.records()
    want = records.groupby(records["dkim_selectors"].fillna("\0null"))["count"].sum()
    got = pd.Series(
        [count for _, count in staged],
        index=["\0null" if selectors is None else selectors for selectors, _ in staged],
    )
    assert got.groupby(level=0).sum().sort_index().tolist() == want.sort_index().tolist()
    assert sorted(set(got.index)) == sorted(want.index)


def test_the_rollup_is_smaller_than_the_records_it_sums(store: ReportStore) -> None:
    # Two receivers reporting the same sender on the same day is the common case: one row each
    # in the records, one in the rollup.
    store.import_paths(FILES)
    records = len(store.records())
    assert _rollup_rows(store) <= records


def test_every_write_moves_the_generation_and_nothing_else_does(store: ReportStore) -> None:
    assert store.generation() == 0
    store.import_paths(FILES[:1])
    first = store.generation()
    assert first == 1
    store.verdicts()
    store.by_source()
    assert store.generation() == first  # reading writes nothing
    store.import_paths(FILES[:1])  # a duplicate: nothing stored
    assert store.generation() == first
    store.enrichment_cache().put_many([Enrichment(ip="192.0.2.1")], ttl=60)
    assert store.generation() == first + 1
    store.enrichment_cache().clear()
    assert store.generation() == first + 2


@pytest.mark.parametrize("when", ["failure", "smtp_tls"])
def test_failure_and_tls_reports_move_the_generation(store: ReportStore, when: str) -> None:
    store.import_paths([SAMPLES / when])
    after = store.generation()
    assert after > 0  # each file is its own write
    store.import_paths([SAMPLES / when])  # every one a duplicate now
    assert store.generation() == after


def _one_day_reports(folder, count: int, domain: str = "oneday.example") -> list:
    """`count` receivers' reports of one domain for one day, each naming the same two senders."""
    files = []
    for n in range(count):
        records = "".join(
            f"<record><row><source_ip>{ip}</source_ip><count>{n + 1}</count><policy_evaluated>"
            "<disposition>none</disposition><dkim>pass</dkim><spf>fail</spf></policy_evaluated>"
            f"</row><identifiers><header_from>{domain}</header_from></identifiers><auth_results>"
            f"<dkim><domain>{domain}</domain><result>pass</result></dkim><spf><domain>{domain}"
            "</domain><result>fail</result></spf></auth_results></record>"
            for ip in ("192.0.2.1", "192.0.2.2")
        )
        path = folder / f"r{n}.xml"
        path.write_text(
            '<?xml version="1.0"?><feedback><report_metadata>'
            f"<org_name>receiver{n}.example</org_name><email>a@receiver{n}.example</email>"
            f"<report_id>r{n}</report_id><date_range><begin>1763942400</begin>"
            "<end>1764028799</end></date_range></report_metadata><policy_published>"
            f"<domain>{domain}</domain><p>none</p></policy_published>{records}</feedback>"
        )
        files.append(path)
    return files


def test_an_import_compacts_the_days_it_touched_once_at_its_end(store, tmp_path) -> None:
    files = _one_day_reports(tmp_path, 12)
    store.import_paths(files)
    # Twelve receivers reported the same two senders: two rows once compacted, not 24.
    assert _rollup_rows(store) == 2
    pd.testing.assert_series_equal(_sums_from_verdicts(store), _sums_from_records(store))


def test_an_interrupted_import_leaves_the_rollup_right_and_compact(store, tmp_path) -> None:
    files = _one_day_reports(tmp_path, 6)

    def stop_after_three(done: int, total: int, name: str) -> None:
        if done == 3:
            raise KeyboardInterrupt  # a person stopping the CLI, a page rerun stopping the script

    with pytest.raises(KeyboardInterrupt):
        store.import_paths(files, progress=stop_after_three)
    assert len(store.reports()) == 3
    assert _rollup_rows(store) == 2
    pd.testing.assert_series_equal(_sums_from_verdicts(store), _sums_from_records(store))


def test_a_single_batch_is_compacted_in_its_own_transaction(store, tmp_path) -> None:
    from diagnostics.dmarc import load_reports

    store.import_batch(load_reports(_one_day_reports(tmp_path, 5)))
    assert _rollup_rows(store) == 2
    pd.testing.assert_series_equal(_sums_from_verdicts(store), _sums_from_records(store))


def test_importers_of_the_same_day_at_once_count_each_report_once(db_url, tmp_path) -> None:
    # Two processes' worth of importers (the page and the CLI, say) on one day's reports: each
    # file's add and each import's compaction overlap; PostgreSQL serializes them per day.
    from concurrent.futures import ThreadPoolExecutor

    files = _one_day_reports(tmp_path, 24)
    stores = [ReportStore(db_url) for _ in range(3)]
    try:
        with ThreadPoolExecutor(3) as pool:
            list(pool.map(lambda n: stores[n].import_paths(files[n::3]), range(3)))
        assert len(stores[0].reports()) == 24
        pd.testing.assert_series_equal(
            _sums_from_verdicts(stores[0]), _sums_from_records(stores[0])
        )
    finally:
        for one in stores:
            one.close()
