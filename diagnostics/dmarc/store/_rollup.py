"""Keep `dmarc_rollup` (the records summed per report start and verdict combination) true to
`dmarc_records`, and count the store's writes in `dmarc_store_state`.

Two steps, both the same SQL on SQLite and PostgreSQL:

- `add`: a report's own records, summed, in the transaction that stores the report. The rollup is
  then right at once, but holds a row per report and verdict, as many as the records when every
  receiver reports the same senders. Only visible reports are ever summed (tables.visible). A
  report imported in chunks has each chunk summed as it is written (`stage`), into a table no
  reader looks at; the transaction that makes the report visible copies those rows (`publish`).
- `refresh` (compaction): a UTC day re-summed from its records, so the rows of all the reports of
  that day become one per verdict combination. An import compacts the days it touched once, at its
  end: a thousand reports of one day cost one re-sum of that day, not a thousand (measured with
  1,000 files of 50 records: 133 s when each file re-summed its day). A day of one report is
  compact already (`reports_on`). A large day is compacted in `slices` of its sending addresses,
  each in its own short transaction (`refresh_slice`): a slice's sums are the same before and
  after, so readers see the right figures throughout, and no writer waits long behind it.

Why rows are re-summed rather than upserted: the verdict columns hold long free text (DKIM domain
lists, override comments) and NULLs, which a unique index can neither hold in every database nor
compare. Readers sum again, so a day with rows from `add` and from `refresh` still adds up.

On PostgreSQL both steps first take a transaction lock on the day (`pg_advisory_xact_lock`): under
READ COMMITTED a compaction's delete and its re-sum see different moments, and a report stored
between them would be counted twice. SQLite lets one writer in at a time anyway.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Connection,
    Select,
    Table,
    delete,
    func,
    insert,
    literal,
    select,
    update,
)

from diagnostics.dmarc.store import _tables as tables
from diagnostics.dmarc.store._tables import DAY

__all__ = [
    "Day",
    "Slice",
    "add",
    "add_many",
    "bump",
    "day_of",
    "generation",
    "publish",
    "rebuild",
    "refresh",
    "refresh_slice",
    "reports_on",
    "slices",
    "stage",
    "unstage",
]

# (policy_domain, UTC day number = begin_ts // DAY); day None is the reports without a start.
Day = tuple[str, int | None]

_r = tables.records
_p = tables.reports
_u = tables.rollup
_s = tables.rollup_pending
# Reports summed by one statement of `add_many`.
_PKS_PER_QUERY = 1000
# The rollup's columns that copy a record's value and group it.
_GROUPED = [c.name for c in _u.c if c.name not in ("id", "end_ts", "count")]


def _summed(*where: ColumnElement[bool]) -> Select[tuple[object, ...]]:
    grouped = [_r.c[name] for name in _GROUPED]
    return (
        select(*grouped, func.max(_p.c.end_ts), func.sum(_r.c["count"]))
        .join_from(_r, _p, _r.c.report_pk == _p.c.id)
        # A report still being imported is summed when it becomes visible (`add`), not before.
        .where(tables.visible(), *where)
        .group_by(*grouped)
    )


def _insert_summed(connection: Connection, *where: ColumnElement[bool]) -> None:
    connection.execute(
        insert(_u).from_select([*_GROUPED, "end_ts", "count"], _summed(*where)),
    )


def _on_day(table: Table, domain: str, day: int | None) -> list[ColumnElement[bool]]:
    columns = table.c
    if day is None:
        return [columns.policy_domain == domain, columns.begin_ts.is_(None)]
    return [
        columns.policy_domain == domain,
        columns.begin_ts >= day * DAY,
        columns.begin_ts < (day + 1) * DAY,
    ]


def add(connection: Connection, report_pk: int, domain: str, begin_ts: int | None) -> None:
    """Sum the records of the report `report_pk` (stored, or made visible, just now, of `domain`,
    starting at `begin_ts`) into the rollup, inside the caller's transaction."""
    _lock(connection, domain, day_of(begin_ts))
    _insert_summed(connection, _r.c.report_pk == report_pk)


def add_many(connection: Connection, reports: list[tuple[int, str, int | None]]) -> None:
    """`add` for many reports at once: (report_pk, domain, begin_ts) each. Their records are
    summed together, so two reports of the same start and verdicts share a row, as compaction
    (`refresh`) would make them."""
    days = {(domain, day_of(begin_ts)) for _, domain, begin_ts in reports}
    for domain, day in sorted(days, key=lambda d: (d[0], -1 if d[1] is None else d[1])):
        _lock(connection, domain, day)  # in the order every writer takes them
    pks = [pk for pk, _, _ in reports]
    for start in range(0, len(pks), _PKS_PER_QUERY):
        _insert_summed(connection, _r.c.report_pk.in_(pks[start : start + _PKS_PER_QUERY]))


def stage(connection: Connection, report_pk: int, end_ts: int | None, after_id: int) -> None:
    """Sum the records of the report `report_pk` whose id is above `after_id` (the chunk written
    just now) into dmarc_rollup_pending, inside the caller's transaction."""
    grouped = [_r.c[name] for name in _GROUPED]
    query = (
        select(
            *grouped,
            literal(end_ts, BigInteger()),
            func.sum(_r.c["count"]),
            literal(report_pk, BigInteger()),
        )
        .where(_r.c.report_pk == report_pk, _r.c.id > after_id)
        .group_by(*grouped)
    )
    connection.execute(
        insert(_s).from_select([*_GROUPED, "end_ts", "count", "report_pk"], query),
    )


