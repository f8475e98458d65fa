"""The page queries read the rollup through its index, never the records, and the drill-down and
the rollup's own upkeep read records through the indexes built for them (SQLite's query plans): what
keeps them under 2 s over a million records (bench/dmarc_import_bench.py measures it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from diagnostics.dmarc import ReportStore
from diagnostics.dmarc.store import _queries as queries

COVERING = "USING COVERING INDEX ix_dmarc_records_domain_begin"
ROLLUP = ("INDEX ix_dmarc_rollup_domain_begin", "COVERING INDEX ix_dmarc_rollup_verdicts")


def _plan(store: ReportStore, query) -> list[str]:
    sql = str(query.compile(store.engine, compile_kwargs={"literal_binds": True}))
    with store.engine.connect() as connection:
        return [row[-1] for row in connection.exec_driver_sql("EXPLAIN QUERY PLAN " + sql)]


@pytest.fixture
def store(tmp_path: Path):
    opened = ReportStore(f"sqlite:///{tmp_path / 'plans.sqlite'}")
    yield opened
    opened.close()


@pytest.mark.parametrize(
    "build",
    [
        queries.volume_by_day_query,
        queries.by_source_query,
        queries.by_service_query,
        queries.verdicts_query,
    ],
)
@pytest.mark.parametrize("period", [(None, None), ("2024-01-01", "2024-01-31")])
def test_aggregations_read_the_rollup_by_its_index_and_never_the_records(
    store, build, period
) -> None:
    plan = _plan(store, build("example.com", *period))
    rollup = [step for step in plan if "dmarc_rollup" in step]
    assert rollup, plan
    assert all(any(index in step for index in ROLLUP) for step in rollup), plan
    assert not any("dmarc_records" in step for step in plan), plan


def test_the_rollup_of_a_day_is_summed_from_the_covering_index(store) -> None:
    from diagnostics.dmarc.store import _rollup as rollup

    query = rollup._summed(*rollup._on_day(rollup._r, "example.com", 19_000))
    plan = _plan(store, query)
    records = [step for step in plan if "dmarc_records" in step]
    assert records, plan
    assert all("ix_dmarc_records_domain_begin" in step for step in records), plan


def test_drill_down_uses_the_report_index(store) -> None:
    plan = _plan(store, queries.records_query(None, None, None, report_pk=1))
    assert any("ix_dmarc_records_report" in step for step in plan), plan


def test_verdicts_are_grouped_by_walking_their_index_not_by_sorting(store) -> None:
    plan = _plan(store, queries.verdicts_query("example.com", None, None))
    assert any("COVERING INDEX ix_dmarc_rollup_verdicts" in step for step in plan), plan
    assert not any("TEMP B-TREE FOR GROUP BY" in step for step in plan), plan
