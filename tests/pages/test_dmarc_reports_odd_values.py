"""The DMARC reports page over reports with values that cannot be true (issue 13): the default period
comes from the plausible dates, and a report's warnings name the records left out and their values."""

from __future__ import annotations

import datetime as dt

from diagnostics.dmarc import ReportStore
from tests.diagnostics.dmarc.parse.test_validate import report
from tests.pages.test_dmarc_reports import messages, open_page, url  # noqa: F401  (fixture)

RECENT = 1_700_000_000  # 2023-11-14


def test_the_default_period_and_a_reports_warnings(url: str) -> None:  # noqa: F811
    store = ReportStore(url)
    try:
        good = report([("192.0.2.1", 3), ("999.1.1.1", 5)], RECENT, RECENT + 86_399, "recent")
        summary = store.import_files(
            [
                good,
                report([("192.0.2.1", 1)], 300_000_000, 300_086_399, "1979"),
                report([("192.0.2.1", 1)], 4_102_444_800, 4_102_531_199, "2100"),
            ]
        )
        assert summary.ok, summary.lines()
        stored = store.reports("example.com")
    finally:
        store.close()
    at = open_page()
    period = at.date_input(key="dmarc_period_example.com").value
    assert period == (dt.date(2023, 11, 14), dt.date(2023, 11, 15))  # not 1979 to 2100
    [pk] = stored.loc[stored["report_id"] == "recent", "report_pk"]
    at.selectbox(key="dmarc_report").set_value(pk).run()
    assert not at.exception
    shown = messages(at).replace("\\", "")  # shown as text: Markdown's characters escaped
    assert "1 record left out (source address not an IP address)" in shown
    assert "record 2 (source address '999.1.1.1', count 5)" in shown
