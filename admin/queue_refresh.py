"""Refreshing the support queue: one account's row from its account diagnosis (admin.diagnosis,
issue 12: the same code every surface renders, not a copy) and its domain's report figures.

    entry = refresh_account(store, account_id, report_store=reports, resolver=resolver)
    entry = save_diagnosis(store, found, report_store=reports)   # a diagnosis already got
    refresh_accounts(store, store.queue.to_refresh(), report_store=..., resolver=..., progress=...)
    refresh_reported(store, reports, since=mark, resolver=...)   # after an import

A test or an import marks the row stale (admin.queue); the app then refreshes it at once: after
a test (desk.connection_tests), after an import on the DMARC reports page (`refresh_reported`,
a bounded number inline) and from the diagnosis an Overview has just got (`save_diagnosis`). The
Needs attention page, `python -m admin queue refresh` and the alert run refresh what is left.
The diagnosis needs to see the account's connections (their lint and latest test are troubles),
so refreshing takes Permission.VIEW_CONNECTIONS; an analyst reads the queue but refreshes nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

from admin.access import Permission
from admin.diagnosis import AccountDiagnosis, diagnose_account
from admin.errors import NotFound, PermissionDenied
from admin.queue import QueueEntry
from admin.store import Store
from admin.troubles import QueueEvidence, Rule, TroubleKind, troubles
from diagnostics.config import DeskConfig
from diagnostics.dmarc import ReportStore
from diagnostics.dmarc.trend import DomainTrend
from diagnostics.dns import Resolver

__all__ = [
    "INLINE_REFRESH",
    "evidence_of",
    "mark_new_reports",
    "refresh_account",
    "refresh_accounts",
    "refresh_reported",
    "save_diagnosis",
]

Progress = Callable[[int, int], None]

# The accounts an import refreshes while the uploader waits (each is a diagnosis, DNS included);
# the others stay marked for the Needs attention page, the command line and the alert run.
INLINE_REFRESH = 20


def evidence_of(diagnosis: AccountDiagnosis, trend: DomainTrend | None) -> QueueEvidence:
    """What the queue decides an account's troubles from: its diagnosis, as it is."""
    active = diagnosis.active
    health = diagnosis.health
    check = health.dmarc_check if health is not None else None
    rua = bool(check is not None and check.record is not None and check.record.rua)
    return QueueEvidence(
        account_id=diagnosis.account_id,
        name=diagnosis.account_name,
        plan=diagnosis.plan.value,
        provider=active.provider if active is not None else None,
        domain=diagnosis.domain,
        problems=diagnosis.problems,
        active=active.label if active is not None else None,
        spf_codes=frozenset(f.code for f in health.spf.findings) if health else frozenset(),
        publishes_rua=rua,
        trend=trend,
    )


def save_diagnosis(
    store: Store,
    diagnosis: AccountDiagnosis,
    *,
    report_store: ReportStore,
    rules: dict[TroubleKind, Rule] | None = None,
    now: dt.datetime | None = None,
) -> QueueEntry:
    """Store the account's row from a diagnosis already got (an Overview's): its domain's trend
    as of `now` (the diagnosis's own moment by default), its troubles by the desk's rules. A
    diagnosis got without the account's connections (an analyst's) is refused: the row would
    lose the connection's troubles."""
    store.acting_as("system").require(Permission.VIEW_CONNECTIONS)
    if not diagnosis.connections_visible:
        raise PermissionDenied(
            "This diagnosis was made without the account's connections; it cannot refresh the "
            "support queue."
        )
    moment = now or diagnosis.checked_at
    trend = report_store.domain_trend(diagnosis.domain, moment) if diagnosis.domain else None
    evidence = evidence_of(diagnosis, trend)
    return store.queue.save(evidence, troubles(evidence, rules or desk_rules(store)))


def refresh_account(
    store: Store,
    account_id: int,
    *,
    report_store: ReportStore,
    resolver: Resolver,
    config: DeskConfig | None = None,
    rules: dict[TroubleKind, Rule] | None = None,
    now: dt.datetime | None = None,
) -> QueueEntry:
    """Diagnose the account, decide its troubles with the desk's rules and store its row. DNS
    work is bounded by `config`'s checks.timeout (admin.diagnosis)."""
    store.acting_as("system").require(Permission.VIEW_CONNECTIONS)
    moment = now or dt.datetime.now(dt.UTC)
    diagnosis = diagnose_account(
        store, account_id, report_store=report_store, resolver=resolver, config=config, now=moment
    )
    return save_diagnosis(store, diagnosis, report_store=report_store, rules=rules, now=moment)


def refresh_accounts(
    store: Store,
    account_ids: Sequence[int],
    *,
    report_store: ReportStore,
    resolver: Resolver,
    config: DeskConfig | None = None,
    now: dt.datetime | None = None,
    progress: Progress | None = None,
) -> list[QueueEntry]:
    """`refresh_account` for each id in turn (one diagnosis in memory at a time); an account
    deleted meanwhile loses its row. `progress(done, total)` after each."""
    rules = desk_rules(store)
    done: list[QueueEntry] = []
    for n, account_id in enumerate(account_ids, start=1):
        try:
            done.append(
                refresh_account(
                    store,
                    account_id,
                    report_store=report_store,
                    resolver=resolver,
                    config=config,
                    rules=rules,
                    now=now,
                )
            )
        except NotFound:
            store.queue.forget(account_id)
        if progress is not None:
            progress(n, len(account_ids))
    return done


def mark_new_reports(store: Store, report_store: ReportStore) -> int:
    """Mark the accounts of the domains with reports stored since the last call, however they
    came (an upload, the report mailbox, `python -m diagnostics reports import`, the receiver);
    how many rows were marked. Called before every refresh of the changed accounts."""
    last, newest = store.queue.report_mark(), report_store.report_mark()
    if newest <= last:
        return 0
    marked = store.queue.mark_stale(domains=report_store.domains_since(last)) if last else 0
    # The first call only notes where the reports stand: the rows written from now on are
    # refreshed with what is stored already.
    store.queue.set_report_mark(newest)
    return marked


def refresh_reported(
    store: Store,
    report_store: ReportStore,
    *,
    since: int,
    resolver: Resolver,
    config: DeskConfig | None = None,
    limit: int = INLINE_REFRESH,
    now: dt.datetime | None = None,
    progress: Progress | None = None,
) -> list[QueueEntry]:
    """After an import: mark the reports stored by any way (`mark_new_reports`), then refresh
    the marked accounts of the domains with reports stored after `since` (the import's
    `report_store.report_mark()` before it), at most `limit` of them, and evaluate their alerts;
    the rest stay marked."""
    mark_new_reports(store, report_store)
    ids = store.queue.to_refresh(domains=report_store.domains_since(since), limit=limit)
    if progress is not None and ids:
        progress(0, len(ids))  # a bar from the start: each step is a diagnosis
    found = refresh_accounts(
        store,
        ids,
        report_store=report_store,
        resolver=resolver,
        config=config,
        now=now,
        progress=progress,
    )
    # Alerts are evaluated after each import (sent by the next run: AlertDesk.evaluate).
    if found:
        store.alerts.evaluate([entry.account_id for entry in found], now=now)
    return found


def desk_rules(store: Store) -> dict[TroubleKind, Rule]:
    """The desk's rules, whose thresholds decide the troubles."""
    return store.queue.rules()
