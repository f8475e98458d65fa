"""A domain's figures for the support queue, summed in SQL on SQLite and PostgreSQL: this week's
pass rate against the four weeks before, the new senders failing DMARC, the newest report."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import URL

from diagnostics.dmarc import ReportStore
from tests.support.trend_reports import aggregate_xml

NOW = datetime(2026, 12, 7, 12, tzinfo=UTC)


def day(n: int) -> datetime:
    """Midnight `n` days before NOW's day."""
    return NOW.replace(hour=0) - timedelta(days=n)


def test_this_week_against_the_four_before_and_the_new_failing_senders(db_url: URL) -> None:
    store = ReportStore(db_url)
    try:
        reports = [
            # The four weeks before: 90 of 100 pass, from one known address.
            aggregate_xml(
                "shop.example",
                day(20),
                [("192.0.2.1", 90, True), ("192.0.2.2", 10, False)],
                report_id="a",
            ),
            # This week: the known address still passes, a new one fails everything, a third
            # address seen before fails too (not new).
            aggregate_xml(
                "shop.example",
                day(2),
                [("192.0.2.1", 30, True), ("198.51.100.7", 15, False), ("192.0.2.2", 5, False)],
                report_id="b",
            ),
            # Another domain, and a report older than five weeks: neither counts.
            aggregate_xml("other.example", day(1), [("203.0.113.9", 50, False)], report_id="c"),
            aggregate_xml("shop.example", day(60), [("203.0.113.1", 500, False)], report_id="d"),
        ]
        store.import_files(reports)
        trend = store.domain_trend("Shop.Example.", NOW)
    finally:
        store.close()
    assert (trend.week_messages, trend.week_pass) == (50, 30)
    assert (trend.earlier_messages, trend.earlier_pass) == (100, 90)
    assert (trend.week_pass_pct, trend.earlier_pass_pct) == (60.0, 90.0)
    assert (trend.new_unknown_sources, trend.new_unknown_messages) == (1, 15)
    assert trend.new_unknown_pct == 30.0
    assert trend.last_report_at == day(2) + timedelta(seconds=86_399)
    assert 1.4 < (trend.days_since_report or 0) < 1.6


def test_a_domain_without_reports_has_none(db_url: URL) -> None:
    store = ReportStore(db_url)
    try:
        trend = store.domain_trend("quiet.example", NOW)
        assert store.report_mark() == 0
        assert store.domains_since(0) == []
        store.import_files(
            [aggregate_xml("a.example", day(3), [("192.0.2.1", 1, True)], report_id="x")]
        )
        mark = store.report_mark()
        assert store.domains_since(0) == ["a.example"]
        store.import_files(
            [aggregate_xml("b.example", day(3), [("192.0.2.1", 1, True)], report_id="y")]
        )
        assert store.domains_since(mark) == ["b.example"]
    finally:
        store.close()
    assert trend.week_messages == trend.earlier_messages == 0
    assert trend.last_report_at is None
    assert trend.days_since_report is None
