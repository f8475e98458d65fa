"""The report store's schema version: tables created or upgraded when a store opens.

The schema has its own version row (`dmarc_schema_version`): opening a store creates missing tables
(_tables.py defines them), then runs the upgrade steps from the stored version to `SCHEMA_VERSION`
in one transaction, so an upgrade keeps the data. A database written by a newer version is refused
rather than guessed at.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Column, Connection, Table, delete, insert, inspect, select, text, update

from diagnostics.dmarc.store import _rollup as rollup
from diagnostics.dmarc.store._tables import (
    metadata,
    reports,
    rollup_pending,
    schema_version,
    store_state,
)
from diagnostics.dmarc.store._tables import rollup as rollup_table
from diagnostics.errors import DiagnosticsError

__all__ = ["SCHEMA_VERSION", "UPGRADES", "StoreError", "ensure_schema"]

SCHEMA_VERSION = 4


class StoreError(DiagnosticsError, RuntimeError):
    """The report store cannot be used: the database is unreachable or of an unknown schema."""


def _fill_rollup(connection: Connection) -> None:
    # The rollup sums visible reports only, which it tells by columns of schema 3.
    _add_import_claims(connection)
    rollup.rebuild(connection)


def _add_columns(connection: Connection, table: Table, names: tuple[str, ...]) -> None:
    """Add the columns `names` of `table` (as _tables.py defines them) where the database's table
    lacks them."""
    found = {c["name"] for c in inspect(connection).get_columns(table.name)}
    preparer = connection.dialect.identifier_preparer
    for name in names:
        if name in found:
            continue
        column: Column[object] = table.c[name]
        kind = column.type.compile(dialect=connection.dialect)
        connection.execute(
            text(
                f"ALTER TABLE {preparer.format_table(table)} "
                f"ADD COLUMN {preparer.format_column(column)} {kind}"
            )
        )


def _add_import_claims(connection: Connection) -> None:
    """The columns of a report being imported (`import_owner`, `import_lease`) and their index,
    where missing. Every report stored before is complete: NULL, as `visible` asks."""
    found = inspect(connection)
    _add_columns(connection, reports, ("import_owner", "import_lease"))
    if "ix_dmarc_reports_importing" not in {i["name"] for i in found.get_indexes(reports.name)}:
        next(i for i in reports.indexes if i.name == "ix_dmarc_reports_importing").create(
            connection
        )


def _add_dkim_selectors(connection: Connection) -> None:
    """The DKIM selectors joined the verdict columns (_keys.KEYS): the rollup and the staged
    rollup gain the column, SQLite's verdicts index is made again over the new KEYS, and both
    are summed anew from the records, which always held the selectors."""
    _add_columns(connection, rollup_table, ("dkim_selectors",))
    _add_columns(connection, rollup_pending, ("dkim_selectors",))
    if connection.dialect.name == "sqlite":
        connection.execute(text("DROP INDEX IF EXISTS ix_dmarc_rollup_verdicts"))
        next(i for i in rollup_table.indexes if i.name == "ix_dmarc_rollup_verdicts").create(
            connection
        )
    rollup.rebuild(connection)
    # A report still being written keeps its staged sums, summed again from what it has written
    # so far (the chunks still to come are staged as they arrive).
    staged = connection.execute(
        select(rollup_pending.c.report_pk, rollup_pending.c.end_ts).distinct()
    ).all()
    connection.execute(delete(rollup_pending))
    for report_pk, end_ts in staged:
        rollup.stage(connection, int(report_pk), end_ts, after_id=0)


# Upgrade steps: UPGRADES[n] takes a database at schema n to n + 1, inside the open transaction.
# create_all has made any new table (empty) before they run.
UPGRADES: dict[int, Callable[[Connection], None]] = {
    1: _fill_rollup,
    2: _add_import_claims,
    3: _add_dkim_selectors,
}


def ensure_schema(connection: Connection, *, target: int = SCHEMA_VERSION) -> int:
    """Create missing tables and upgrade to `target`; returns the version the database was at
    (0 for a database without the store). Call inside a transaction."""
    metadata.create_all(connection, checkfirst=True)
    if connection.execute(select(store_state.c.generation)).first() is None:
        connection.execute(insert(store_state).values(generation=0))
    found = connection.execute(select(schema_version.c.version)).scalar()
    if found is None:
        connection.execute(insert(schema_version).values(version=target))
        return 0
    if found > target:
        raise StoreError(
            f"The report tables are at schema version {found}, newer than this program knows "
            f"({target}); upgrade the program before opening this database."
        )
    for version in range(found, target):
        step = UPGRADES.get(version)
        if step is None:
            raise StoreError(f"There is no upgrade from report schema version {version}.")
        step(connection)
        connection.execute(update(schema_version).values(version=version + 1))
    return int(found)
