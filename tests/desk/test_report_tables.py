"""desk.report_tables: the DMARC reports page's tables from a real (temporary SQLite) report store,
without the page: sources named by service, one row per service, the volume over a readable
period, the records as CSV. The page itself is tests/pages/test_dmarc_reports.py."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from desk.report_tables import (
    by_service,
    disposition,
    records_csv,
    shown_name,
    volume_over_time,
    with_service_names,
)
from diagnostics.dmarc import ReportStore
from diagnostics.export import FORMULA_STARTS
from tests.pages.test_dmarc_reports import FAILURE, SMALL, TLS
from tests.support.hostile import FORMULAS, hostile_report


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'reports.sqlite'}"


@pytest.fixture
def filled(url: str) -> Iterator[ReportStore]:
    store = ReportStore(url)
    summary = store.import_paths([*SMALL, FAILURE, TLS])
    assert summary.ok, summary.lines()
    yield store
    store.close()


def test_the_records_csv_never_holds_a_formula(url: str) -> None:
    """A receiver writes spreadsheet formulas into a report's fields: the download quotes them,
    and the counts stay numbers."""
    store = ReportStore(url)
    assert store.import_files([hostile_report()]).ok
    data = records_csv(store, "hostile.example", None, None)
    _, *rows = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
    cells = [cell for row in rows for cell in row]
    assert not [cell for cell in cells if cell.startswith(FORMULA_STARTS)]
    # The formulas are all there, shown as text.
    for formula in FORMULAS:
        assert any(cell.lower().startswith("'" + formula.lower()[:12]) for cell in cells), formula
    exported = pd.read_csv(io.BytesIO(data))
    assert exported["count"].tolist() == store.records("hostile.example")["count"].tolist()
    store.close()


def test_sources_by_service_adds_up(filled: ReportStore) -> None:
    sources = with_service_names(filled.by_source())
    table = by_service(sources)
    assert table["messages"].sum() == sources["messages"].sum()
    assert table["service"].is_unique
    row = table.iloc[0]
    mine = sources[sources["service"] == row["service"]]
    assert row["dmarc_pass_pct"] == pytest.approx(
        100 * mine["dmarc_pass"].sum() / mine["messages"].sum()
    )
    assert by_service(sources.iloc[0:0]).empty


def test_volume_over_time_keeps_every_message_and_picks_a_readable_unit(
    filled: ReportStore,
) -> None:
    domain = filled.domains().set_index("policy_domain")["messages"].idxmax()
    volume = filled.volume_by_day(domain)
    frame, unit = volume_over_time(volume)
    span = (volume["day"].max() - volume["day"].min()).days
    assert unit == ("day" if span <= 92 else "week" if span <= 730 else "month")
    assert frame["messages"].sum() == volume["messages"].sum()
    assert frame["dmarc_pass"].sum() == volume["dmarc_pass"].sum()
    assert frame["label"].is_unique
    one_day, unit = volume_over_time(volume.tail(1))
    assert unit == "day"
    assert one_day["dmarc_pass_pct"].iloc[0] == pytest.approx(volume["dmarc_pass_pct"].iloc[-1])


def test_the_dispositions_in_words() -> None:
    assert disposition(120, 3, 0) == "delivered 120 · quarantined 3"
    assert disposition(0, 0, 1_234) == "rejected 1,234"
    assert disposition(0, 0, 0) == "—"


def test_a_stored_source_is_named_by_its_file_not_the_servers_folder() -> None:
    assert shown_name("/srv/desk/uploads/report.xml.gz#2") == "report.xml.gz#2"
    assert shown_name("report.xml") == "report.xml"
    assert shown_name(None) == ""


def test_a_source_without_reverse_dns_is_named_offline(filled: ReportStore) -> None:
    named = with_service_names(filled.by_source())
    assert set(named["service"]) - {"Unknown"}  # the offline catalogue knows some senders
    assert named["service"].notna().all()
    assert not (named["named_by"] == "reverse DNS").any()  # nobody asked DNS yet
    unknown = named[named["service"] == "Unknown"]
    assert (unknown["named_by"] == "").all()
