"""The store's read side: SQL that filters by domain and period and aggregates in the database.

Each function builds one SELECT (pure, no I/O) and `read` runs it into a DataFrame. The aggregates
(verdicts, volume by day, by source, by service) read `dmarc_rollup`, the records already summed per
report start and verdict combination (_tables.py): the same sums from a several times smaller
table. Percentages are 0-100 and computed from sums the database returns; a day is the UTC day a
report's period begins. A report an import is still writing is in none of them (tables.visible):
the aggregates read the rollup, which sums visible reports only, and the rest ask for them.
DMARC pass means the receiver found DKIM or SPF aligned and passing (`dkim_aligned` or `spf_aligned`
is "pass"), as RFC 7489 section 6.6.2 defines it. Delivered means the receiver applied no policy:
disposition `none` (RFC 7489), or `pass` (RFC 9990, where DMARC passed).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    and_,
    case,
    func,
    or_,
    select,
    true,
)

from diagnostics.dmarc._keys import KEYS
from diagnostics.dmarc.parse._validate import EARLIEST, latest_plausible
from diagnostics.dmarc.store import _tables as tables
from diagnostics.dmarc.store._tables import DAY
from diagnostics.errors import InvalidInput

Moment = date | datetime | str | pd.Timestamp | None

# The dispositions of mail the receiver delivered: none (RFC 7489 and 9990: no policy applied,
# p=none or a local override) and pass (RFC 9990: DMARC passed).
DELIVERED = ("none", "pass")

_r = tables.records
_p = tables.reports
_e = tables.enrichment
_u = tables.rollup
# A report's import bookkeeping, always NULL in what readers see: not one of its columns.
_CLAIM = ("import_owner", "import_lease")


def period_bound(value: Moment, *, end: bool = False) -> int | None:
    """Unix seconds for a period bound. A date (or "YYYY-MM-DD") means the whole day: as an end,
    the day is included. A datetime is an instant (naive means UTC): as an end, it is excluded."""
    if value is None:
        return None
    whole_day = isinstance(value, date) and not isinstance(value, datetime)
    if isinstance(value, str):
        whole_day = len(value.strip()) == 10
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError):
        raise InvalidInput(f"{value!r} is not a date (use YYYY-MM-DD).") from None
    if pd.isna(stamp):
        raise InvalidInput(f"{value!r} is not a date (use YYYY-MM-DD).")
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize(UTC)
    if whole_day:
        stamp = stamp.normalize() + (timedelta(days=1) if end else timedelta(0))
    return int(stamp.timestamp())


def _period(column: Any, domain: str | None, start: Moment, end: Moment) -> ColumnElement[bool]:
    conditions: list[ColumnElement[bool]] = []
    table = column.table
    if domain is not None:
        conditions.append(table.c.policy_domain == domain.strip().lower().rstrip("."))
    low, high = period_bound(start), period_bound(end, end=True)
    if low is not None:
        conditions.append(column >= low)
    if high is not None:
        conditions.append(column < high)
    return and_(true(), *conditions)


def _sum_where(condition: ColumnElement[bool]) -> ColumnElement[Any]:
    return func.coalesce(func.sum(case((condition, _u.c.count), else_=0)), 0)


_PASS = or_(_u.c.dkim_aligned == "pass", _u.c.spf_aligned == "pass")


def records_query(
    domain: str | None,
    start: Moment,
    end: Moment,
    *,
    report_pk: int | None = None,
    limit: int | None = None,
) -> Select[Any]:
    report_columns = [
        _p.c.org_name,
        _p.c.report_id,
        _p.c.begin_ts,
        _p.c.end_ts,
        _p.c.policy_domain,
        _p.c.policy_p,
        _p.c.policy_sp,
        _p.c.policy_pct,
        _p.c.policy_adkim,
        _p.c.policy_aspf,
    ]
    record_columns = [
        c for c in _r.c if c.name not in ("id", "report_pk", "policy_domain", "begin_ts")
    ]
    query = (
        select(*report_columns, *record_columns, _r.c.report_pk)
        .join_from(_r, _p, _r.c.report_pk == _p.c.id)
        .where(_period(_r.c.begin_ts, domain, start, end), tables.visible())
        .order_by(_r.c.begin_ts, _r.c.report_pk, _r.c.id)
    )
    if report_pk is not None:
        query = query.where(_r.c.report_pk == report_pk)
    return query if limit is None else query.limit(limit)


def verdicts_query(domain: str | None, start: Moment, end: Moment) -> Select[Any]:
    """The records reduced in SQL to their distinct verdict combinations (`KEYS`), with
    summed `count` and the first begin / last end: what `explain` needs, a few thousand rows where
    the records are a million."""
    keys = [_u.c[name] for name in KEYS]
    return (
        select(
            *keys,
            func.sum(_u.c["count"]).label("count"),
            func.min(_u.c.begin_ts).label("begin_ts"),
            func.max(_u.c.end_ts).label("end_ts"),
        )
        .where(_period(_u.c.begin_ts, domain, start, end))
        .group_by(*keys)
    )


def policies_query(domain: str | None, start: Moment, end: Moment) -> Select[Any]:
    """Each policy domain's published p= per report, with when the report began: the latest one
    is what receivers applied last (explain's fallback when DNS has no DMARC record)."""
    return (
        select(_p.c.policy_domain, _p.c.policy_p, func.max(_p.c.begin_ts).label("latest"))
        .where(_period(_p.c.begin_ts, domain, start, end), tables.visible())
        .group_by(_p.c.policy_domain, _p.c.policy_p)
    )


def volume_by_day_query(domain: str | None, start: Moment, end: Moment) -> Select[Any]:
    day = (_u.c.begin_ts // DAY).label("day")
    return (
        select(
            day,
            func.sum(_u.c.count).label("messages"),
            _sum_where(_PASS).label("dmarc_pass"),
        )
        # A report without a date range has no day to count under.
        .where(_period(_u.c.begin_ts, domain, start, end), _u.c.begin_ts.is_not(None))
        .group_by(day)
        .order_by(day)
    )


def _per_source(domain: str | None, start: Moment, end: Moment) -> Any:
    return (
        select(
            _u.c.source_ip,
            func.sum(_u.c.count).label("messages"),
            _sum_where(_u.c.spf_aligned == "pass").label("spf_aligned"),
            _sum_where(_u.c.dkim_aligned == "pass").label("dkim_aligned"),
            _sum_where(_PASS).label("dmarc_pass"),
            _sum_where(_u.c.disposition.in_(DELIVERED)).label("delivered"),
            _sum_where(_u.c.disposition == "quarantine").label("quarantine"),
            _sum_where(_u.c.disposition == "reject").label("reject"),
        )
        .where(_period(_u.c.begin_ts, domain, start, end))
        .group_by(_u.c.source_ip)
        .subquery("per_source")
    )


def by_source_query(domain: str | None, start: Moment, end: Moment) -> Select[Any]:
    # Group first, then look up the few distinct addresses in the enrichment cache.
    s = _per_source(domain, start, end)
    return (
        select(s, _e.c.reverse_dns, _e.c.service_name, _e.c.service_type)
        .join_from(s, _e, s.c.source_ip == _e.c.ip, isouter=True)
        .order_by(s.c.messages.desc(), s.c.source_ip)
    )


def by_service_query(domain: str | None, start: Moment, end: Moment) -> Select[Any]:
    s = _per_source(domain, start, end)
    service = _e.c.service_name
    return (
        select(
            service.label("service_name"),
            func.max(_e.c.service_type).label("service_type"),
            func.count(s.c.source_ip).label("ips"),
            func.sum(s.c.messages).label("messages"),
            func.sum(s.c.spf_aligned).label("spf_aligned"),
            func.sum(s.c.dkim_aligned).label("dkim_aligned"),
            func.sum(s.c.dmarc_pass).label("dmarc_pass"),
            func.sum(s.c.delivered).label("delivered"),
            func.sum(s.c.quarantine).label("quarantine"),
            func.sum(s.c.reject).label("reject"),
        )
        .join_from(s, _e, s.c.source_ip == _e.c.ip, isouter=True)
        .group_by(service)
        .order_by(func.sum(s.c.messages).desc(), service)
    )


def reports_query(domain: str | None, start: Moment, end: Moment) -> Select[Any]:
    return (
        select(*(c for c in _p.c if c.name not in _CLAIM))
        .where(_period(_p.c.begin_ts, domain, start, end), tables.visible())
        .order_by(_p.c.begin_ts, _p.c.id)
    )


def domains_query(now: datetime | None = None) -> Select[Any]:
    """One row per domain. Its first and last dates are those of its reports with plausible dates
    (parse/_validate.py: from 2012 to a day after `now`), so one report dated 1979 does not stretch
    the default period over 45 empty years; a domain with none but implausible ones keeps them."""
    earliest = int(EARLIEST.timestamp())
    latest = int(latest_plausible(now).timestamp())
    plausible_begin = case((_p.c.begin_ts.between(earliest, latest), _p.c.begin_ts))
    plausible_end = case((_p.c.end_ts.between(earliest, latest), _p.c.end_ts))
    return (
        select(
            _p.c.policy_domain,
            func.count().label("reports"),
            func.sum(_p.c.record_count).label("records"),
            func.sum(_p.c.message_count).label("messages"),
            func.coalesce(func.min(plausible_begin), func.min(_p.c.begin_ts)).label(
                "first_begin_ts"
            ),
            func.coalesce(func.max(plausible_end), func.max(_p.c.end_ts)).label("last_end_ts"),
        )
        .where(tables.visible())
        .group_by(_p.c.policy_domain)
        .order_by(_p.c.policy_domain)
    )


def failure_reports_query(domain: str | None, start: Moment, end: Moment) -> Select[Any]:
    t = tables.failure_reports
    where: list[ColumnElement[bool]] = []
    if domain is not None:
        where.append(t.c.reported_domain == domain.strip().lower().rstrip("."))
    low, high = period_bound(start), period_bound(end, end=True)
    if low is not None:
        where.append(t.c.arrival_ts >= low)
    if high is not None:
        where.append(t.c.arrival_ts < high)
    columns = [c for c in t.c if c.name not in ("id", "fingerprint")]
    return select(*columns).where(and_(true(), *where)).order_by(t.c.arrival_ts, t.c.id)


def tls_reports_query(domain: str | None, start: Moment, end: Moment) -> Select[Any]:
    t = tables.tls_reports
    columns = [c for c in t.c if c.name not in ("id", "fingerprint")]
    return (
        select(*columns)
        .where(_period(t.c.begin_ts, domain, start, end))
        .order_by(t.c.begin_ts, t.c.id)
    )


# ---- running them ------------------------------------------------------------------------------


def read(connection: Connection, query: Select[Any]) -> pd.DataFrame:
    """Run `query`; `*_ts` columns become UTC timestamps named without the suffix."""
    result = connection.execute(query)
    frame = pd.DataFrame(result.fetchall(), columns=list(result.keys()))
    renames = {}
    for name in frame.columns:
        if name.endswith("_ts"):
            frame[name] = pd.to_datetime(frame[name].astype("Float64"), unit="s", utc=True)
            renames[name] = name.removesuffix("_ts")
    return frame.rename(columns=renames)


def percent(part: pd.Series, whole: pd.Series) -> pd.Series:
    """100 * part / whole, 0 where whole is 0 (a source that sent nothing fails nothing)."""
    whole = whole.astype("float64")
    share = part.astype("float64") * 100.0 / whole.where(whole > 0)
    return share.fillna(0.0)
