"""Write a `ReportBatch` into the store: each report whole or not at all, duplicates counted, and
no transaction larger than a chunk, so that a sign-in or a page never waits long behind an import
(SQLite lets one writer in at a time; PostgreSQL's row locks are held no longer either).

- Reports of at most `chunk_rows` records are written together, as many as fit in one chunk, in one
  transaction: one query finds the keys already stored, then the new reports, their records and
  their rollup rows go in a few statements under one savepoint (a mailbox's backlog of a thousand
  one-record reports is not five statements a report). If the database refuses any of it, the
  savepoint is rolled back and the reports are written again one by one, each in its own
  savepoint: a report the database refuses part-way leaves nothing behind and is rejected with a
  plain reason, and the others are stored.
- A larger report is written in steps. Its row first, claimed by this import (_claims.py) and
  invisible to every reader (tables.visible); then its records, a chunk per transaction, each
  renewing the claim; then one short transaction makes it visible and adds it to the rollup. A
  report refused part-way is taken out again; a crash leaves an invisible partial report, which
  `sweep` (run by the next import, and by the store on open) removes.

A report whose key (org_name, report_id, policy_domain) is already stored, or is being stored by
another import, is a duplicate and writes nothing. Each transaction that stores something moves
the store's generation; the days whose rollup changed are compacted afterwards, a day per
transaction (`compact`).
"""

from __future__ import annotations

import logging
import os
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from contextlib import suppress
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import (
    Connection,
    Engine,
    RootTransaction,
    Table,
    and_,
    delete,
    func,
    insert,
    select,
    tuple_,
    update,
)
from sqlalchemy.exc import DBAPIError, IntegrityError

from diagnostics.database import WRITE
from diagnostics.dmarc.parse import ReportBatch
from diagnostics.dmarc.store import _claims as claims
from diagnostics.dmarc.store import _rollup as rollup
from diagnostics.dmarc.store import _tables as tables
from diagnostics.dmarc.store._records_to_rows import (
    RecordArrays,
    TableRow,
    failure_row,
    report_key,
    report_row,
    tls_row,
)
from diagnostics.dmarc.store._summary import FileResult

log = logging.getLogger(__name__)

DEFAULT_CHUNK_ROWS = 10_000

_REFUSED = "the database refused part of this report, so none of it was stored"
_TAKEN_OVER = (
    "this import stalled so long that another took the report over, so none of it was stored "
    "by this one"
)
_NO_RECORDS = np.arange(0)
# Keys asked in one query: three parameters each, far under any database's limit.
_KEYS_PER_QUERY = 500

_p = tables.reports
_r = tables.records
_KEY_COLUMNS = (_p.c.org_name, _p.c.report_id, _p.c.policy_domain)


@dataclass
class _Tally:
    imported: int = 0
    duplicates: int = 0
    rejected: int = 0
    records: int = 0
    reasons: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Small:
    """A report of at most `chunk_rows` records, waiting to be written with others."""

    result: _Tally
    report: TableRow
    key: tuple[str, str, str]
    positions: np.ndarray


