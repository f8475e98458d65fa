"""The DMARC report store of the pages, and the steps of the "DMARC reports" page that are not layout.

The ReportStore is opened once per process and database (st.cache_resource), on the same database
as the admin store: DATABASE_URL, else the embedded SQLite file. On the embedded default the bundled
samples (samples/dmarc/) are imported once per process, so a newcomer sees real reports at once; a
second import only counts them as already stored. Uploads are capped in size and number by settings
(DESK_MAX_UPLOAD_MB, DESK_MAX_UPLOAD_FILES); the parser's own caps apply inside each file.
"""

from __future__ import annotations

import datetime as dt
import io
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from admin import PermissionDenied, Store
from admin.reports import import_reports
from admin.sample_reports import sample_reports
from desk.resources import store_or_stop
from diagnostics.database import database_url
from diagnostics.dmarc import FileResult, ImportSummary, ReportStore, StoreError
from diagnostics.dmarc.queries import Moment
from diagnostics.dmarc.sources import offline_names
from diagnostics.dns import Resolver
from diagnostics.enrich import enrich, split_ips
from diagnostics.export import csv_bytes
from diagnostics.settings import PROJECT_ROOT, default_sqlite_path

URL_ENV = "DATABASE_URL"
MAX_MB_ENV = "DESK_MAX_UPLOAD_MB"
MAX_FILES_ENV = "DESK_MAX_UPLOAD_FILES"
DEFAULT_MAX_MB = 50
DEFAULT_MAX_FILES = 500
SAMPLES = PROJECT_ROOT / "samples" / "dmarc"
# Notices that travel with the samples; importing them would only add rejected lines.
_NOT_REPORTS = {"LICENSE", "SOURCE.md"}
# PTR look-ups per progress step: small enough for a bar that moves, large enough for concurrency.
ENRICH_CHUNK = 256

Progress = Callable[[int, int, str], None]


@dataclass(frozen=True, slots=True)
class UploadLimits:
    """How much one import may take: each file at most `max_mb` megabytes, `max_files` at once."""

    max_mb: int = DEFAULT_MAX_MB
    max_files: int = DEFAULT_MAX_FILES

    @property
    def max_bytes(self) -> int:
        return self.max_mb * 1024 * 1024


def _positive_int(name: str, default: int) -> int:
    # A typo in a setting must not take the page down: the default holds until it is fixed.
    try:
        value = int(os.environ.get(name, "").strip() or default)
    except ValueError:
        return default
    return value if value > 0 else default


def upload_limits() -> UploadLimits:
    """The caps from DESK_MAX_UPLOAD_MB and DESK_MAX_UPLOAD_FILES (defaults 50 MB, 500 files)."""
    return UploadLimits(
        _positive_int(MAX_MB_ENV, DEFAULT_MAX_MB), _positive_int(MAX_FILES_ENV, DEFAULT_MAX_FILES)
    )


def too_many(count: int, limits: UploadLimits) -> str | None:
    """The plain refusal when `count` files are more than one import takes, else None."""
    if count <= limits.max_files:
        return None
    return (
        f"{count:,} files chosen: one import takes at most {limits.max_files:,}. "
        f"Import them in parts (the limit is the setting {MAX_FILES_ENV})."
    )


def _size(upload: Any) -> int:
    size = getattr(upload, "size", None)
    if isinstance(size, int):
        return size
    if isinstance(upload, bytes):
        return len(upload)
    return len(upload.getvalue())


def import_uploads(
    store: ReportStore,
    uploads: Sequence[Any],
    limits: UploadLimits,
    *,
    progress: Progress | None = None,
    desk: Store | None = None,
) -> ImportSummary:
    """Import uploaded files (Streamlit uploads, or anything `ReportStore.import_files` takes) one
    at a time, as the signed-in user: admin.reports checks their role and writes the audit entry.
    `desk` is the admin store bound to that user, by default the page's (desk.resources). A file over
    the size cap is rejected with the reason, without being read; a role that may not upload gets
    every file rejected with the refusal in plain words, never a traceback."""
    items: list[Any] = []
    for done, upload in enumerate(uploads, start=1):
        name = str(getattr(upload, "name", f"upload {done}"))
        if _size(upload) > limits.max_bytes:
            reason = f"larger than the {limits.max_mb} MB upload limit ({MAX_MB_ENV})"
            items.append(FileResult(source=name, rejected=1, reasons=(reason,)))
        else:
            items.append(upload)
    acting = desk if desk is not None else store_or_stop()
    try:
        return import_reports(acting, acting.principal, store, items, progress=progress)
    except PermissionDenied as exc:
        refused = [
            FileResult(
                source=str(getattr(u, "name", f"upload {n}")), rejected=1, reasons=(str(exc),)
            )
            for n, u in enumerate(uploads, start=1)
        ]
        return ImportSummary(tuple(refused))


def sample_files(folder: Path = SAMPLES) -> list[Path]:
    """The bundled sample reports, without their licence and notice."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and p.name not in _NOT_REPORTS)


def is_embedded_default(url: str) -> bool:
    """True when `url` (empty: the default) is the embedded SQLite file, where samples are loaded."""
    parsed = database_url(url or None)
    return parsed.get_backend_name() == "sqlite" and parsed.database == str(default_sqlite_path())


@st.cache_resource(show_spinner="Opening the report store…")
def _open_report_store(url: str, resolved: str) -> ReportStore:
    # `resolved` (the URL after defaults, so DESK_DATA_DIR counts) only keys the cache: another
    # database is another store. Neither is ever shown, since a URL may hold a password.
    del resolved
    store = ReportStore(url or None)
    if is_embedded_default(url):
        store.import_paths(sample_files())
        # The sample accounts' own recent reports, so their Overview has something to explain.
        store.import_files(demo_reports(dt.datetime.now(dt.UTC).date()))
    return store


def demo_reports(today: dt.date) -> list[io.BytesIO]:
    """The sample accounts' demo reports as named in-memory files (the name shows in summaries)."""
    files = []
    for name, data in sample_reports(today):
        handle = io.BytesIO(data)
        handle.name = name
        files.append(handle)
    return files


def report_store() -> ReportStore:
    """The process's report store for the configured database; raises StoreError (or InvalidInput
    for a URL that is not one) when it cannot open."""
    url = os.environ.get(URL_ENV, "").strip()
    try:
        resolved = database_url(url or None).render_as_string(hide_password=False)
        return _open_report_store(url, resolved)
    except ImportError:
        # SQLAlchemy picks a driver from the URL; one that is not installed is a setting to fix,
        # said plainly (the URL itself is not repeated: it may hold a password).
        backend = database_url(url or None).get_backend_name()
        raise StoreError(
            f"No driver for this {backend} database URL is installed; for PostgreSQL write "
            "postgresql+psycopg2://… in DATABASE_URL."
        ) from None


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
    progress: Progress | None = None,
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
