"""The report store on SQLite and PostgreSQL: import, duplicates, rejects, all-or-nothing, and every
query checked against pandas computing the same thing from `load_reports` of the same files."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import func, select, update

from diagnostics.dmarc import RECORD_COLUMNS, load_reports
from diagnostics.dmarc.store import ReportStore
from diagnostics.dmarc.store import _schema as schema
from diagnostics.dmarc.store import _tables as tables
from diagnostics.dmarc.store._ingest import input_files
from diagnostics.dmarc.store._summary import Outcome
from diagnostics.enrich import Enrichment
from tests.diagnostics.dmarc.conftest import SAMPLES
from tests.diagnostics.dmarc.store.store_fixtures import *  # noqa: F403

AGGREGATE = [SAMPLES / "aggregate", SAMPLES / "aggregate_invalid", SAMPLES / "extract_report"]
LARGE = SAMPLES / "aggregate" / "!large-example.com!1711897200!1711983600.xml"
USSSA = SAMPLES / "aggregate" / "usssa.com!example.com!1538784000!1538870399.xml"


def _expected_records(paths: list[Path]) -> pd.DataFrame:
    """What the store should hold: every record of the first report with each key, per pandas."""
    files = [name for name, problem in input_files(paths) if problem is None]
    batch = load_reports(files)
    reports = batch.reports
    key = pd.DataFrame(
        {
            "org": reports["org_name"].fillna(""),
            "id": reports["report_id"].fillna(""),
            "domain": reports["policy_domain"].fillna("").str.lower(),
        }
    )
    kept = set(key.index[~key.duplicated(keep="first")])
    return batch.records[batch.records["report_index"].isin(kept)].reset_index(drop=True)


def _comparable(frame: pd.DataFrame) -> pd.DataFrame:
    """Every value as text (None for missing), times as Unix seconds, rows in a fixed order."""
    out = pd.DataFrame(index=range(len(frame)))
    for name in RECORD_COLUMNS:
        column = frame[name].reset_index(drop=True)
        if name in ("begin", "end"):
            column = pd.to_datetime(column, utc=True).map(lambda t: int(t.timestamp()))
        values = column.astype(object)
        out[name] = [None if pd.isna(v) else str(v) for v in values]
    ordered = out.sort_values(list(RECORD_COLUMNS), na_position="first", key=lambda c: c.fillna(""))
    return ordered.reset_index(drop=True)


def _day_frame(records: pd.DataFrame) -> pd.DataFrame:
    passed = (records["dkim_aligned"] == "pass") | (records["spf_aligned"] == "pass")
    work = pd.DataFrame(
        {
            "day": records["begin"].dt.floor("D"),
            "messages": records["count"],
            "dmarc_pass": records["count"].where(passed, 0),
        }
    )
    return work.groupby("day", as_index=False).sum().sort_values("day").reset_index(drop=True)


def test_import_stores_every_record_once_and_reimport_is_all_duplicates(
    store: ReportStore,
) -> None:
    summary = store.import_paths(AGGREGATE)
    expected = _expected_records(AGGREGATE)

    assert summary.records == len(expected)
    assert summary.duplicates >= 3  # the .xml/.gz/.zip copies of nice-input and two pairs
    stored = store.records()
    assert len(stored) == len(expected)
    pd.testing.assert_frame_equal(_comparable(stored), _comparable(expected))

    again = store.import_paths(AGGREGATE)
    assert again.imported == 0
    assert again.records == 0
    assert again.duplicates == summary.imported + summary.duplicates
    assert all(f.outcome is Outcome.DUPLICATE for f in again.files)
    assert again.ok
    assert len(store.records()) == len(expected)


def test_every_file_gets_a_line_and_rejects_say_why(store: ReportStore, tmp_path: Path) -> None:
    bad = tmp_path / "broken.xml"
    bad.write_bytes(b"<feedback><report_metadata>")
    summary = store.import_paths([USSSA, bad, tmp_path / "missing.xml.gz", SAMPLES / "empty.xml"])

    outcomes = {Path(f.source).name: f for f in summary.files}
    assert outcomes[USSSA.name].outcome is Outcome.IMPORTED
    assert outcomes[USSSA.name].records == 2
    for name in ("broken.xml", "missing.xml.gz", "empty.xml"):
        result = outcomes[name]
        assert result.outcome is Outcome.REJECTED
        assert result.reasons
        assert all(r and "Traceback" not in r for r in result.reasons)
        assert name in result.line
        assert "rejected" in result.line
    assert "no such file" in outcomes["missing.xml.gz"].line
    assert not summary.ok
    assert summary.imported == 1
    assert summary.lines()[-1] == summary.totals
    assert "4 files" in summary.totals


def test_a_report_the_database_refuses_midway_leaves_nothing(make_store, tmp_path: Path) -> None:
    store = make_store(chunk_rows=500)
    batch = load_reports([LARGE, USSSA])
    records = batch.records.copy()
    large = records.index[records["report_index"] == 0]
    assert len(large) > 1500
    # A NULL count violates NOT NULL in the fourth chunk, after three chunks were inserted.
    records["count"] = records["count"].astype(object)
    records.loc[large[1600], "count"] = None
    broken = type(batch)(
        reports=batch.reports,
        records=records,
        failure_reports=batch.failure_reports,
        tls_reports=batch.tls_reports,
        errors=[],
    )

    summary = store.import_batch(broken)

    by_name = {Path(f.source).name: f for f in summary.files}
    assert by_name[LARGE.name].outcome is Outcome.REJECTED
    assert "none of it was stored" in by_name[LARGE.name].line
    assert by_name[USSSA.name].outcome is Outcome.IMPORTED
    with store.engine.connect() as connection:
        stored_reports = connection.execute(select(tables.reports.c.report_id)).scalars().all()
        stored_records = connection.execute(
            select(func.count()).select_from(tables.records)
        ).scalar()
    assert stored_reports == [batch.reports.loc[1, "report_id"]]
    assert stored_records == 2

    # The intact report imports afterwards: nothing of the failed attempt blocks it.
    retry = store.import_batch(load_reports([LARGE]))
    assert retry.imported == 1
    assert retry.records == len(large)


def test_volume_by_day_matches_pandas(store: ReportStore) -> None:
    store.import_paths(AGGREGATE)
    expected = _expected_records(AGGREGATE)
    domain = expected[expected["policy_domain"] == "example.com"]

    got = store.volume_by_day("example.com")
    want = _day_frame(domain)
    assert got["day"].tolist() == want["day"].tolist()
    assert got["messages"].tolist() == want["messages"].tolist()
    assert got["dmarc_pass"].tolist() == want["dmarc_pass"].tolist()
    assert (got["dmarc_fail"] == got["messages"] - got["dmarc_pass"]).all()
    rate = (want["dmarc_pass"] * 100 / want["messages"]).tolist()
    assert got["dmarc_pass_pct"].tolist() == pytest.approx(rate)


def test_period_filters_match_pandas(store: ReportStore) -> None:
    store.import_paths(AGGREGATE)
    expected = _expected_records(AGGREGATE)
    begin = expected["begin"]
    inside = expected[
        (expected["policy_domain"] == "example.com")
        & (begin >= pd.Timestamp("2018-06-01", tz="UTC"))
        & (begin < pd.Timestamp("2018-10-02", tz="UTC"))
    ]
    assert 0 < len(inside) < len(expected)

    got = store.records("example.com", "2018-06-01", "2018-10-01")  # the end day is included
    pd.testing.assert_frame_equal(_comparable(got), _comparable(inside))
    days = store.volume_by_day("example.com", start="2018-06-01", end="2018-10-01")
    assert days["messages"].sum() == inside["count"].sum()
    reports = store.reports("example.com", "2018-06-01", "2018-10-01")
    assert sorted(reports["report_id"]) == sorted(inside["report_id"].astype(str).unique())
    assert store.records("nobody.example").empty


def test_by_source_matches_pandas(store: ReportStore) -> None:
    store.import_paths(AGGREGATE)
    expected = _expected_records(AGGREGATE)
    rows = expected[expected["policy_domain"] == "example.com"]
    count = rows["count"]
    work = pd.DataFrame(
        {
            "source_ip": rows["source_ip"].astype(str),
            "messages": count,
            "spf_aligned": count.where(rows["spf_aligned"] == "pass", 0),
            "dkim_aligned": count.where(rows["dkim_aligned"] == "pass", 0),
            "reject": count.where(rows["disposition"] == "reject", 0),
            # Delivered: no policy applied (none), or DMARC passed (RFC 9990's pass).
            "delivered": count.where(rows["disposition"].isin(["none", "pass"]), 0),
        }
    )
    want = work.groupby("source_ip").sum()

    got = store.by_source("example.com").set_index("source_ip")
    assert set(got.index) == set(want.index)
    assert got["messages"].is_monotonic_decreasing
    for column in ("messages", "spf_aligned", "dkim_aligned", "reject", "delivered"):
        assert got[column].sort_index().tolist() == want[column].sort_index().tolist(), column
    share = want["spf_aligned"] * 100 / want["messages"]
    assert got["spf_aligned_pct"].sort_index().tolist() == pytest.approx(
        share.sort_index().tolist()
    )


def test_by_service_joins_the_enrichment_cache(store: ReportStore) -> None:
    store.import_paths([USSSA, LARGE])
    sources = store.by_source("example.com")
    ips = sources["source_ip"].tolist()
    # Two addresses named as one service, the rest not enriched.
    named = ips[:2]
    store.enrichment_cache().put_many(
        [
            Enrichment(ip=ip, service_name="Example Mail", service_type="Email Provider")
            for ip in named
        ],
        ttl=3600,
    )

    got = store.by_service("example.com").set_index("service_name", drop=False)
    service = got[got["service_name"] == "Example Mail"].iloc[0]
    in_named = sources["source_ip"].isin(named)
    assert service["ips"] == 2
    assert service["messages"] == sources.loc[in_named, "messages"].sum()
    unknown = got[got["service_name"].isna()].iloc[0]
    assert unknown["ips"] == len(ips) - 2
    assert unknown["messages"] == sources.loc[~in_named, "messages"].sum()
    assert store.by_source("example.com").set_index("source_ip").loc[named[0], "service_name"] == (
        "Example Mail"
    )


def test_domains_and_failure_and_tls_reports(store: ReportStore) -> None:
    summary = store.import_paths([SAMPLES / "failure", SAMPLES / "smtp_tls", USSSA])
    assert summary.imported >= 3
    domains = store.domains()
    assert domains["policy_domain"].tolist() == ["example.com"]
    assert domains["records"].tolist() == [2]
    failures = store.failure_reports()
    assert len(failures) == len(
        load_reports([SAMPLES / "failure"]).failure_reports.drop_duplicates(
            subset=[c for c in failures.columns if c not in ("source", "arrival", "imported_at")]
        )
    )
    assert failures["arrival"].dt.tz is not None
    tls = store.tls_reports()
    assert len(tls) == len(load_reports([SAMPLES / "smtp_tls"]).tls_reports)
    assert store.import_paths([SAMPLES / "failure", SAMPLES / "smtp_tls"]).imported == 0


def test_enrichment_cache_expires_and_replaces(db_url) -> None:
    now = [1_000_000.0]
    store = ReportStore(db_url)
    try:
        from diagnostics.dmarc.store._enrichcache import SqlEnrichmentCache

        cache = SqlEnrichmentCache(store.engine, clock=lambda: now[0])
        cache.put_many([Enrichment(ip="192.0.2.1", reverse_dns="a.example", asn=64500)], ttl=60)
        cache.put_many([Enrichment(ip="192.0.2.2")], ttl=600)
        assert cache.get_many(["192.0.2.1", "192.0.2.9"]) == {
            "192.0.2.1": Enrichment(ip="192.0.2.1", reverse_dns="a.example", asn=64500)
        }
        cache.put_many([Enrichment(ip="192.0.2.1", reverse_dns="b.example")], ttl=60)
        assert cache.get_many(["192.0.2.1"])["192.0.2.1"].reverse_dns == "b.example"
        now[0] += 61
        assert set(cache.get_many(["192.0.2.1", "192.0.2.2"])) == {"192.0.2.2"}
        many = [f"198.51.100.{i}" for i in range(200)] + [f"2001:db8::{i:x}" for i in range(800)]
        cache.put_many([Enrichment(ip=ip) for ip in many], ttl=60)
        assert len(cache.get_many(many)) == 1000  # more than one SQL slice
    finally:
        store.close()


def test_reopening_keeps_data_and_a_newer_schema_is_refused(db_url) -> None:
    first = ReportStore(db_url)
    first.import_paths([USSSA])
    first.close()
    second = ReportStore(db_url)
    assert len(second.records()) == 2
    with second.engine.begin() as connection:
        connection.execute(update(tables.schema_version).values(version=99))
    second.close()
    with pytest.raises(schema.StoreError, match="newer than this program"):
        ReportStore(db_url)


def test_an_upgrade_step_runs_once_and_keeps_data(db_url, monkeypatch) -> None:
    from sqlalchemy import text

    store = ReportStore(db_url)
    store.import_paths([USSSA])
    ran: list[int] = []

    def step(connection):
        ran.append(1)
        connection.execute(text("CREATE TABLE dmarc_upgrade_probe (x INTEGER)"))

    monkeypatch.setitem(schema.UPGRADES, schema.SCHEMA_VERSION, step)
    with store.engine.begin() as connection:
        found = schema.ensure_schema(connection, target=schema.SCHEMA_VERSION + 1)
        assert found == schema.SCHEMA_VERSION
        again = schema.ensure_schema(connection, target=schema.SCHEMA_VERSION + 1)
        assert again == schema.SCHEMA_VERSION + 1
        version = connection.execute(select(tables.schema_version.c.version)).scalar()
    assert ran == [1]
    assert version == schema.SCHEMA_VERSION + 1
    assert len(store.records()) == 2
    store.close()


def test_import_files_takes_uploads_one_line_each(store: ReportStore) -> None:
    zipped = SAMPLES / "extract_report" / "nice-input.xml.zip"
    seen: list[str] = []
    with zipped.open("rb") as upload:
        summary = store.import_files(
            [upload, USSSA.read_bytes(), SAMPLES / "empty.xml"],
            on_result=lambda result: seen.append(result.line),
        )
    assert [f.source for f in summary.files] == [str(zipped), "<bytes>", str(SAMPLES / "empty.xml")]
    assert seen == [f.line for f in summary.files]
    assert [f.outcome for f in summary.files] == [
        Outcome.IMPORTED,
        Outcome.IMPORTED,
        Outcome.REJECTED,
    ]
    assert summary.records == 20 + 2
    assert set(store.domains()["policy_domain"]) == {"example.com"}


def test_drill_down_to_one_report(store: ReportStore) -> None:
    store.import_paths([USSSA, LARGE])
    reports = store.reports("example.com").set_index("report_id")
    large_id = load_reports([LARGE]).reports.loc[0, "report_id"]
    pk = int(reports.loc[large_id, "report_pk"])

    rows = store.records(report_pk=pk)
    assert len(rows) == reports.loc[large_id, "record_count"] == 2286
    assert set(rows["report_pk"]) == {pk}
    assert set(rows["report_id"]) == {large_id}
    assert rows["count"].sum() == reports.loc[large_id, "message_count"]
    assert len(store.records("example.com", limit=5)) == 5


TWO_POLICY_TLS = {
    "organization-name": "Company-X",
    "date-range": {
        "start-datetime": "2016-04-01T00:00:00Z",
        "end-datetime": "2016-04-01T23:59:59Z",
    },
    "contact-info": "sts-reporting@company-x.example",
    "report-id": "two-policies-1",
    "policies": [
        {
            "policy": {
                "policy-type": "sts",
                "policy-string": ["version: STSv1", "mode: testing"],
                "policy-domain": "a.example",
                "mx-host": ["mx.a.example"],
            },
            "summary": {"total-successful-session-count": 5, "total-failure-session-count": 0},
        },
        {
            "policy": {"policy-type": "no-policy-found", "policy-domain": "b.example"},
            "summary": {"total-successful-session-count": 3, "total-failure-session-count": 1},
            "failure-details": [
                {
                    "result-type": "starttls-not-supported",
                    "sending-mta-ip": "192.0.2.1",
                    "receiving-mx-hostname": "mx.b.example",
                    "failed-session-count": 1,
                }
            ],
        },
    ],
}


def test_a_tls_report_with_two_policies_is_one_report(store: ReportStore, tmp_path: Path) -> None:
    import json

    path = tmp_path / "tls.json"
    path.write_text(json.dumps(TWO_POLICY_TLS))
    summary = store.import_paths([path])
    assert summary.imported == 1
    assert "(1 report)" in summary.files[0].line
    rows = store.tls_reports()
    assert sorted(rows["policy_domain"]) == ["a.example", "b.example"]
    assert rows["failed_sessions"].sum() == 1
    assert store.tls_reports("b.example")["successful_sessions"].tolist() == [3]
    again = store.import_paths([path])
    assert again.duplicates == 1
    assert len(store.tls_reports()) == 2


def test_a_report_without_dates_is_stored_but_has_no_day(store: ReportStore) -> None:
    batch = load_reports([USSSA, LARGE])
    reports = batch.reports.copy()
    reports.loc[0, ["begin", "end"]] = pd.NaT
    undated = type(batch)(
        reports=reports,
        records=batch.records,
        failure_reports=batch.failure_reports,
        tls_reports=batch.tls_reports,
    )
    assert store.import_batch(undated).imported == 2
    days = store.volume_by_day("example.com")
    large = batch.records[batch.records["report_index"] == 1]
    assert days["messages"].sum() == large["count"].sum()
    assert len(store.records("example.com")) == len(batch.records)
    assert len(store.records("example.com", start="2000-01-01")) == len(large)
