"""Who sends from each address, as a table: cache first, DNS for the rest (`enrich`, `enrich_async`).

The order of work for a batch: distinct canonical addresses (invalid ones refused up front), rows
the cache already holds, concurrent PTR look-ups for the others (skipped when `offline=True`), then
the offline data for every new row. Parsing never waits on this: it is a separate step over the
addresses a parser produced.

`enrich` is the synchronous form for scripts, pages and notebooks, through the library's one sync
bridge (diagnostics/_sync.py): called from a thread that already runs an event loop (Jupyter), it
runs the batch on a worker thread with its own loop instead of failing, and blocks until the table
is ready; async callers should simply `await enrich_async(...)`.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from diagnostics._sync import run_sync
from diagnostics.dns import Resolver, get_resolver
from diagnostics.enrich.addresses import distinct_ips
from diagnostics.enrich.cache import EnrichmentCache
from diagnostics.enrich.ptr import lookup_ptrs, ptr_name
from diagnostics.enrich.row import Enrichment, describe, to_frame
from diagnostics.errors import InvalidInput

__all__ = ["DEFAULT_CACHE_TTL", "enrich", "enrich_async"]

# PTR names of sending infrastructure change rarely; a day keeps re-analysis free of DNS while a
# re-numbered sender is seen by the next day's reports.
DEFAULT_CACHE_TTL = 86_400.0


async def enrich_async(
    ips: Iterable[object],
    *,
    resolver: Resolver | None = None,
    concurrency: int = 64,
    cache: EnrichmentCache | None = None,
    offline: bool = False,
    cache_ttl: float = DEFAULT_CACHE_TTL,
) -> pd.DataFrame:
    """One row per distinct address in `ips`, in first-seen order, with the columns of
    `diagnostics.enrich.COLUMNS`.

    `ips` may be any iterable of strings (a list, a DataFrame column); missing values are skipped
    and a value that is not an IP address raises InvalidInput before any look-up. `resolver=None`
    uses a fresh system resolver. Rows held by `cache` are used as they are (also offline); rows
    looked up now are put back with `cache_ttl`, unless their look-up timed out or failed.
    `offline=True` sends no DNS at all: reverse_dns stays empty and the service is named from the
    address's AS where the offline data knows it."""
    if concurrency < 1:
        raise InvalidInput("concurrency must be at least 1 look-up at a time.")
    if cache_ttl <= 0:
        raise InvalidInput("cache_ttl must be a positive number of seconds.")
    addresses = distinct_ips(ips)
    rows: dict[str, Enrichment] = dict(cache.get_many(addresses)) if cache is not None else {}
    missing = [ip for ip in addresses if ip not in rows]
    if offline:
        rows.update((ip, describe(ip, None)) for ip in missing)
    elif missing:
        answers = await lookup_ptrs(missing, get_resolver(resolver), concurrency=concurrency)
        fresh = {ip: describe(ip, ptr_name(answer)) for ip, answer in answers.items()}
        rows.update(fresh)
        if cache is not None:
            definite = [fresh[ip] for ip, a in answers.items() if not a.status.is_temporary]
            cache.put_many(definite, cache_ttl)
    return to_frame(rows[ip] for ip in addresses)


def enrich(
    ips: Iterable[object],
    *,
    resolver: Resolver | None = None,
    concurrency: int = 64,
    cache: EnrichmentCache | None = None,
    offline: bool = False,
    cache_ttl: float = DEFAULT_CACHE_TTL,
) -> pd.DataFrame:
    """`enrich_async` for synchronous callers, through the library's sync bridge
    (diagnostics/_sync.py): also from code running inside an event loop."""
    return run_sync(
        lambda: enrich_async(
            ips,
            resolver=resolver,
            concurrency=concurrency,
            cache=cache,
            offline=offline,
            cache_ttl=cache_ttl,
        )
    )
