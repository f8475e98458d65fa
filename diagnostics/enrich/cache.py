"""Where enriched rows are kept between runs, so re-analysing a report sends no DNS.

`EnrichmentCache` is the protocol `enrich` talks to; `MemoryCache` keeps rows in this process (a
notebook session, a test). The store in `admin/` provides the database-backed one for the pages.
Only rows whose PTR look-up had a definite outcome are put (a name, or no such name): a timeout is
worth asking again next time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Protocol, runtime_checkable

from diagnostics.enrich.row import Enrichment
from diagnostics.errors import InvalidInput

__all__ = ["EnrichmentCache", "MemoryCache"]


@runtime_checkable
class EnrichmentCache(Protocol):
    """Rows by canonical IP address, each kept until its own expiry."""

    def get_many(self, ips: Iterable[str]) -> Mapping[str, Enrichment]:
        """The unexpired rows among `ips`; addresses without one are simply absent."""
        ...

    def put_many(self, rows: Iterable[Enrichment], ttl: float) -> None:
        """Keep `rows` for `ttl` seconds, replacing older rows for the same addresses."""
        ...


class MemoryCache:
    """An `EnrichmentCache` in a dict, safe to share between threads. `clock` is injectable so
    expiry can be tested without waiting."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._rows: dict[str, tuple[float, Enrichment]] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        now = self._clock()
        with self._lock:
            return sum(1 for expires, _ in self._rows.values() if expires > now)

    def __repr__(self) -> str:
        return f"MemoryCache(rows={len(self)})"

    def get_many(self, ips: Iterable[str]) -> dict[str, Enrichment]:
        now = self._clock()
        found: dict[str, Enrichment] = {}
        with self._lock:
            for ip in ips:
                hit = self._rows.get(ip)
                if hit is None:
                    continue
                if hit[0] > now:
                    found[ip] = hit[1]
                else:
                    del self._rows[ip]
        return found

    def put_many(self, rows: Iterable[Enrichment], ttl: float) -> None:
        if ttl <= 0:
            raise InvalidInput("A cache ttl must be a positive number of seconds.")
        expires = self._clock() + ttl
        with self._lock:
            for row in rows:
                self._rows[row.ip] = (expires, row)

    def clear(self) -> None:
        with self._lock:
            self._rows.clear()