class _Group:
    """Consecutive small reports written together, in one transaction (`_write_many`): a batch
    of a thousand one-record reports (a mailbox's daily backlog) costs a few statements, not
    five a report."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._items: list[_Small] = []
        self._rows = 0

    def fits(self, rows: int) -> bool:
        return not self._items or self._rows + rows <= self._limit

    def add(self, item: _Small) -> None:
        self._items.append(item)
        self._rows += len(item.positions) + 1

    def write(
        self,
        chunks: _Chunks,
        arrays: RecordArrays | None,
        done: Callable[[_Small, int | str | None], None],
    ) -> None:
        if not self._items:
            return
        items, rows = self._items, self._rows
        self._items, self._rows = [], 0
        outcomes = _write_many(chunks.room(rows), items, arrays, self._limit)
        for item, stored in zip(items, outcomes, strict=True):
            if isinstance(stored, int):
                chunks.changed()
            done(item, stored)


def _count(
    result: _Tally, stored: int | str | None, report: TableRow, days: set[rollup.Day]
) -> None:
    if stored is None:
        result.duplicates += 1
    elif isinstance(stored, str):
        result.rejected += 1
        result.reasons.append(stored)
    else:
        result.imported += 1
        result.records += stored
        days.add((report["policy_domain"], rollup.day_of(report["begin_ts"])))


def write_batch(
    engine: Engine,
    batch: ReportBatch,
    *,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    file_of: dict[str, str] | None = None,
    touched: set[rollup.Day] | None = None,
) -> list[FileResult]:
    """Store every report of `batch` in the database of `engine`, in transactions of at most
    `chunk_rows` records (module docstring); one `FileResult` per source. `file_of` maps a part's
    name (e.g. "a.zip:b.xml") to the input file it is counted under; by default, each part counts
    on its own. The rollup days the new records fall on are compacted before returning, or, given
    `touched`, added to it for the caller to compact once after several batches (`compact`)."""
    now = int(time.time())
    tallies: dict[str, _Tally] = defaultdict(_Tally)

    def tally(name: str) -> _Tally:
        return tallies[(file_of or {}).get(name, name)]

    arrays = RecordArrays(batch.records) if len(batch.records) else None
    days: set[rollup.Day] = set()  # whose rollup the new records change
    with _Chunks(engine, chunk_rows) as chunks:
        pending = _Group(chunk_rows)

        def written(item: _Small, stored: int | str | None) -> None:
            _count(item.result, stored, item.report, days)

        rows = _plain_rows(batch.reports)
        for position, row in enumerate(rows):
            result = tally(str(row["source"]))
            report = report_row(row, now)
            positions = arrays.span(position) if arrays is not None else _NO_RECORDS
            if arrays is not None and len(positions) > chunk_rows:
                pending.write(chunks, arrays, written)
                chunks.commit()  # what is pending goes first, so results keep their order
                stored = _write_large(engine, report, arrays, positions, chunk_rows)
                _count(result, stored, report, days)
                continue
            if not pending.fits(len(positions) + 1):
                pending.write(chunks, arrays, written)
            pending.add(_Small(result, report, report_key(row), positions))
        pending.write(chunks, arrays, written)
        for table, frame, convert, key in (
            (tables.failure_reports, batch.failure_reports, failure_row, None),
            # A TLS report is one row per policy; its rows are stored, and counted, together.
            (tables.tls_reports, batch.tls_reports, tls_row, ("organization_name", "report_id")),
        ):
            groups: dict[object, list[TableRow]] = {}
            for position, (_, series) in enumerate(frame.iterrows()):
                values = _only(table, convert(series, now))
                group = (values["source"], *(values[k] for k in key)) if key else position
                groups.setdefault(group, []).append(values)
            for members in groups.values():
                result = tally(str(members[0]["source"]))
                outcome = _write_rows(chunks.room(len(members)), table, members)
                if outcome is None:
                    result.duplicates += 1
                elif outcome:
                    result.imported += 1
                    chunks.changed()
                else:
                    result.rejected += 1
                    result.reasons.append(_REFUSED)
    if touched is None:
        compact(engine, days, rows=chunk_rows)
    else:
        touched.update(days)
    for source, reason in batch.errors:
        result = tally(source)
        result.rejected += 1
        result.reasons.append(reason)
    return [
        FileResult(
            source=name,
            imported=t.imported,
            duplicates=t.duplicates,
            rejected=t.rejected,
            records=t.records,
            reasons=tuple(t.reasons),
        )
        for name, t in tallies.items()
    ]


def _plain_rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The rows of `frame` as plain dicts. A Series a row (iterrows) cost more than writing the
    report, and to_dict("records") boxes value by value: a list a column, zipped, is a third of
    its time, with the same values."""
    names = [str(name) for name in frame.columns]
    columns = [frame[name].tolist() for name in names]
    return [dict(zip(names, values, strict=True)) for values in zip(*columns, strict=True)]


def compact(engine: Engine, days: Iterable[rollup.Day], *, rows: int = DEFAULT_CHUNK_ROWS) -> None:
    """Compact the rollup of each of `days` that holds more than one report, a slice of about
    `rows` rows per transaction (rollup.slices): each slice's sums are the same before and after,
    so readers see the right figures throughout."""
    writer = engine.execution_options(**{WRITE: True})
    for day in sorted(set(days), key=lambda d: (d[0], -1 if d[1] is None else d[1])):
        with engine.connect() as connection:
            if rollup.reports_on(connection, day) < 2:
                continue
            parts = rollup.slices(connection, day, rows)
        for part in parts:
            with writer.begin() as connection:
                rollup.refresh_slice(connection, day, part)


