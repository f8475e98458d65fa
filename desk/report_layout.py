"""How the "DMARC reports" page lays out a domain's diagnoses: one section per kind that needs a
fix, ranked by impact (messages failing DMARC, then severity: admin.diagnosis.by_impact, the order
of every surface), the largest sources of each as cards and the rest as one table; the unknown
senders in a table of their own, in their place by the same rank; the compliant sources last. And every table as st.dataframe
draws it (Arrow), its text from reports and DNS with hidden characters made visible. Pure: no
Streamlit, no DNS; desk.report_views shares the results between sessions.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd
import pyarrow as pa

from admin.diagnosis import by_impact, failing_dmarc
from desk.labels import share_text
from desk.markdown import table
from diagnostics.dmarc import Category, Diagnosis
from diagnostics.dmarc.explain import NAMED_BY_OWNER

# Per kind of diagnosis, the largest sources drawn as cards; the rest share one table.
CARDS_PER_KIND = 3


def arrow(frame: pd.DataFrame) -> pa.Table:
    """A table as st.dataframe draws it, its text from reports and DNS with hidden characters
    made visible (desk.markdown.table). Kept ready in the shared results: turning a DataFrame of
    thousands of rows into Arrow is most of what drawing it costs, and it would be done anew for
    every session and every run."""
    return pa.Table.from_pandas(table(frame), preserve_index=False)


@dataclass(frozen=True, slots=True)
class Section:
    """The sources of one kind that need a fix: the largest as cards, the rest as one table
    (`rest`: source, sending IPs, messages, share, to do; None when every one is a card)."""

    kind: Category
    cards: tuple[Diagnosis, ...]
    rest: pa.Table | None
    rest_count: int
    rest_messages: int
    rest_share: float


@dataclass(frozen=True, slots=True)
class Explained:
    """The diagnoses of one domain and period, laid out for the page, and when DNS was read.
    `sections`: the kinds that need a fix, by impact; `spoofers`: the unknown senders' table
    (sending IP, IP owner (offline), messages) with their count, messages and share, shown before
    `sections[spoofers_at]` (after them all when it is their length); `compliant`: a Section of
    the compliant sources (None when there are none)."""

    diagnoses: tuple[Diagnosis, ...]
    checked_at: dt.datetime
    sections: tuple[Section, ...] = ()
    spoofers: pa.Table | None = None
    spoofer_messages: int = 0
    spoofer_share: float = 0.0
    compliant: Section | None = None
    spoofers_at: int = 0

    @property
    def failing(self) -> bool:
        return bool(self.sections) or self.spoofers is not None


def _table(alike: Sequence[Diagnosis]) -> pa.Table:
    frame = pd.DataFrame(
        [
            {
                "source": d.source,
                "sending IPs": ", ".join(d.ips),
                "messages": d.messages,
                "share": share_text(d.share),
                "to do": "; ".join(a.code.label for a in d.actions) or "—",
            }
            for d in alike
        ],
        columns=["source", "sending IPs", "messages", "share", "to do"],
    )
    return arrow(frame)


def section(kind: Category, alike: Sequence[Diagnosis]) -> Section:
    """The first CARDS_PER_KIND of `alike` (worst first, as explain orders them) as cards."""
    rest = alike[CARDS_PER_KIND:]
    return Section(
        kind=kind,
        cards=tuple(alike[:CARDS_PER_KIND]),
        rest=_table(rest) if rest else None,
        rest_count=len(rest),
        rest_messages=sum(d.messages for d in rest),
        rest_share=sum(d.share for d in rest),
    )


def _impact(alike: Sequence[Diagnosis]) -> tuple[int, int, int]:
    """A group's rank: its messages failing DMARC, its worst severity, its messages."""
    return (
        -sum(failing_dmarc(d) for d in alike),
        min(d.severity.rank for d in alike),
        -sum(d.messages for d in alike),
    )


def lay_out(diagnoses: Sequence[Diagnosis], domain: str, checked_at: dt.datetime) -> Explained:
    """The page's layout of `domain`'s diagnoses: one section per kind that needs a fix, ranked
    by impact (issue 12, finding 6: a quarter of the mail from unknown senders comes before two
    messages passing through SPF only), the compliant ones last."""
    mine = by_impact(d for d in diagnoses if d.domain == domain)
    kinds: dict[Category, list[Diagnosis]] = {}
    for diagnosis in mine:
        kinds.setdefault(diagnosis.category, []).append(diagnosis)
    # Unknown senders (one diagnosis per IP) would fill the page card by card, so they share one
    # table, ranked as one group.
    spoofers = kinds.pop(Category.UNAUTHORIZED, [])
    compliant = kinds.pop(Category.COMPLIANT, [])
    ordered = sorted(kinds.items(), key=lambda kind: _impact(kind[1]))
    unknown = None
    at = 0
    if spoofers:
        # Whose network each is in, under the name the sources table gives it ("IP owner
        # (offline)"), so "Amazon" there and "unknown sender" here read as the same address.
        rows = [
            {
                "sending IP": ", ".join(d.ips),
                NAMED_BY_OWNER: ", ".join(d.evidence.network_owners) or None,
                "messages": d.messages,
            }
            for d in spoofers
        ]
        unknown = arrow(pd.DataFrame(rows).sort_values("messages", ascending=False))
        weight = _impact(spoofers)
        at = sum(1 for _, alike in ordered if _impact(alike) <= weight)
    return Explained(
        diagnoses=tuple(diagnoses),
        checked_at=checked_at,
        sections=tuple(section(kind, alike) for kind, alike in ordered),
        spoofers=unknown,
        spoofer_messages=sum(d.messages for d in spoofers),
        spoofer_share=sum(d.share for d in spoofers),
        compliant=section(Category.COMPLIANT, compliant) if compliant else None,
        spoofers_at=at,
    )


__all__ = ["CARDS_PER_KIND", "Explained", "Section", "arrow", "lay_out", "section"]
