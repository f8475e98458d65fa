"""What the "DMARC reports" page shows for a domain and period, computed once and shared by every
session until the report store changes.

Why shared: twenty people opening the page over a million records must each get an answer within
seconds, and a Streamlit server runs every session's script in one process, so work done per
session is done twenty times on the same cores. Everything here is keyed by the store's
`generation` (one cheap query, moved by every import and enrichment): a result is served only while
the data it was computed from is unchanged, so no one ever sees figures older than the store.

The diagnoses also rest on today's DNS. Sharing them is not the process-wide DNS cache STYLE.md
warns against (checkdmarc's, which outlives every TTL and is never refreshed): they are kept at most
`DNS_FRESH_SECONDS`, the same bound as a resolver's own cache (`Resolver(max_cache_ttl=300)`), the
page says when DNS was read, and "Check DNS again" drops the entry for everyone. A run that did
not finish in time is not kept, so the next run tries again. How the diagnoses are laid out is
desk.report_layout's; the tables, desk.report_tables'.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd
import pyarrow as pa
import streamlit as st

from admin.diagnosis import explain_within
from desk._report_charts import Spec, volume_charts
from desk.configuration import app_config
from desk.markdown import table
from desk.report_layout import Explained, arrow, lay_out
from desk.report_tables import by_service, shown_name, volume_over_time, with_service_names
from desk.resources import app_resolver, dns_settings
from diagnostics.dmarc import ReportStore

DNS_FRESH_SECONDS = 300
# Enough for every domain a team looks at in a morning, in two periods each; the rest is recomputed.
MAX_ENTRIES = 64
# The rows of one report drawn in its table; a report can hold tens of thousands.
REPORT_ROWS_SHOWN = 1_000


# The columns of the "By sending IP" table, in its order.
SOURCES_TABLE_COLUMNS = [
    "source_ip",
    "service",
    "named_by",
    "reverse_dns",
    "messages",
    "spf_aligned_pct",
    "dkim_aligned_pct",
    "dmarc_pass_pct",
    "none",
    "quarantine",
    "reject",
]


@dataclass(frozen=True, slots=True)
class PeriodView:
    """The figures and tables of one domain and period, shared by every session: read them, never
    change them in place."""

    volume: pd.DataFrame  # ReportStore.volume_by_day
    unit: str  # "day", "week" or "month"
    charts: tuple[Spec, Spec]  # _report_charts.volume_charts
    sources: pd.DataFrame  # ReportStore.by_source with service names
    services: pa.Table  # by_service
    sources_table: pa.Table  # sources[SOURCES_TABLE_COLUMNS]
    reports: pd.DataFrame  # ReportStore.reports

    @property
    def messages(self) -> int:
        return int(self.volume["messages"].sum())

    @property
    def dmarc_pass(self) -> int:
        return int(self.volume["dmarc_pass"].sum())


class ExplainUnfinished(Exception):
    """Explaining did not finish within the page's time limit (not cached: the next run retries)."""


def store_key(store: ReportStore) -> tuple[str, int]:
    """What keys a store's shared results: which database, and how many writes it has seen."""
    # The URL is only a cache key, never shown (it may hold a password).
    return store.engine.url.render_as_string(hide_password=False), store.generation()


@st.cache_data(max_entries=MAX_ENTRIES, show_spinner=False)
def domains(_store: ReportStore, key: tuple[str, int]) -> pd.DataFrame:
    """`ReportStore.domains()` of the store `key` names."""
    return _store.domains()


# cache_resource: shared as it is (read-only), not unpickled anew for each session and run.
@st.cache_resource(max_entries=MAX_ENTRIES, show_spinner=False)
def period_view(
    _store: ReportStore, key: tuple[str, int], domain: str, start: dt.date, end: dt.date
) -> PeriodView:
    """The figures and tables of `domain` in [start, end] (report start dates, end included)."""
    volume = _store.volume_by_day(domain, start, end)
    sources = with_service_names(_store.by_source(domain, start, end))
    over_time, unit = volume_over_time(volume)
    return PeriodView(
        volume=volume,
        unit=unit,
        charts=volume_charts(over_time, unit) if not volume.empty else ({}, {}),
        sources=sources,
        services=arrow(by_service(sources)),
        sources_table=arrow(sources[SOURCES_TABLE_COLUMNS]),
        reports=_store.reports(domain, start, end),
    )