def sweep(engine: Engine, *, chunk_rows: int = DEFAULT_CHUNK_ROWS) -> int:
    """Remove every partial report whose import is over without having finished (claims.abandoned):
    what a crash left. Each is first claimed for this sweep, so that two sweeps, or a sweep and
    a late importer, never both work on it. Returns how many were removed."""
    now = int(time.time())
    staged = tables.rollup_pending
    with engine.connect() as connection:
        found = connection.execute(
            select(_p.c.id, _p.c.import_owner, _p.c.import_lease).where(~tables.visible())
        ).all()
        # Staged rollup rows of a report made visible, whose import stopped before removing them.
        copied = connection.execute(
            select(staged.c.report_pk)
            .join(_p, _p.c.id == staged.c.report_pk)
            .where(tables.visible())
            .distinct()
        ).scalars()
        copied_pks = [int(pk) for pk in copied]
    removed = 0
    writer = engine.execution_options(**{WRITE: True})
    for pk in copied_pks:
        _unstage(writer, pk, chunk_rows)
    for pk, owner, lease in found:
        if not claims.abandoned(owner, lease, now):
            continue
        with claims.claiming() as sweeper:
            with writer.begin() as connection:
                taken = connection.execute(
                    update(_p)
                    .where(_p.c.id == pk, _p.c.import_owner == owner, _p.c.import_lease == lease)
                    .values(import_owner=str(sweeper), import_lease=now + claims.LEASE_SECONDS)
                )
            if taken.rowcount == 1:
                _discard(writer, int(pk), str(sweeper), chunk_rows)
                log.info("removed a partial report left by an import that did not finish")
                removed += 1
    return removed


class _Chunks:
    """Write transactions of at most `limit` rows each, one open at a time: `room(rows)` is the
    connection to write `rows` more through, after committing the open transaction if they would
    not fit in it. A transaction that stored something (`changed`) moves the generation."""

    def __init__(self, engine: Engine, limit: int) -> None:
        self._writer = engine.execution_options(**{WRITE: True})
        self._limit = limit
        self._connection: Connection | None = None
        self._transaction: RootTransaction | None = None
        self._rows = 0
        self._changed = False

    def __enter__(self) -> _Chunks:
        return self

    def room(self, rows: int) -> Connection:
        if self._connection is not None and self._rows and self._rows + rows > self._limit:
            self.commit()
        if self._connection is None:
            self._connection = self._writer.connect()
            self._transaction = self._connection.begin()
        self._rows += rows
        return self._connection

    def changed(self) -> None:
        self._changed = True

    def commit(self) -> None:
        if self._connection is None or self._transaction is None:
            return
        try:
            if self._changed:
                rollup.bump(self._connection)
            self._transaction.commit()
        finally:
            self._close()

    def _close(self) -> None:
        if self._connection is not None:
            self._connection.close()  # rolls back what was not committed
        self._connection = self._transaction = None
        self._rows = 0
        self._changed = False

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if kind is None:
            self.commit()
        else:
            self._close()


def _exists(connection: Connection, key: tuple[str, str, str]) -> bool:
    """A report with this key is stored, or being stored by an import (visible or not)."""
    org_name, report_id, domain = key
    query = select(_p.c.id).where(
        and_(_p.c.org_name == org_name, _p.c.report_id == report_id, _p.c.policy_domain == domain)
    )
    return connection.execute(query.limit(1)).first() is not None


def _stored_keys(
    connection: Connection, keys: list[tuple[str, str, str]]
) -> set[tuple[str, str, str]]:
    """Which of `keys` are stored, or being stored by an import (visible or not)."""
    found: set[tuple[str, str, str]] = set()
    for start in range(0, len(keys), _KEYS_PER_QUERY):
        some = keys[start : start + _KEYS_PER_QUERY]
        columns = (_p.c.org_name, _p.c.report_id, _p.c.policy_domain)
        query = select(*columns).where(tuple_(*columns).in_(some))
        found.update((str(o), str(r), str(d)) for o, r, d in connection.execute(query))
    return found


