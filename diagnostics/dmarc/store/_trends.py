"""The SQL behind `ReportStore.domain_trend` (diagnostics.dmarc.trend): one domain's rollup rows of
the last five weeks summed per sending address in the database, then added up here (a domain has
at most a few thousand addresses), and the end of its newest report."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Connection, func, select

from diagnostics.dmarc.store import _tables as tables
from diagnostics.dmarc.store._queries import _PASS, _sum_where
from diagnostics.dmarc.trend import EARLIER_WEEKS, WEEK, DomainTrend

_u = tables.rollup
_p = tables.reports


def domain_trend(connection: Connection, domain: str, now: datetime) -> DomainTrend:
    domain = domain.strip().lower().rstrip(".")
    cut = int((now - WEEK).timestamp())
    start = int((now - WEEK * (1 + EARLIER_WEEKS)).timestamp())
    end = int(now.timestamp())
    week = _u.c.begin_ts >= cut
    per_source = (
        select(
            _u.c.source_ip,
            _sum_where(week).label("week"),
            _sum_where(week & _PASS).label("week_pass"),
            _sum_where(~week).label("earlier"),
            _sum_where(~week & _PASS).label("earlier_pass"),
        )
        .where(_u.c.policy_domain == domain, _u.c.begin_ts >= start, _u.c.begin_ts < end)
        .group_by(_u.c.source_ip)
    )
    figures = dict.fromkeys(("week", "week_pass", "earlier", "earlier_pass", "new", "new_n"), 0)
    for _ip, week_n, week_pass, earlier_n, earlier_pass in connection.execute(per_source):
        week_n, week_pass = int(week_n or 0), int(week_pass or 0)
        figures["week"] += week_n
        figures["week_pass"] += week_pass
        figures["earlier"] += int(earlier_n or 0)
        figures["earlier_pass"] += int(earlier_pass or 0)
        if week_n and not earlier_n and not week_pass:
            figures["new"] += 1
            figures["new_n"] += week_n
    newest = connection.execute(
        select(func.max(func.coalesce(_p.c.end_ts, _p.c.begin_ts))).where(
            _p.c.policy_domain == domain, tables.visible()
        )
    ).scalar()
    return DomainTrend(
        domain=domain,
        now=now,
        week_messages=figures["week"],
        week_pass=figures["week_pass"],
        earlier_messages=figures["earlier"],
        earlier_pass=figures["earlier_pass"],
        new_unknown_sources=figures["new"],
        new_unknown_messages=figures["new_n"],
        last_report_at=None if newest is None else datetime.fromtimestamp(int(newest), UTC),
    )
