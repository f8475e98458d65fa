"""The support queue kept current from the app (issue 16: "refreshed after each import and each
test"): a test or an import marks the account's row stale (admin.queue); these refresh it at once,
with the app's DNS settings and report store (admin.queue_refresh, the same code as the page's
button and `python -m admin queue refresh`).

    save_queue_row(store, found)                  # a diagnosis just got (desk.account_diagnosis)
    refresh_after_test(store, account_id)         # a test just recorded (desk.connection_tests)
    refresh_after_import(store, reports, since)   # an import on the DMARC reports page

Each is a side effect of what the person asked for, so it never breaks the page: a role that may
not see connections refreshes nothing, and a refusal, a database fault or a report store that
cannot be read leaves the row marked for the next refresh (the Needs attention page, the command
line, the alert run), showing nothing. The DNS work of a refresh is bounded by the
configuration's checks.timeout (DESK_CHECK_TIMEOUT), as every diagnosis is.
"""

from __future__ import annotations

import streamlit as st
from sqlalchemy.exc import SQLAlchemyError

from admin import AdminError, Permission, Store
from admin.diagnosis import AccountDiagnosis
from admin.queue_refresh import refresh_account, refresh_reported, save_diagnosis
from desk.configuration import app_config
from desk.markdown import md
from desk.resources import app_resolver, report_store
from diagnostics import DiagnosticsError
from diagnostics.dmarc import ReportStore

# What a refresh may fail with: the stores' refusals and faults, the database's own errors.
_LEFT_STALE = (AdminError, DiagnosticsError, SQLAlchemyError)


def _may_refresh(store: Store) -> bool:
    """Refreshing diagnoses the account's connections: an analyst's run refreshes nothing."""
    return store.principal.can(Permission.VIEW_CONNECTIONS)


def save_queue_row(store: Store, found: AccountDiagnosis) -> bool:
    """Store the account's queue row from the diagnosis just got, when it was got with the
    account's connections (an analyst's lacks them and would hide their troubles); True when
    the row was saved."""
    if not (found.connections_visible and _may_refresh(store)):
        return False
    try:
        save_diagnosis(store, found, report_store=report_store())
    except _LEFT_STALE:
        return False
    return True


def refresh_after_test(store: Store, account_id: int) -> bool:
    """Diagnose again the account whose connection was just tested, store its row and evaluate
    its alerts; True when the row was saved."""
    if not _may_refresh(store):
        return False
    try:
        refresh_account(
            store,
            account_id,
            report_store=report_store(),
            resolver=app_resolver(),
            config=app_config(),
        )
        # Alerts are evaluated after each test; the next alert run sends what opened or ended.
        store.alerts.evaluate([account_id])
    except _LEFT_STALE:
        return False
    return True


def refresh_after_import(store: Store, reports: ReportStore, since: int) -> int:
    """Refresh the marked accounts of the domains with reports stored after `since` (the
    report store's `report_mark()` before the import), at most INLINE_REFRESH of them, with a
    progress bar when more than one; how many rows were saved. The others stay marked."""
    if not _may_refresh(store):
        return 0
    bar = None

    def checked(done: int, total: int) -> None:
        nonlocal bar
        if total < 2:
            return
        if bar is None:
            bar = st.progress(0.0)
        bar.progress(
            done / total,
            text=md(
                "Checking the accounts of the imported domains: {done:,} of {total:,}",
                done=done,
                total=total,
            ),
        )

    try:
        found = refresh_reported(
            store,
            reports,
            since=since,
            resolver=app_resolver(),
            config=app_config(),
            progress=checked,
        )
    except _LEFT_STALE:
        return 0
    return len(found)


__all__ = ["refresh_after_import", "refresh_after_test", "save_queue_row"]
