"""A domain's DMARC figures over the last five weeks, for the support queue (issue 16): this week's
pass rate against the four weeks before, the senders new this week whose mail fails DMARC, and when
the last report arrived. Pure values; `ReportStore.domain_trend` reads them in SQL, one domain at a
time, from the rollup (so nothing holds a domain's records, let alone everyone's)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

WEEK = timedelta(days=7)
EARLIER_WEEKS = 4


@dataclass(frozen=True, slots=True)
class DomainTrend:
    """`week_*`: reports beginning in the 7 days before `now`; `earlier_*`: the 28 days before
    those. A new unknown sender: an address seen this week and not in the four weeks before, none
    of whose mail this week passed DMARC. `last_report_at`: the end of the newest report (None:
    no report at all)."""

    domain: str
    now: datetime
    week_messages: int = 0
    week_pass: int = 0
    earlier_messages: int = 0
    earlier_pass: int = 0
    new_unknown_sources: int = 0
    new_unknown_messages: int = 0
    last_report_at: datetime | None = None

    @property
    def week_pass_pct(self) -> float:
        return _pct(self.week_pass, self.week_messages)

    @property
    def earlier_pass_pct(self) -> float:
        return _pct(self.earlier_pass, self.earlier_messages)

    @property
    def new_unknown_pct(self) -> float:
        return _pct(self.new_unknown_messages, self.week_messages)

    @property
    def days_since_report(self) -> float | None:
        if self.last_report_at is None:
            return None
        return max((self.now - self.last_report_at).total_seconds(), 0.0) / 86_400


def _pct(part: int, whole: int) -> float:
    return 100.0 * part / whole if whole else 0.0


__all__ = ["EARLIER_WEEKS", "WEEK", "DomainTrend"]
