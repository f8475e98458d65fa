"""The "Needs attention" page's tables and chart data, from the stored queue and alert history:
plain labels for people (the codes stay in --json), links to each account's Overview.

A row picked opens that account's Overview in this session; the Open column's link,
`/overview?account=ID` (desk.widgets.account_picker reads the parameter once), opens it in
another tab.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence

import altair as alt
import pandas as pd
import streamlit as st

from admin import Store
from admin.alerts import AlertRecord
from admin.queue import QueueEntry
from admin.queue_refresh import mark_new_reports, refresh_accounts
from admin.troubles import THRESHOLD_HELP, TroubleKind
from desk.configuration import app_config
from desk.resources import app_resolver, report_store
from desk.widgets import ACCOUNT_KEY, ACCOUNT_PARAM

OVERVIEW_PATH = "overview"
OVERVIEW_PAGE = "pages/overview.py"


# Why first after the account: it is what a person reads the queue for.
QUEUE_COLUMNS = (
    "account",
    "why",
    "problems",
    "plan",
    "provider",
    "messages",
    "checked",
    "changed",
    "overview",
)


def overview_link(account_id: int) -> str:
    """The Overview of one account, as an address (another tab asks who you are again)."""
    return f"/{OVERVIEW_PATH}?{ACCOUNT_PARAM}={int(account_id)}"


def open_overview(account_id: int) -> None:
    """Go to the Overview of one account in this session (a row picked in the queue)."""
    st.session_state[ACCOUNT_KEY] = int(account_id)
    st.switch_page(OVERVIEW_PAGE)


def note_new_reports(store: Store) -> int:
    """Mark the accounts whose domains got reports since the queue last looked (however they
    came in); how many rows. Two small queries when nothing is new."""
    return mark_new_reports(store, report_store())


def refresh_changed(store: Store, progress: Callable[[int, int], None]) -> int:
    """Diagnose again the accounts changed since their check (admin.queue_refresh), those with
    reports stored since too, with the app's DNS settings and report store; how many."""
    reports = report_store()
    mark_new_reports(store, reports)
    ids = store.queue.to_refresh()
    refresh_accounts(
        store,
        ids,
        report_store=reports,
        resolver=app_resolver(),
        config=app_config(),
        progress=progress,
    )
    return len(ids)


def queue_frame(entries: Sequence[QueueEntry]) -> pd.DataFrame:
    """One row an account, in the queue's order: plain labels, the Overview's address."""
    return pd.DataFrame(
        {
            "account": [e.account_name for e in entries],
            "overview": [overview_link(e.account_id) for e in entries],
            "plan": [e.plan.display_name for e in entries],
            "provider": [e.provider_name or "Managed or unknown" for e in entries],
            "problems": [", ".join(k.label for k in e.kinds) for e in entries],
            "why": [e.line for e in entries],
            "messages": [e.messages for e in entries],
            "checked": [e.refreshed_at for e in entries],
            "changed": ["changed since" if e.stale else "" for e in entries],
        }
    )


def kind_counts(entries: Sequence[QueueEntry]) -> pd.DataFrame:
    """How many accounts have each kind of trouble, every kind listed (0 too), worst kind first."""
    counted = Counter(k for e in entries for k in e.kinds)
    ordered = sorted(TroubleKind, key=lambda k: -k.weight)
    return pd.DataFrame(
        {"problem": [k.label for k in ordered], "accounts": [counted[k] for k in ordered]}
    )


def kind_chart(entries: Sequence[QueueEntry]) -> alt.Chart:
    """Accounts per kind of problem, the worst kind on top, every label whole."""
    chart: alt.Chart = (
        alt.Chart(kind_counts(entries))
        .mark_bar()
        .encode(
            x=alt.X("accounts:Q", title="Accounts", axis=alt.Axis(tickMinStep=1)),
            y=alt.Y(
                "problem:N",
                sort=None,
                title=None,
                axis=alt.Axis(labelLimit=400, labelOverlap=False),
            ),
            tooltip=["problem", "accounts"],
        )
        .properties(height=len(TroubleKind) * 28)
    )
    return chart


def threshold_label(name: str) -> str:
    """A rule's threshold in plain words ("No report for this many days")."""
    return THRESHOLD_HELP.get(name, name).capitalize()


def alerts_frame(records: Sequence[AlertRecord]) -> pd.DataFrame:
    """One row an alert: its account, problem, state, line, when seen, and its notices."""
    return pd.DataFrame(
        {
            "account": [r.account_name for r in records],
            "overview": [overview_link(r.account_id) for r in records],
            "problem": [r.kind.label for r in records],
            "state": ["Active" if r.active else "Resolved" for r in records],
            "why": [r.line for r in records],
            "first_seen": [r.first_seen for r in records],
            "last_seen": [r.last_seen for r in records],
            "resolved_at": [r.resolved_at for r in records],
            "notices": [_notices(r) for r in records],
        }
    )


_STATUS = {"pending": "waiting", "sending": "sending", "sent": "sent", "failed": "failed"}
_EVENT = {"opened": "alert", "resolved": "resolve notice"}


def _notices(record: AlertRecord) -> str:
    parts = []
    for d in record.deliveries:
        what = f"{_EVENT.get(d.event, d.event)} by {d.channel} {_STATUS.get(d.status, d.status)}"
        if d.status == "pending" and d.attempts:
            what += f" (tried {d.attempts} times)"
        if d.status == "failed":
            what += f" after {d.attempts} tries: {d.last_error or 'no reason given'}"
        parts.append(what)
    return "; ".join(parts) or "none sent (no channel set up)"


__all__ = [
    "QUEUE_COLUMNS",
    "alerts_frame",
    "kind_chart",
    "kind_counts",
    "note_new_reports",
    "open_overview",
    "overview_link",
    "queue_frame",
    "refresh_changed",
    "threshold_label",
]
