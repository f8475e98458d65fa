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

import pandas as pd

from admin._diagnosis_assemble import Gathered, assemble, by_impact, configured, failing_dmarc
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
from diagnostics.errors import DiagnosticsError
from diagnostics.findings import Finding
from diagnostics.health import DomainHealth, check_domain_async

__all__ = [
    "REPORT_DAYS",
    "AccountDiagnosis",
    "AccountProblem",
    "ConnectionDiagnosis",
    "LatestTest",
    "RecordToPublish",
    "ReportsEvidence",
    "by_impact",
    "diagnose_account",
    "failing_dmarc",
    "find_account",
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
    timeout = (config or DeskConfig()).checks.timeout
    moment = now or dt.datetime.now(dt.UTC)
    account = find_account(store, account_name_or_id)
    connections, visible = _connections(store, account)
    active = active_connection(account.route, connections)
    domain = sending_domain(active, connections)
    keys, hosts = configured(active, connections, domain)
    lint = {c.id: _lint(store, c) for c in connections} if visible else {}
    probes = _probes(store, account) if visible else []

    records = _records(report_store, domain, moment)
    selectors = selectors_seen(records, domain) if domain else {}
    health, note = _health(domain, keys, hosts, selectors, resolver, timeout)
    diagnoses: list[Diagnosis] | None = []
    if len(records):
        diagnoses = _explain(records, keys, hosts, resolver, timeout, report_store)
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


def _health(
    domain: str,
    keys: Sequence[str],
    hosts: Sequence[str],
    selectors: dict[str, tuple[str, ...]],
    resolver: Resolver,
    timeout: float,
) -> tuple[DomainHealth | None, str]:
    if not domain:
        return None, "The account has no sending domain: no connection names a From address."
    try:
        return run_sync(
            lambda: check_domain_async(
                domain, providers=keys, hosts=hosts, selectors=selectors, resolver=resolver
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


def _explain(
    records: pd.DataFrame,
    keys: Sequence[str],
    hosts: Sequence[str],
    resolver: Resolver,
    timeout: float,
    report_store: ReportStore,
) -> list[Diagnosis] | None:
    """explain with the account's connections as evidence; None when it takes longer than
    `timeout` (it runs on a thread no limit can cancel; each look-up is bounded by the
    resolver's own timeout, so a thread left behind ends on its own)."""
    cache = report_store.enrichment_cache()
    try:
        return run_sync(
            lambda: asyncio.to_thread(
                explain, records, providers=keys, hosts=hosts, resolver=resolver, cache=cache
            ),
            timeout=timeout,
        )
    except TimeoutError:
        return None