def _write_many(
    connection: Connection,
    items: list[_Small],
    arrays: RecordArrays | None,
    chunk_rows: int,
) -> list[int | str | None]:
    """`_write_report` for many small reports at once, in the caller's transaction: one query
    for the keys already stored, then every new report, its records and its rollup rows in a few
    statements under one savepoint. Whatever the database refuses there (a key stored meanwhile
    by another import, a value it will not take) is rolled back and the reports are written one
    by one, so each outcome is the report's own, exactly as `_write_report` gives it."""
    keys = [item.key for item in items]
    seen = _stored_keys(connection, keys)
    outcomes: list[int | str | None] = [None] * len(items)  # a duplicate until written
    fresh: list[int] = []
    for index, key in enumerate(keys):
        if key not in seen:  # a report twice in one batch is stored once
            seen.add(key)
            fresh.append(index)
    if not fresh:
        return outcomes
    savepoint = connection.begin_nested()
    try:
        # Each new id is matched to its report by the key it returns with, not by the order of
        # the rows returned: asked in parameter order, SQLAlchemy runs the INSERT a row at a
        # time on SQLite (500 statements a mailbox chunk); in any order, a few statements.
        inserted = connection.execute(
            insert(_p).returning(_p.c.id, *_KEY_COLUMNS), [items[i].report for i in fresh]
        )
        ids = {(str(o), str(r), str(d)): int(pk) for pk, o, r, d in inserted}
        pks = [ids[items[i].key] for i in fresh]
        rows: list[TableRow] = []
        if arrays is not None:
            for index, pk in zip(fresh, pks, strict=True):
                item = items[index]
                for part in arrays.chunks(item.positions, _constants(pk, item.report), chunk_rows):
                    rows.extend(part)
        if rows:
            connection.execute(insert(_r), rows)
        rollup.add_many(
            connection,
            [
                (pk, items[i].report["policy_domain"], items[i].report["begin_ts"])
                for i, pk in zip(fresh, pks, strict=True)
            ],
        )
        savepoint.commit()
    except DBAPIError:
        savepoint.rollback()
        for index in fresh:
            item = items[index]
            if _exists(connection, item.key):
                continue
            outcomes[index] = _write_report(
                connection, item.report, arrays, item.positions, chunk_rows
            )
        return outcomes
    for index in fresh:
        outcomes[index] = len(items[index].positions)
    return outcomes


def _write_report(
    connection: Connection,
    report: TableRow,
    arrays: RecordArrays | None,
    positions: np.ndarray,
    chunk_rows: int,
) -> int | str | None:
    """Records stored, None for a duplicate, or why the database refused the report."""
    savepoint = connection.begin_nested()
    try:
        try:
            inserted = connection.execute(insert(_p), report).inserted_primary_key
            pk = inserted[0] if inserted else None
        except IntegrityError:
            # The key arrived between our check and the insert (another importer).
            savepoint.rollback()
            return None
        stored = 0
        if arrays is not None and len(positions):
            constants = _constants(pk, report)
            for rows in arrays.chunks(positions, constants, chunk_rows):
                connection.execute(insert(_r), rows)
                stored += len(rows)
        # In the report's savepoint: a report the database refuses leaves no rollup rows either.
        if pk is not None:  # every database here returns it; without it no record could be stored
            rollup.add(connection, int(pk), report["policy_domain"], report["begin_ts"])
        savepoint.commit()
        return stored
    except DBAPIError:
        log.warning("report %s refused by the database", report.get("source"), exc_info=True)
        savepoint.rollback()
        return _REFUSED


class _TakenOver(Exception):
    """The claim on a report is no longer this import's: a sweep took it (module docstring)."""


def _write_large(
    engine: Engine, report: TableRow, arrays: RecordArrays, positions: np.ndarray, chunk_rows: int
) -> int | str | None:
    """`_write_report` in steps, for a report of more than `chunk_rows` records: claimed and
    invisible until its last records are in (module docstring)."""
    writer = engine.execution_options(**{WRITE: True})
    key = (report["org_name"], report["report_id"], report["policy_domain"])
    with claims.claiming() as owner:
        claim = str(owner)
        try:
            with writer.begin() as connection:
                if _exists(connection, key):
                    return None
                lease = int(time.time()) + claims.LEASE_SECONDS
                row = report | {"import_owner": claim, "import_lease": lease}
                pk = int(connection.execute(insert(_p).returning(_p.c.id), row).scalar_one())
        except IntegrityError:
            return None  # another import stored the key between our check and the insert
        try:
            stored = 0
            last_id = 0  # the highest id of its records so far: a chunk's are above it
            for rows in arrays.chunks(positions, _constants(pk, report), chunk_rows):
                with writer.begin() as connection:
                    _renew(connection, pk, claim)
                    connection.execute(insert(_r), rows)
                    rollup.stage(connection, pk, report["end_ts"], last_id)
                    last_id = _last_record(connection, pk)
                stored += len(rows)
            with writer.begin() as connection:
                published = connection.execute(
                    update(_p)
                    .where(_p.c.id == pk, _p.c.import_owner == claim)
                    .values(import_owner=None, import_lease=None)
                )
                if published.rowcount != 1:
                    raise _TakenOver
                rollup.publish(connection, pk, report["policy_domain"], report["begin_ts"])
                rollup.bump(connection)
        except _TakenOver:
            return _TAKEN_OVER  # what was written is the sweep's to remove
        except DBAPIError:
            log.warning("report %s refused by the database", report.get("source"), exc_info=True)
            _discard(writer, pk, claim, chunk_rows)
            return _REFUSED
        except BaseException:
            # An outage or an interruption: take the partial report out while the database still
            # answers; if it does not, the next import or open removes it (its claim ended here).
            with suppress(Exception):
                _discard(writer, pk, claim, chunk_rows)
            raise
    # Visible now: its staged rollup rows are copies, removed in short steps of their own (a
    # crash between leaves them to `sweep`; no reader looks at them).
    _unstage(writer, pk, chunk_rows)
    return stored