def publish(connection: Connection, report_pk: int, domain: str, begin_ts: int | None) -> None:
    """Copy the staged rows of the report `report_pk` (made visible in the caller's transaction)
    into the rollup. They stay staged too, for `unstage` to remove afterwards."""
    _lock(connection, domain, day_of(begin_ts))
    columns = [*_GROUPED, "end_ts", "count"]
    staged = select(*(_s.c[name] for name in columns)).where(_s.c.report_pk == report_pk)
    connection.execute(insert(_u).from_select(columns, staged))


def unstage(connection: Connection, report_pk: int, rows: int) -> int:
    """Remove up to `rows` staged rows of the report `report_pk`; how many were removed."""
    some = select(_s.c.id).where(_s.c.report_pk == report_pk).limit(rows)
    return int(connection.execute(delete(_s).where(_s.c.id.in_(some))).rowcount)


def refresh(connection: Connection, days: Iterable[Day]) -> None:
    """Re-sum the rollup of each (domain, day) from its records (compaction), each day whole,
    inside the caller's transaction. Imports compact in slices instead (`refresh_slice`)."""
    # Always the same order, so two compactions locking several days cannot wait on each other.
    for day in sorted(set(days), key=lambda d: (d[0], -1 if d[1] is None else d[1])):
        for part in (Slice(), Slice(nulls=True)):  # every address, then the rows without one
            refresh_slice(connection, day, part)


@dataclass(frozen=True, slots=True)
class Slice:
    """Part of a day's rows for one compaction step: those whose source_ip is after `after`
    (None: from the first) up to `upto` included (None: to the last), or, with `nulls`, those
    without one. A day's slices cover every row, whichever arrives meanwhile."""

    after: str | None = None
    upto: str | None = None
    nulls: bool = False

    def where(self, table: Table) -> list[ColumnElement[bool]]:
        column = table.c.source_ip
        if self.nulls:
            return [column.is_(None)]
        bounds: list[ColumnElement[bool]] = [column.is_not(None)]
        if self.after is not None:
            bounds.append(column > self.after)
        if self.upto is not None:
            bounds.append(column <= self.upto)
        return bounds


def reports_on(connection: Connection, day: Day) -> int:
    """How many visible reports start on `day`. Compaction merges the rows of different reports;
    a day of one report has about one row per verdict combination already (one exactly, unless
    it was staged chunk by chunk and a combination recurs in two chunks, which receivers, who
    aggregate their rows, hardly ever send)."""
    query = select(func.count()).select_from(_p).where(tables.visible(), *_on_day(_p, *day))
    return int(connection.execute(query).scalar_one())


def slices(connection: Connection, day: Day, rows: int) -> list[Slice]:
    """The day's rollup cut into slices of about `rows` rows each, by sending address."""
    per_address = connection.execute(
        select(_u.c.source_ip, func.count())
        .where(*_on_day(_u, *day), _u.c.source_ip.is_not(None))
        .group_by(_u.c.source_ip)
        .order_by(_u.c.source_ip)
    ).all()
    cuts: list[str] = []
    held = 0
    for address, count in per_address:
        held += int(count)
        if held >= rows:
            cuts.append(str(address))
            held = 0
    lowers: list[str | None] = [None, *cuts]
    uppers: list[str | None] = [*cuts, None]
    return [Slice(after, upto) for after, upto in zip(lowers, uppers, strict=True)] + [
        Slice(nulls=True)
    ]


def refresh_slice(connection: Connection, day: Day, part: Slice) -> None:
    """Re-sum one slice of a day's rollup from its records, inside the caller's transaction."""
    domain, number = day
    _lock(connection, domain, number)
    connection.execute(delete(_u).where(*_on_day(_u, domain, number), *part.where(_u)))
    _insert_summed(connection, *_on_day(_r, domain, number), *part.where(_r))


def _lock(connection: Connection, domain: str, day: int | None) -> None:
    if connection.dialect.name != "postgresql":
        return
    digest = hashlib.blake2b(f"{domain}\0{day}".encode(), digest_size=8).digest()
    key = int.from_bytes(digest, "big", signed=True)  # a bigint, as the lock function takes
    connection.execute(select(func.pg_advisory_xact_lock(key)))


def rebuild(connection: Connection) -> None:
    """The whole rollup again from every record (a schema upgrade, or a repair)."""
    connection.execute(delete(_u))
    _insert_summed(connection)


def day_of(begin_ts: int | None) -> int | None:
    """The UTC day number a report starting at `begin_ts` is summed under."""
    return None if begin_ts is None else int(begin_ts) // DAY


def bump(connection: Connection) -> None:
    """Count one write; readers holding results of an older generation know to drop them."""
    connection.execute(
        update(tables.store_state).values(generation=tables.store_state.c.generation + 1)
    )


def generation(connection: Connection) -> int:
    """How many writes the store has seen (0 for a new store)."""
    found = connection.execute(select(tables.store_state.c.generation)).scalar()
    return int(found or 0)
