"""The "Needs attention" page's tables and chart data, from the stored queue and alert history:
plain labels for people (the codes stay in --json), links to each account's Overview.

The link is `/overview?account=ID` (desk.widgets.account_picker reads the parameter once), so a
row opens that account's Overview, in this tab or a new one.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import pandas as pd

from admin.alerts import AlertRecord
from admin.queue import QueueEntry
from admin.troubles import TroubleKind
from desk.widgets import ACCOUNT_PARAM

OVERVIEW_PATH = "overview"


def overview_link(account_id: int) -> str:
    return f"/{OVERVIEW_PATH}?{ACCOUNT_PARAM}={int(account_id)}"


def queue_frame(entries: Sequence[QueueEntry]) -> pd.DataFrame:
    """One row an account, in the queue's order."""
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


def alerts_frame(records: Sequence[AlertRecord]) -> pd.DataFrame:
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


__all__ = ["alerts_frame", "kind_counts", "overview_link", "queue_frame"]