def _constants(pk: object, report: TableRow) -> TableRow:
    return {
        "report_pk": pk,
        "policy_domain": report["policy_domain"],
        "begin_ts": report["begin_ts"],
    }


def _last_record(connection: Connection, pk: int) -> int:
    return int(
        connection.execute(select(func.max(_r.c.id)).where(_r.c.report_pk == pk)).scalar_one()
    )


def _unstage(writer: Engine, pk: int, chunk_rows: int) -> None:
    while True:
        with writer.begin() as connection:
            if rollup.unstage(connection, pk, chunk_rows) < chunk_rows:
                return


def _renew(connection: Connection, pk: int, claim: str) -> None:
    renewed = connection.execute(
        update(_p)
        .where(_p.c.id == pk, _p.c.import_owner == claim)
        .values(import_lease=int(time.time()) + claims.LEASE_SECONDS)
    )
    if renewed.rowcount != 1:
        raise _TakenOver


def _discard(writer: Engine, pk: int, claim: str, chunk_rows: int) -> None:
    """Remove the partial report `pk` while `claim` holds it: its records and staged rollup rows
    a chunk per transaction (it is invisible, so nobody sees them go), then its row."""
    while True:
        with writer.begin() as connection:
            held = connection.execute(select(_p.c.import_owner).where(_p.c.id == pk)).scalar()
            if held != claim:
                return  # gone already, or another's to remove now
            some = select(_r.c.id).where(_r.c.report_pk == pk).limit(chunk_rows)
            deleted = connection.execute(delete(_r).where(_r.c.id.in_(some))).rowcount
            deleted += rollup.unstage(connection, pk, chunk_rows)
            if deleted < chunk_rows:
                connection.execute(delete(_p).where(_p.c.id == pk, _p.c.import_owner == claim))
                return


def _write_rows(connection: Connection, table: Table, rows: list[TableRow]) -> bool | None:
    """Rows of one report, by fingerprint: True stored, None all already stored (a duplicate),
    False refused by the database (then none of them is stored)."""
    fingerprints = [row["fingerprint"] for row in rows]
    found = set(
        connection.execute(
            select(table.c.fingerprint).where(table.c.fingerprint.in_(fingerprints))
        ).scalars()
    )
    missing = [row for row in rows if row["fingerprint"] not in found]
    if not missing:
        return None
    savepoint = connection.begin_nested()
    try:
        connection.execute(insert(table), missing)
    except IntegrityError:
        savepoint.rollback()
        return None
    except DBAPIError:
        log.warning("%s rows refused by the database", table.name, exc_info=True)
        savepoint.rollback()
        return False
    savepoint.commit()
    return True


def _only(table: Table, row: TableRow) -> TableRow:
    return {name: value for name, value in row.items() if name in table.c}


def input_files(paths: Iterable[str | os.PathLike[str]]) -> list[tuple[str, str | None]]:
    """The files named by `paths` (files, folders read recursively, glob patterns), in a stable
    order, each with None, or with a reason when a path names nothing."""
    import glob
    from pathlib import Path

    found: list[tuple[str, str | None]] = []
    for item in paths:
        text = os.fspath(item)
        path = Path(text)
        if path.is_dir():
            found.extend((str(p), None) for p in sorted(path.rglob("*")) if p.is_file())
        elif path.is_file():
            found.append((text, None))
        elif set("*?[") & set(text):
            matches: list[str] = []
            for match in sorted(glob.glob(text, recursive=True)):
                if os.path.isdir(match):
                    matches.extend(str(p) for p in sorted(Path(match).rglob("*")) if p.is_file())
                elif os.path.isfile(match):
                    matches.append(match)
            found.extend((m, None) for m in matches)
            if not matches:
                found.append((text, "no file matches this pattern"))
        else:
            found.append((text, "there is no such file or folder"))
    return found


def merge(source: str, results: list[FileResult]) -> FileResult:
    """The results of one input file's parts, counted together under `source`."""
    return FileResult(
        source=source,
        imported=sum(r.imported for r in results),
        duplicates=sum(r.duplicates for r in results),
        rejected=sum(r.rejected for r in results),
        records=sum(r.records for r in results),
        reasons=tuple(reason for r in results for reason in r.reasons),
    )
