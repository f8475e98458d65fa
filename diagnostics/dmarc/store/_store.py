"""`ReportStore`: DMARC aggregate, failure and TLS reports in the desk's database, and the queries
the pages and notebooks ask of them.

    store = ReportStore()                                  # data/desk.sqlite, or ReportStore(url)
    store = ReportStore.from_config(config)                # the database a DeskConfig names
    summary = store.import_paths(["inbox/", "uploads/*.zip"], progress=print)
    print("\\n".join(summary.lines()))
    store.volume_by_day("example.com", "2024-03-01", "2024-03-31")

Imports stream: one input file is parsed and written at a time, records `chunk_rows` at a time,
so a gigabyte of reports imports in bounded memory. Each transaction holds at most `chunk_rows`
records, so a sign-in or a page never waits long behind an import; yet a report is seen whole or
not at all, and one already stored (same org_name, report_id, policy_domain) is counted as a
duplicate (_ingest.py). Aggregations run in SQL over indexed columns (see _queries.py), so they stay
fast over millions of records.

A database that stops answering, or stays locked past the busy timeout, raises DatabaseUnavailable
(DatabaseBusy) from any call, with a plain message (diagnostics.database); the call can simply be
made again later. One that cannot be opened at all raises StoreError.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import Connection, Engine, Select, func, select
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError, OperationalError

from diagnostics.config import DeskConfig
from diagnostics.database import WRITE, display_url, open_engine
from diagnostics.dmarc.parse import (
    DEFAULT_LIMITS,
    ParseLimits,
    Progress,
    ReportBatch,
    Source,
    load_reports,
)
from diagnostics.dmarc.store import _queries as queries
from diagnostics.dmarc.store import _rollup as rollup
from diagnostics.dmarc.store import _tables as tables
from diagnostics.dmarc.store import _trends as trends
from diagnostics.dmarc.store._enrichcache import SqlEnrichmentCache
from diagnostics.dmarc.store._ingest import (
    DEFAULT_CHUNK_ROWS,
    compact,
    input_files,
    merge,
    sweep,
    write_batch,
)
from diagnostics.dmarc.store._queries import Moment, percent
from diagnostics.dmarc.store._schema import StoreError, ensure_schema
from diagnostics.dmarc.store._summary import FileResult, ImportSummary
from diagnostics.dmarc.store._tables import DAY
from diagnostics.dmarc.trend import DomainTrend
from diagnostics.errors import DatabaseUnavailable
from diagnostics.wording import plural

READ_WORK_MEM = "64MB"


log = logging.getLogger(__name__)


class ReportStore:
    """The report tables in one database: `url_or_engine` is a URL (str or SQLAlchemy URL), an
    engine, or None for the embedded SQLite file (`diagnostics.database.embedded_sqlite_url()`).
    The tables are created, or upgraded, on open."""

    def __init__(
        self,
        url_or_engine: str | URL | Engine | None = None,
        *,
        chunk_rows: int = DEFAULT_CHUNK_ROWS,
        limits: ParseLimits = DEFAULT_LIMITS,
    ) -> None:
        self.engine = (
            url_or_engine if isinstance(url_or_engine, Engine) else open_engine(url_or_engine)
        )
        self.chunk_rows = chunk_rows
        self.limits = limits
        try:
            with self._writing() as connection, connection.begin():
                ensure_schema(connection)
            # What an import that crashed left half-written goes now (ingest.sweep).
            sweep(self.engine, chunk_rows=chunk_rows)
        except (OperationalError, DatabaseUnavailable):
            raise StoreError(
                f"The database at {display_url(self.engine.url)} cannot be reached or opened."
            ) from None

    @classmethod
    def from_config(
        cls, config: DeskConfig, *, chunk_rows: int = DEFAULT_CHUNK_ROWS
    ) -> ReportStore:
        """The report store of the database `config` names, with its busy timeout and the
        parser's caps it sets."""
        engine = open_engine(config.database.address, busy_timeout=config.database.busy_seconds)
        return cls(engine, chunk_rows=chunk_rows, limits=config.reports.parse_limits())

    def __repr__(self) -> str:
        return f"ReportStore({display_url(self.engine.url)!r})"

    def close(self) -> None:
        self.engine.dispose()

    def _writing(self) -> Connection:
        return self.engine.connect().execution_options(**{WRITE: True})

    # ---- writing -------------------------------------------------------------------------------

    def import_batch(
        self, batch: ReportBatch, *, touched: set[rollup.Day] | None = None
    ) -> ImportSummary:
        """Store what `batch` holds, each report whole or not at all; one result per source named
        in the batch. Given `touched`, the rollup days the batch changed are added to it instead
        of being compacted now: a caller storing batch after batch (a mailbox's backlog) compacts
        them once at the end, with `compact(touched)`; until then the figures are right, only
        the rollup holds more rows."""
        sweep(self.engine, chunk_rows=self.chunk_rows)
        if touched is None:
            return ImportSummary(tuple(self._write(batch, None)))
        return ImportSummary(tuple(self._write(batch, None, touched)))

    def compact(self, days: set[rollup.Day]) -> None:
        """Compact the rollup of `days` (collected by `import_batch(touched=...)`), which are then
        forgotten. A database that went away leaves them for the next import's compaction."""
        try:
            self._compact(days)
        finally:
            days.clear()

    def import_paths(
        self,
        paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
        *,
        progress: Progress | None = None,
        on_result: Callable[[FileResult], None] | None = None,
    ) -> ImportSummary:
        """Parse and store the files named by `paths` (files, folders, glob patterns) one file at a
        time, committing after each, so memory holds one file's reports at most. One result per
        file, in a stable order; a path that names nothing is rejected with the reason.
        `on_result(result)` is called as each file is done (before `progress`)."""
        items = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
        found = input_files(items)
        named: list[Source | FileResult] = [
            path if problem is None else FileResult(source=path, rejected=1, reasons=(problem,))
            for path, problem in found
        ]
        return self._import_each(named, progress, on_result)

    def import_files(
        self,
        sources: Iterable[Source | FileResult],
        *,
        progress: Progress | None = None,
        on_result: Callable[[FileResult], None] | None = None,
    ) -> ImportSummary:
        """Like `import_paths` for inputs already in hand: paths, bytes or open binary files (a
        Streamlit upload is one; its `.name` names it in the summary). One result per input; a
        `FileResult` among them stands for an input the caller refused before reading it (over an
        upload cap, say) and is reported as it is."""
        return self._import_each(list(sources), progress, on_result)

    def _import_each(
        self,
        inputs: list[Source | FileResult],
        progress: Progress | None,
        on_result: Callable[[FileResult], None] | None,
    ) -> ImportSummary:
        results: list[FileResult] = []
        touched: set[rollup.Day] = set()  # compacted once, after every file
        sweep(self.engine, chunk_rows=self.chunk_rows)
        try:
            for done, item in enumerate(inputs, start=1):
                if isinstance(item, FileResult):
                    results.append(item)
                else:
                    name = _name(item)
                    batch = load_reports([item], limits=self.limits)
                    parts = self._write(batch, name, touched)
                    results.append(merge(name, parts) if parts else _empty(name))
                    del batch  # before the next file is read: one file's reports in memory at most
                if on_result is not None:
                    on_result(results[-1])
                if progress is not None:
                    progress(done, len(inputs), results[-1].source)
        finally:
            # Also after an interruption: what was stored is summed right already, only not yet
            # compact; a compaction that fails leaves it so, and must not hide the first error.
            self._compact(touched)
        return ImportSummary(tuple(results))

    def _compact(self, days: set[rollup.Day]) -> None:
        if not days:
            return
        try:
            compact(self.engine, days, rows=self.chunk_rows)
        except DatabaseUnavailable as exc:
            # The database went away (the import's own error, if any, says so): what was stored
            # is summed right already, only not yet compact. Not a second line on the terminal.
            log.info("could not compact the rollup of %s: %s", plural(len(days), "day"), exc)
        except DBAPIError:
            log.warning(
                "could not compact the rollup of %s", plural(len(days), "day"), exc_info=True
            )

    def _write(
        self, batch: ReportBatch, file: str | None, touched: set[rollup.Day] | None = None
    ) -> list[FileResult]:
        file_of = None
        if file is not None:
            names = [*batch.reports["source"], *batch.failure_reports["source"]]
            names += [*batch.tls_reports["source"], *(name for name, _ in batch.errors)]
            file_of = {str(name): file for name in names}
        return write_batch(
            self.engine, batch, chunk_rows=self.chunk_rows, file_of=file_of, touched=touched
        )

    # ---- reading -------------------------------------------------------------------------------

    def _read(self, query: Select[Any]) -> pd.DataFrame:
        with self.engine.connect() as connection:
            if connection.dialect.name == "postgresql":
                # Grouping a million records by address spills PostgreSQL's default 4 MB of sort
                # memory to disk (measured: 2.0 s instead of 1.1 s); this transaction only.
                connection.exec_driver_sql(f"SET LOCAL work_mem = '{READ_WORK_MEM}'")
            return queries.read(connection, query)

    def records(
        self,
        domain: str | None = None,
        start: Moment = None,
        end: Moment = None,
        *,
        report_pk: int | None = None,
        limit: int | None = None,
    ) -> pd.DataFrame:
        """One row per stored record of `domain` whose report begins in [start, end] (a date end
        is included; None is open), with the columns of `ReportBatch.records` and `report_pk`
        (the `reports()` row it belongs to). `report_pk` selects one report (a drill-down);
        `limit` caps the rows (the first by report time)."""
        query = queries.records_query(domain, start, end, report_pk=report_pk, limit=limit)
        frame = self._read(query)
        for name in ("org_name", "report_id"):
            frame[name] = frame[name].replace("", None)
        frame["policy_pct"] = frame["policy_pct"].astype("Int64")
        frame["count"] = frame["count"].astype("int64")
        return frame

    def verdicts(
        self, domain: str | None = None, start: Moment = None, end: Moment = None
    ) -> pd.DataFrame:
        """The records of `records(domain, start, end)` reduced in SQL to one row per distinct
        verdict combination (summed `count`, first `begin`, last `end`). `explain` gives the same
        diagnoses from it as from the records themselves, without loading every row."""
        frame = self._read(queries.verdicts_query(domain, start, end))
        frame["count"] = frame["count"].astype("int64")
        policies = self._read(queries.policies_query(domain, start, end))
        latest = policies.sort_values("latest", kind="stable").groupby("policy_domain").last()
        frame["policy_p"] = frame["policy_domain"].map(latest["policy_p"])
        return frame

    def volume_by_day(
        self, domain: str | None = None, start: Moment = None, end: Moment = None
    ) -> pd.DataFrame:
        """day (UTC midnight), messages, dmarc_pass, dmarc_fail, dmarc_pass_pct: one row per day
        with reports."""
        frame = self._read(queries.volume_by_day_query(domain, start, end))
        frame["day"] = pd.to_datetime(frame["day"].astype("int64") * DAY, unit="s", utc=True)
        frame = _integers(frame, "messages", "dmarc_pass")
        frame["dmarc_fail"] = frame["messages"] - frame["dmarc_pass"]
        frame["dmarc_pass_pct"] = percent(frame["dmarc_pass"], frame["messages"])
        return frame

    def by_source(
        self, domain: str | None = None, start: Moment = None, end: Moment = None
    ) -> pd.DataFrame:
        """One row per sending address, most messages first: source_ip, messages, spf_aligned,
        dkim_aligned, dmarc_pass (message counts) and their `_pct`, the dispositions delivered
        (none, or RFC 9990's pass), quarantine and reject (message counts; they add up to
        messages), and reverse_dns, service_name, service_type from the enrichment cache
        (missing until `enrich` has run). `none` repeats `delivered` under its earlier name, for
        callers not yet moved to it."""
        frame = self._read(queries.by_source_query(domain, start, end))
        return _shares(frame)

    def by_service(
        self, domain: str | None = None, start: Moment = None, end: Moment = None
    ) -> pd.DataFrame:
        """One row per service (from the enrichment cache; None for addresses not enriched):
        service_name, service_type, ips, messages, aligned counts and `_pct`, dispositions."""
        frame = self._read(queries.by_service_query(domain, start, end))
        frame["ips"] = frame["ips"].astype("int64")
        return _shares(frame)

    def reports(
        self, domain: str | None = None, start: Moment = None, end: Moment = None
    ) -> pd.DataFrame:
        """One row per stored aggregate report of `domain` beginning in the period."""
        frame = self._read(queries.reports_query(domain, start, end))
        for name in ("org_name", "report_id"):
            frame[name] = frame[name].replace("", None)
        return frame.rename(columns={"id": "report_pk"})

    def domains(self) -> pd.DataFrame:
        """policy_domain, reports, records, messages, first_begin, last_end: one row per domain."""
        return _integers(self._read(queries.domains_query()), "reports", "records", "messages")

    def failure_reports(
        self, domain: str | None = None, start: Moment = None, end: Moment = None
    ) -> pd.DataFrame:
        """Stored failure reports of `domain` (the reported domain) that arrived in the period."""
        return self._read(queries.failure_reports_query(domain, start, end))

    def tls_reports(
        self, domain: str | None = None, start: Moment = None, end: Moment = None
    ) -> pd.DataFrame:
        """Stored SMTP TLS report rows (one per policy) of `domain` beginning in the period."""
        return self._read(queries.tls_reports_query(domain, start, end))

    def generation(self) -> int:
        """How many writes this store has seen (imports, enrichment): one cheap query, so a reader
        that keeps results (the app's shared caches) can key them by it and never serve stale ones."""
        with self.engine.connect() as connection:
            return rollup.generation(connection)

    def domain_trend(self, domain: str, now: datetime) -> DomainTrend:
        """`domain`'s pass rate this week against the four weeks before, its new senders failing
        DMARC and its newest report, as of `now` (diagnostics.dmarc.trend): summed in SQL."""
        with self.engine.connect() as connection:
            return trends.domain_trend(connection, domain, now)

    def report_mark(self) -> int:
        """The id of the newest stored report (0 when none): `domains_since(mark)` after an import
        names the domains it brought reports for."""
        with self.engine.connect() as connection:
            return int(connection.scalar(select(func.max(tables.reports.c.id))) or 0)

    def domains_since(self, mark: int) -> list[str]:
        """The domains of the reports stored after `report_mark()` gave `mark`: whose account
        figures an import changed (the support queue marks them for a refresh)."""
        reports = tables.reports
        query = select(reports.c.policy_domain).where(reports.c.id > mark).distinct()
        with self.engine.connect() as connection:
            return sorted(str(d) for d in connection.scalars(query))

    def enrichment_cache(self) -> SqlEnrichmentCache:
        """The `EnrichmentCache` over this database, for `diagnostics.enrich.enrich(cache=...)`."""
        return SqlEnrichmentCache(self.engine)


_COUNTS = (
    "messages",
    "spf_aligned",
    "dkim_aligned",
    "dmarc_pass",
    "delivered",
    "quarantine",
    "reject",
)


def _integers(frame: pd.DataFrame, *names: str) -> pd.DataFrame:
    for name in names:
        frame[name] = pd.to_numeric(frame[name]).fillna(0).astype("int64")
    return frame


def _shares(frame: pd.DataFrame) -> pd.DataFrame:
    frame = _integers(frame, *_COUNTS)
    frame["none"] = frame["delivered"]  # the earlier name of the column
    for name in ("spf_aligned", "dkim_aligned", "dmarc_pass"):
        frame[f"{name}_pct"] = percent(frame[name], frame["messages"])
    return frame


def _name(source: Source) -> str:
    if isinstance(source, (str, os.PathLike)):
        return os.fspath(source)
    if isinstance(source, bytes):
        return "<bytes>"
    return str(getattr(source, "name", "<upload>"))


def _empty(path: str) -> FileResult:
    return FileResult(source=path, rejected=1, reasons=("the file holds no report",))
