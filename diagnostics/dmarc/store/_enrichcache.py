"""`SqlEnrichmentCache`: the enrichment cache (`diagnostics.enrich.EnrichmentCache`) in the store's
database, so that re-analysing reports sends no DNS, across sessions and processes.

Expiry is wall-clock Unix seconds (rows outlive the process); the clock is injectable for tests.
Look-ups go in slices small enough for SQLite's limit on bound parameters.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from sqlalchemy import Connection, Engine, delete, insert, select

from diagnostics.database import WRITE
from diagnostics.dmarc.store import _rollup as rollup
from diagnostics.dmarc.store import _tables as tables
from diagnostics.enrich.row import Enrichment
from diagnostics.errors import InvalidInput

_SLICE = 500
_FIELDS = (
    "reverse_dns",
    "base_domain",
    "service_name",
    "service_type",
    "asn",
    "as_name",
    "country",
)


class SqlEnrichmentCache:
    """Enriched rows by canonical IP address in the `dmarc_enrichment` table, each with its expiry."""

    def __init__(self, engine: Engine, *, clock: Callable[[], float] = time.time) -> None:
        self._engine = engine
        self._clock = clock

    def __repr__(self) -> str:
        return "SqlEnrichmentCache()"

    def get_many(self, ips: Iterable[str]) -> dict[str, Enrichment]:
        wanted = list(dict.fromkeys(ips))
        now = self._clock()
        table = tables.enrichment
        found: dict[str, Enrichment] = {}
        with self._engine.connect() as connection:
            for start in range(0, len(wanted), _SLICE):
                part = wanted[start : start + _SLICE]
                query = select(table).where(table.c.ip.in_(part), table.c.expires_at > now)
                for row in connection.execute(query).mappings():
                    found[row["ip"]] = Enrichment(
                        ip=row["ip"], **{name: row[name] for name in _FIELDS}
                    )
        return found

    def put_many(self, rows: Iterable[Enrichment], ttl: float) -> None:
        if ttl <= 0:
            raise InvalidInput("A cache ttl must be a positive number of seconds.")
        expires = self._clock() + ttl
        # The last row for an address wins, as in MemoryCache.
        values = {
            row.ip: {"ip": row.ip, "expires_at": expires, **{n: getattr(row, n) for n in _FIELDS}}
            for row in rows
        }
        if not values:
            return
        items = list(values.values())
        # Delete then insert in one transaction: portable across SQLite and PostgreSQL.
        with self._engine.connect() as connection:
            connection = connection.execution_options(**{WRITE: True})
            with connection.begin():
                self._replace(connection, items)
                # The sources tables name senders from this cache: what readers keep is stale.
                rollup.bump(connection)

    @staticmethod
    def _replace(connection: Connection, items: list[dict[str, object]]) -> None:
        table = tables.enrichment
        for start in range(0, len(items), _SLICE):
            part = items[start : start + _SLICE]
            connection.execute(delete(table).where(table.c.ip.in_([v["ip"] for v in part])))
            connection.execute(insert(table), part)

    def clear(self) -> None:
        with self._engine.connect() as connection, connection.begin():
            connection.execute(delete(tables.enrichment))
            rollup.bump(connection)
