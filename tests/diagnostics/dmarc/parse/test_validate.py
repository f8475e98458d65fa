"""Edge validation (parse/_validate.py): what cannot be true is left out of the tables or flagged,
with a warning naming the record and the value, on both XML readers alike; and the store's default
period comes from plausible dates."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest

from diagnostics.dmarc import ParseLimits, ReportStore, load_reports
from diagnostics.dmarc.parse._aggregate import ReportMeta, parse_aggregate_xml
from diagnostics.dmarc.parse._columns import RecordColumns
from tests.diagnostics.dmarc.store.store_fixtures import *  # noqa: F403  (db_url stores)

RECORD = (
    "<record><row>{ip}<count>{count}</count><policy_evaluated><disposition>none</disposition>"
    "<dkim>pass</dkim><spf>pass</spf></policy_evaluated></row><identifiers>"
    "<header_from>example.com</header_from></identifiers></record>\n"
)


def report(
    records: list[tuple[str | None, int]],
    begin: int = 1_700_000_000,
    end: int = 1_700_086_399,
    report_id: str = "r1",
) -> bytes:
    rows = "".join(
        RECORD.format(ip="" if ip is None else f"<source_ip>{ip}</source_ip>", count=count)
        for ip, count in records
    )
    return (
        '<?xml version="1.0"?>\n<feedback><report_metadata><org_name>receiver.example</org_name>'
        f"<email>dmarc@receiver.example</email><report_id>{report_id}</report_id><date_range>"
        f"<begin>{begin}</begin><end>{end}</end></date_range></report_metadata>"
        "<policy_published><domain>example.com</domain><p>none</p></policy_published>\n"
        f"{rows}</feedback>\n"
    ).encode()


def parse(xml: bytes, fast: bool) -> tuple[ReportMeta, list[str]]:
    columns = RecordColumns()
    meta = parse_aggregate_xml(io.BytesIO(xml), columns, ParseLimits(), head=xml[:8192], fast=fast)
    return meta, columns.to_frame()["source_ip"].astype(str).tolist()


READERS = pytest.mark.parametrize("fast", [True, False], ids=["fast path", "general path"])


@READERS
def test_addresses_that_are_not_ip_addresses_are_left_out_and_named(fast: bool) -> None:
    xml = report([("192.0.2.1", 3), ("999.1.1.1", 5), ("108r.166.27.220", 7), ("2001:db8::1", 2)])
    meta, addresses = parse(xml, fast)
    assert addresses == ["192.0.2.1", "2001:db8::1"]
    assert (meta.record_count, meta.message_count) == (2, 5)
    [warning] = meta.warnings
    assert warning.startswith("2 records left out (source address not an IP address): ")
    assert "record 2 (source address '999.1.1.1', count 5)" in warning
    assert "record 3 (source address '108r.166.27.220', count 7)" in warning


@READERS
def test_an_empty_record_is_left_out_with_a_warning(fast: bool) -> None:
    meta, addresses = parse(report([("192.0.2.1", 1), (None, 0), ("192.0.2.2", 0)]), fast)
    assert addresses == ["192.0.2.1"]
    [warning] = meta.warnings
    assert warning.startswith("2 records left out (no messages counted): ")
    assert "record 2 (no source address, count 0)" in warning
    assert "record 3 (source address '192.0.2.2', count 0)" in warning


@READERS
def test_a_count_no_address_sends_is_left_out(fast: bool) -> None:
    meta, addresses = parse(report([("192.0.2.1", 1), ("192.0.2.2", 5_000_000_000)]), fast)
    assert addresses == ["192.0.2.1"]
    assert "record 2 (source address '192.0.2.2', count 5,000,000,000)" in meta.warnings[0]


def test_many_bad_records_are_counted_past_the_first_few() -> None:
    meta, addresses = parse(report([(f"999.0.0.{i}", 1) for i in range(40)]), fast=True)
    assert addresses == []
    assert "; and 35 more" in meta.warnings[0]
    assert len(meta.warnings[0]) < 600


@READERS
@pytest.mark.parametrize(
    ("begin", "end", "said"),
    [
        (300_000_000, 300_086_399, "the report begins on 1979-07-05, before DMARC existed (2012)"),
        (
            4_102_444_800,
            4_102_531_199,
            "the report begins on 2100-01-01, more than a day in the future",
        ),
    ],
    ids=["1979", "2100"],
)
def test_an_impossible_date_is_flagged_not_stored_silently(
    fast: bool, begin: int, end: int, said: str
) -> None:
    meta, addresses = parse(report([("192.0.2.1", 1)], begin, end), fast)
    assert addresses == ["192.0.2.1"]  # kept, flagged
    assert any(w.startswith(said) for w in meta.warnings), meta.warnings
    assert any("the charts and the default period leave it out" in w for w in meta.warnings)


def test_a_sound_report_has_no_warning() -> None:
    batch = load_reports([report([("192.0.2.1", 1), ("2001:db8::2", 4)])])
    assert batch.reports["warnings"].tolist() == [()]
    assert batch.records["count"].tolist() == [1, 4]


def test_the_default_period_comes_from_plausible_dates(store: ReportStore) -> None:
    recent = report([("192.0.2.1", 1)], 1_700_000_000, 1_700_086_399, "recent")
    ancient = report([("192.0.2.1", 1)], 300_000_000, 300_086_399, "1979")
    future = report([("192.0.2.1", 1)], 4_102_444_800, 4_102_531_199, "2100")
    store.import_files([recent, ancient, future])
    [row] = store.domains().to_dict("records")
    assert row["reports"] == 3
    assert row["first_begin"] == datetime.fromtimestamp(1_700_000_000, UTC)
    assert row["last_end"] == datetime.fromtimestamp(1_700_086_399, UTC)
