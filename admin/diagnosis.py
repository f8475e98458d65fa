"""One answer per account (issue 12): everything the desk knows about an account, joined once, and
rendered by every surface (the Overview, the DNS check, the DMARC reports page, `python -m admin
accounts show`, the notebooks); none of them recomputes its own variant.

    from admin.diagnosis import diagnose_account
    found = diagnose_account(store, "Bluebird Bakery", report_store=reports, resolver=resolver)
    found.route.mode, found.connections[0].findings, found.connections[0].latest_test
    found.health                 # SPF, DKIM, DMARC, MX for the providers configured + the platform
    found.reports.diagnoses      # each source, ranked by impact (messages failing DMARC, severity)
    found.spf_record             # the one SPF record to publish (the platform's include kept)
    found.other_records          # return path, DKIM, policy step: filled, or marked templates
    found.problems               # flat, ranked: code, severity, plain title, detail, messages
    found.to_json()              # codes, for --json and the API

The gathering (store, report store, DNS) is here; the joining is pure (admin._diagnosis_assemble).
The account's connections are the evidence the library takes: their providers' keys and SMTP hosts
go to `explain` (so a relay through Microsoft 365 failing SPF is a missing include, not a forward)
and to `check_domain`, with the DKIM selectors the reports show passing. DNS work is bounded by
the configuration's `checks.timeout` (DESK_CHECK_TIMEOUT): a check that gives up is said in the
diagnosis (`health_note`, `reports.complete`), never an exception.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from admin._diagnosis_assemble import Gathered, assemble, by_impact, configured, failing_dmarc
from admin._diagnosis_assemble import latest_test as describe_test
from admin._diagnosis_model import (
    AccountDiagnosis,
    AccountProblem,
    ConnectionDiagnosis,
    LatestTest,
    RecordToPublish,
    ReportsEvidence,
)
from admin.errors import NotFound, PermissionDenied
from admin.records import Account, Connection, ProbeRecord
from admin.sending import active_connection, sending_domain
from admin.store import Store
from diagnostics import run_sync
from diagnostics.config import DeskConfig
from diagnostics.dmarc import Diagnosis, ReportStore, explain, selectors_seen
from diagnostics.dns import Resolver
from diagnostics.enrich import EnrichmentCache
from diagnostics.errors import DiagnosticsError
from diagnostics.findings import Finding
from diagnostics.health import DomainHealth, NetworkChecks, TlsReportSummary, check_domain_async

__all__ = [
    "REPORT_DAYS",
    "AccountDiagnosis",
    "AccountProblem",
    "AccountSetup",
    "ConnectionDiagnosis",
    "LatestTest",
    "RecordToPublish",
    "ReportsEvidence",
    "account_setup",
    "by_impact",
    "describe_test",
    "diagnose_account",
    "explain_within",
    "failing_dmarc",
    "find_account",
    "network_checks",
    "tls_report_summary",
]

REPORT_DAYS = 30  # the reports a diagnosis reads: the last 30 days
_PROBES = 200  # the newest tests read to find each connection's latest


def find_account(store: Store, account_name_or_id: str | int) -> Account:
    """The account named (case and surrounding space ignored) or numbered so; NotFound otherwise."""
    if isinstance(account_name_or_id, int):
        return store.get_account(account_name_or_id)
    wanted = " ".join(account_name_or_id.split()).casefold()
    accounts = store.list_accounts()
    named = [a for a in accounts if " ".join(a.name.split()).casefold() == wanted]
    if named:
        return named[0]
    if wanted.isdigit():
        return store.get_account(int(wanted))
    raise NotFound(f"No account is named “{account_name_or_id.strip()}”.")


def diagnose_account(
    store: Store,
    account_name_or_id: str | int,
    *,
    report_store: ReportStore,
    resolver: Resolver,
    config: DeskConfig | None = None,
    now: dt.datetime | None = None,
) -> AccountDiagnosis:
    """The account's diagnosis (module docstring). `store` may be a user's view: a role that may
    not see connections gets the route, the domain's health and the reports without them.
    Raises NotFound for no such account, StoreError when the report store cannot be read."""
    config = config or DeskConfig()
    timeout = config.checks.timeout
    moment = now or dt.datetime.now(dt.UTC)
    account = find_account(store, account_name_or_id)
    connections, visible = _connections(store, account)
    domain, keys, hosts = _setup(account, connections)
    lint = {c.id: _lint(store, c) for c in connections} if visible else {}
    probes = _probes(store, account) if visible else []

    records = _records(report_store, domain, moment)
    selectors = selectors_seen(records, domain) if domain else {}
    tls_reports = _tls_reports(report_store, domain, moment)
    evidence = _Evidence(keys, hosts, selectors, tls_reports, network_checks(config))
    health, note = _health(domain, evidence, resolver, timeout)
    diagnoses: list[Diagnosis] | None = []
    if len(records):
        diagnoses = explain_within(
            records,
            resolver,
            timeout,
            cache=report_store.enrichment_cache(),
            providers=keys,
            hosts=hosts,
        )
    return assemble(
        Gathered(
            account=account,
            connections=tuple(connections),
            connections_visible=visible,
            lint=lint,
            probes=probes,
            domain=domain,
            providers=keys,
            hosts=hosts,
            health=health,
            health_note=note,
            report_days=REPORT_DAYS,
            messages=int(records["count"].sum()) if len(records) else 0,
            diagnoses=diagnoses or [],
            selectors=selectors,
            reports_complete=diagnoses is not None,
            now=moment,
        )
    )


@dataclass(frozen=True, slots=True)
class AccountSetup:
    """What an account sends as and through: its sending `domain` ("" when no connection names
    one), the catalogue keys of the `providers` and the SMTP `hosts` of the connections that send
    as it. The evidence `explain` and `check_domain` take; the DMARC reports page passes it for
    the account's own domain, so its diagnoses are the account's."""

    domain: str
    providers: tuple[str, ...]
    hosts: tuple[str, ...]


def account_setup(store: Store, account: Account) -> AccountSetup:
    """The account's AccountSetup, from its saved connections (no DNS); empty for a role that
    may not see them."""
    connections, _ = _connections(store, account)
    return AccountSetup(*_setup(account, connections))


def _setup(
    account: Account, connections: Sequence[Connection]
) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    active = active_connection(account.route, connections)
    domain = sending_domain(active, connections)
    keys, hosts = configured(active, connections, domain)
    return domain, keys, hosts


def _connections(store: Store, account: Account) -> tuple[list[Connection], bool]:
    try:
        return store.list_connections(account.id), True
    except PermissionDenied:
        return [], False  # an analyst: the route and the domain's mail, not the SMTP settings


def _lint(store: Store, conn: Connection) -> list[Finding]:
    try:
        return store.connection_lint(conn.id)
    except DiagnosticsError:
        return []  # settings the lint cannot read were refused when saved; nothing to add


def _probes(store: Store, account: Account) -> list[ProbeRecord]:
    return store.probe_history(account.id, limit=_PROBES)


def _records(report_store: ReportStore, domain: str, now: dt.datetime) -> pd.DataFrame:
    if not domain:
        return pd.DataFrame()
    start = now.date() - dt.timedelta(days=REPORT_DAYS)
    return report_store.verdicts(domain, start, None)  # reduced in SQL: explain needs no more


def network_checks(config: DeskConfig) -> NetworkChecks | None:
    """The health check's network checks when DESK_HEALTH_NETWORK is on: each fetch or connection
    within the SMTP test's limit and half the page's, trusting DESK_SMTP_CAFILE too."""
    if not config.checks.network:
        return None
    cafile = config.smtp.cafile
    return NetworkChecks(
        timeout=min(config.smtp.timeout, config.checks.timeout / 2),
        cafile=str(cafile) if cafile else None,
    )


def tls_report_summary(
    report_store: ReportStore, domain: str, *, today: dt.date | None = None
) -> TlsReportSummary:
    """What the stored SMTP TLS reports of `domain` say over the last `REPORT_DAYS` days."""
    start = (today or dt.datetime.now(dt.UTC).date()) - dt.timedelta(days=REPORT_DAYS)
    rows = report_store.tls_reports(domain, start, None)
    return TlsReportSummary.from_rows(rows.to_dict("records"), days=REPORT_DAYS)


def _tls_reports(
    report_store: ReportStore, domain: str, now: dt.datetime
) -> TlsReportSummary | None:
    if not domain:
        return None
    try:
        return tls_report_summary(report_store, domain, today=now.date())
    except DiagnosticsError:
        return None  # unreadable reports leave the MTA-STS cross-check out; the DMARC part says why


@dataclass(frozen=True, slots=True)
class _Evidence:
    """What the health check takes besides the domain: the account's providers, hosts and DKIM
    selectors seen passing, the TLS reports' summary and the network checks (None: off)."""

    keys: Sequence[str]
    hosts: Sequence[str]
    selectors: dict[str, tuple[str, ...]]
    tls_reports: TlsReportSummary | None
    network: NetworkChecks | None


