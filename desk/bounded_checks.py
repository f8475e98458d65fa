"""DNS work a page waits for, bounded in time: the health check of a domain and the explanation of
its DMARC reports give up after `timeout` seconds (the page passes DESK_CHECK_TIMEOUT, the
configuration's `checks.timeout`) with None, so a slow nameserver costs a message, never a frozen
page. Which domain and provider an account sends with is admin.sending's.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Sequence

import pandas as pd

from diagnostics import run_sync
from diagnostics.dmarc import Category, Diagnosis, ReportStore, explain
from diagnostics.dns import Resolver
from diagnostics.enrich import EnrichmentCache
from diagnostics.health import PLATFORM, DomainHealth, check_domain_async

REPORT_DAYS = 30
TOP_DIAGNOSES = 3


def check_health(
    domain: str,
    provider_keys: Sequence[str],
    resolver: Resolver,
    timeout: float,
    *,
    platform: str | None = PLATFORM,
) -> DomainHealth | None:
    """`check_domain` of `domain` for `provider_keys` (the `platform` added: None for a domain
    not on it), or None when it takes longer than `timeout` seconds: the look-ups are
    cancelled, not left running."""

    try:
        return run_sync(
            lambda: check_domain_async(
                domain, providers=provider_keys, platform=platform, resolver=resolver
            ),
            timeout=timeout,
        )
    except TimeoutError:
        return None


def top_diagnoses(
    store: ReportStore,
    domain: str,
    resolver: Resolver,
    timeout: float,
    *,
    today: dt.date | None = None,
) -> tuple[int, list[Diagnosis]] | None:
    """(messages reported, the worst `TOP_DIAGNOSES` non-compliant sources) over the domain's
    records of the last `REPORT_DAYS` days; None when explaining takes longer than `timeout`."""
    start = (today or dt.datetime.now(dt.UTC).date()) - dt.timedelta(days=REPORT_DAYS)
    records = store.verdicts(domain, start, None)  # reduced in SQL: explain needs no more
    if records.empty:
        return 0, []
    diagnoses = explain_within(records, resolver, timeout, cache=store.enrichment_cache())
    if diagnoses is None:
        return None
    failing = [d for d in diagnoses if d.domain == domain and d.category is not Category.COMPLIANT]
    return int(records["count"].sum()), failing[:TOP_DIAGNOSES]


def explain_within(
    records: pd.DataFrame,
    resolver: Resolver,
    timeout: float,
    *,
    cache: EnrichmentCache | None = None,
) -> list[Diagnosis] | None:
    """`explain(records)`, or None when it takes longer than `timeout` seconds. `cache`: the
    store's enrichment cache, whose reverse DNS names sources that today's DNS cannot."""
    # explain is synchronous, so it runs on a thread, which no time limit can cancel; its look-ups
    # are bounded one by one by the resolver's timeout, so a thread left behind after the limit
    # ends on its own, and the bridge does not wait for it.
    try:
        return run_sync(
            lambda: asyncio.to_thread(explain, records, resolver=resolver, cache=cache),
            timeout=timeout,
        )
    except TimeoutError:
        return None


__all__ = [
    "REPORT_DAYS",
    "TOP_DIAGNOSES",
    "check_health",
    "explain_within",
    "top_diagnoses",
]