# cache_resource, not cache_data: diagnoses are frozen dataclasses, shared as they are rather than
# unpickled anew for each of twenty sessions (a thousand diagnoses take 60 ms to copy).
@st.cache_resource(ttl=DNS_FRESH_SECONDS, max_entries=MAX_ENTRIES, show_spinner=False)
def explained(
    _store: ReportStore,
    key: tuple[str, int],
    domain: str,
    start: dt.date,
    end: dt.date,
    dns: tuple[str, str],
    setup: tuple[tuple[str, ...], tuple[str, ...]] = ((), ()),
) -> Explained:
    """Every source of `domain` in the period explained against today's DNS; raises
    ExplainUnfinished when that takes longer than the page's limit (DESK_CHECK_TIMEOUT). `dns` is
    `desk.resources.dns_settings()`, which app_resolver is built from. `setup`: the providers'
    keys and SMTP hosts of the account that sends as `domain` (admin.diagnosis.AccountSetup),
    the evidence the account's own diagnosis rests on."""
    del dns  # only a key
    records = _store.verdicts(domain, start, end)  # reduced in SQL
    checked_at = dt.datetime.now(dt.UTC)
    if records.empty:
        return lay_out([], domain, checked_at)
    # The names "Name the senders" stored help too; storing them moves the generation, so a
    # result explained before they were stored is not served after.
    cache = _store.enrichment_cache()
    providers, hosts = setup
    found = explain_within(
        records,
        app_resolver(),
        app_config().checks.timeout,
        cache=cache,
        providers=providers,
        hosts=hosts,
    )
    if found is None:
        raise ExplainUnfinished
    return lay_out(found, domain, checked_at)


def check_dns_again(
    store: ReportStore,
    key: tuple[str, int],
    domain: str,
    start: dt.date,
    end: dt.date,
    setup: tuple[tuple[str, ...], tuple[str, ...]] = ((), ()),
) -> None:
    """Drop the kept diagnoses of this domain and period, for every session."""
    explained.clear(store, key, domain, start, end, dns_settings(), setup)


@st.cache_data(max_entries=MAX_ENTRIES, show_spinner=False)
def stored_reports(
    _store: ReportStore,
    key: tuple[str, int],
    kind: str,
    domain: str | None,
    start: dt.date | None,
    end: dt.date | None,
) -> pd.DataFrame:
    """The stored failure reports (`kind` "failure") or SMTP TLS report rows ("tls") of `domain` in
    the period (None: every domain and date), for reading: the file's name, not its folder, and
    hidden characters made visible."""
    read = _store.failure_reports if kind == "failure" else _store.tls_reports
    found = read(domain, start, end)
    return table(found.drop(columns=["source"]).assign(file=found["source"].map(shown_name)))


# The columns of a report's table, in its order.
REPORT_TABLE_COLUMNS = [
    "source_ip",
    "count",
    "disposition",
    "dkim_aligned",
    "spf_aligned",
    "header_from",
    "envelope_from",
    "spf_domain",
    "spf_result",
    "dkim_domains",
    "dkim_selectors",
    "dkim_results",
    "override_reasons",
]


@st.cache_data(max_entries=MAX_ENTRIES, show_spinner=False)
def report_rows(_store: ReportStore, key: tuple[str, int], report_pk: int) -> pa.Table:
    """The first REPORT_ROWS_SHOWN records of one report, in the report's own order."""
    return arrow(_store.records(report_pk=report_pk, limit=REPORT_ROWS_SHOWN)[REPORT_TABLE_COLUMNS])


__all__ = [
    "DNS_FRESH_SECONDS",
    "REPORT_ROWS_SHOWN",
    "REPORT_TABLE_COLUMNS",
    "SOURCES_TABLE_COLUMNS",
    "ExplainUnfinished",
    "PeriodView",
    "check_dns_again",
    "domains",
    "explained",
    "period_view",
    "report_rows",
    "store_key",
    "stored_reports",
]