def _health(
    domain: str, evidence: _Evidence, resolver: Resolver, timeout: float
) -> tuple[DomainHealth | None, str]:
    if not domain:
        return None, "The account has no sending domain: no connection names a From address."
    try:
        return run_sync(
            lambda: check_domain_async(
                domain,
                providers=evidence.keys,
                hosts=evidence.hosts,
                selectors=evidence.selectors,
                resolver=resolver,
                tls_reports=evidence.tls_reports,
                network=evidence.network,
            ),
            timeout=timeout,
        ), ""
    except TimeoutError:
        return None, (
            f"The DNS check of {domain} did not finish in {timeout:.0f} seconds: the nameserver "
            "is slow or unreachable."
        )
    except DiagnosticsError as exc:
        return None, str(exc)


def explain_within(
    records: pd.DataFrame,
    resolver: Resolver,
    timeout: float,
    *,
    cache: EnrichmentCache | None = None,
    providers: Sequence[str] = (),
    hosts: Sequence[str] = (),
) -> list[Diagnosis] | None:
    """`explain(records)`, or None when it takes longer than `timeout` seconds. `cache`: the
    store's enrichment cache, whose reverse DNS names sources that today's DNS cannot;
    `providers` and `hosts`: the account's connections, as evidence. The diagnosis and the DMARC
    reports page's own period both explain through it."""
    # explain is synchronous, so it runs on a thread, which no time limit can cancel; its look-ups
    # are bounded one by one by the resolver's timeout, so a thread left behind after the limit
    # ends on its own, and the bridge does not wait for it.
    try:
        return run_sync(
            lambda: asyncio.to_thread(
                explain, records, providers=providers, hosts=hosts, resolver=resolver, cache=cache
            ),
            timeout=timeout,
        )
    except TimeoutError:
        return None
