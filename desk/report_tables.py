"""The tables of the "DMARC reports" page, from the report store's rows: sources named by service,
one row per service, the volume over a readable period, the senders named through reverse DNS, the
records as CSV. Pandas only, no Streamlit: desk.report_views shares the results between sessions.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd

from diagnostics.dmarc import ReportStore
from diagnostics.dmarc.explain import offline_names
from diagnostics.dmarc.store import Moment
from diagnostics.dns import Resolver
from diagnostics.enrich import enrich, split_ips
from diagnostics.export import csv_bytes

# progress(done, total, name): how far an import (or a look-up) has come, for a progress bar.
_Progress = Callable[[int, int, str], None]

# PTR look-ups per progress step: small enough for a bar that moves, large enough for concurrency.
ENRICH_CHUNK = 256


def with_service_names(sources: pd.DataFrame) -> pd.DataFrame:
    """`ReportStore.by_source` rows with `service` and `named_by` filled in, without DNS: the
    enrichment cache's name where "Name the senders" found a reverse DNS name, else
    `offline_names` (a provider's copied networks, else the IP's network owner: the same owner
    name the unknown senders' table shows). Addresses none of them knows are "Unknown"."""
    frame = sources.copy()
    offline = offline_names(frame["source_ip"]).set_index("ip")
    by_ptr = frame["service_name"].astype("string").where(frame["reverse_dns"].notna())
    guess = frame["source_ip"].map(offline["service"]).astype("string")
    frame["service"] = by_ptr.fillna(guess).fillna("Unknown")
    frame["named_by"] = frame["source_ip"].map(offline["named_by"]).astype("string").fillna("")
    frame.loc[by_ptr.notna(), "named_by"] = "reverse DNS"
    return frame


def by_service(sources: pd.DataFrame) -> pd.DataFrame:
    """One row per service over `with_service_names` rows, most messages first: service, ips,
    messages, SPF/DKIM aligned and DMARC pass as % of messages, and the dispositions."""
    if sources.empty:
        columns = ["service", "ips", "messages", "spf_aligned_pct", "dkim_aligned_pct"]
        return pd.DataFrame(columns=[*columns, "dmarc_pass_pct", "disposition"])
    grouped = sources.groupby("service", sort=False).agg(
        ips=("source_ip", "nunique"),
        messages=("messages", "sum"),
        spf_aligned=("spf_aligned", "sum"),
        dkim_aligned=("dkim_aligned", "sum"),
        dmarc_pass=("dmarc_pass", "sum"),
        none=("none", "sum"),
        quarantine=("quarantine", "sum"),
        reject=("reject", "sum"),
    )
    total = grouped["messages"].where(grouped["messages"] > 0)
    for name in ("spf_aligned", "dkim_aligned", "dmarc_pass"):
        grouped[f"{name}_pct"] = (100 * grouped[name] / total).fillna(0.0)
    grouped["disposition"] = [
        disposition(int(n), int(q), int(r))
        for n, q, r in zip(grouped["none"], grouped["quarantine"], grouped["reject"], strict=True)
    ]
    grouped = grouped.reset_index().sort_values(["messages", "service"], ascending=[False, True])
    keep = ["service", "ips", "messages", "spf_aligned_pct", "dkim_aligned_pct"]
    return grouped[[*keep, "dmarc_pass_pct", "disposition"]].reset_index(drop=True)


def disposition(none: int, quarantine: int, reject: int) -> str:
    """What receivers did with the messages, in words: "delivered 120 · quarantined 3"."""
    parts = [
        f"{word} {count:,}"
        for word, count in (("delivered", none), ("quarantined", quarantine), ("rejected", reject))
        if count
    ]
    return " · ".join(parts) or "—"


def name_senders(
    store: ReportStore,
    ips: Sequence[str],
    resolver: Resolver,
    *,
    progress: _Progress | None = None,
) -> pd.DataFrame:
    """Enrich `ips` through the store's cache (cached rows send no DNS), a chunk at a time so that
    `progress(done, total, ip)` can move a bar; the rows of every address."""
    valid = list(split_ips(ips).valid)
    cache = store.enrichment_cache()
    parts = []
    for first in range(0, len(valid), ENRICH_CHUNK):
        chunk = valid[first : first + ENRICH_CHUNK]
        parts.append(enrich(chunk, resolver=resolver, cache=cache))
        if progress is not None:
            progress(first + len(chunk), len(valid), chunk[-1])
    if not parts:
        return enrich([], offline=True)
    return pd.concat(parts, ignore_index=True)


def records_csv(store: ReportStore, domain: str, start: Moment, end: Moment) -> bytes:
    """The domain's records in the period as CSV (UTF-8, a header line, ISO timestamps), every
    text cell neutralized for spreadsheets (diagnostics.export: no formula runs when it opens)."""
    frame = store.records(domain, start, end)
    return csv_bytes(frame, date_format="%Y-%m-%dT%H:%M:%SZ")


def volume_over_time(volume: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """`ReportStore.volume_by_day` rows summed per day, week or month, whichever keeps a long
    period readable (a day's bar over years is a hairline), and the unit's name. Columns: period
    (its first day), label (the period as text), messages, dmarc_pass, dmarc_fail, dmarc_pass_pct."""
    if volume.empty:
        return volume.assign(period=volume["day"], label=""), "day"
    days = pd.to_datetime(volume["day"], utc=True).dt.tz_localize(None)
    span = (days.max() - days.min()).days
    if span <= 92:
        unit, period, label = "day", days, "%Y-%m-%d"
    elif span <= 730:
        # weeks begin on Monday, named by that day
        unit, period, label = "week", days.dt.to_period("W-SUN").dt.start_time, "%Y-%m-%d"
    else:
        unit, period, label = "month", days.dt.to_period("M").dt.start_time, "%Y-%m"
    frame = (
        volume.assign(period=period)
        .groupby("period", as_index=False)[["messages", "dmarc_pass", "dmarc_fail"]]
        .sum()
    )
    frame["dmarc_pass_pct"] = (
        100 * frame["dmarc_pass"] / frame["messages"].where(frame["messages"] > 0)
    )
    frame["label"] = frame["period"].dt.strftime(label)
    return frame, unit


def shown_name(source: object) -> str:
    """A stored source as a person names it: the file name (and its part, "#2"), not the folder
    it was imported from on the server."""
    return Path(str(source)).name if source else ""


__all__ = [
    "ENRICH_CHUNK",
    "by_service",
    "disposition",
    "name_senders",
    "records_csv",
    "shown_name",
    "volume_over_time",
    "with_service_names",
]
