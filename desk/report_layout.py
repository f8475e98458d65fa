"""How the "DMARC reports" page lays out a domain's diagnoses: one section per kind that needs a
fix, worst first, the largest sources of each as cards and the rest as one table; the unknown
senders apart in a table of their own; the compliant sources last. And every table as st.dataframe
draws it (Arrow), its text from reports and DNS with hidden characters made visible. Pure: no
Streamlit, no DNS; desk.report_views shares the results between sessions.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd
import pyarrow as pa

from desk.labels import ACTION_TITLES, share_text
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
    `sections`: the kinds that need a fix, worst first; `spoofers`: the unknown senders' table
    (sending IP, IP owner (offline), messages) with their count, messages and share; `compliant`: a Section of the
    compliant sources (None when there are none)."""

    diagnoses: tuple[Diagnosis, ...]
    checked_at: dt.datetime
    sections: tuple[Section, ...] = ()
    spoofers: pa.Table | None = None
    spoofer_messages: int = 0
    spoofer_share: float = 0.0
    compliant: Section | None = None

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
                "to do": "; ".join(ACTION_TITLES.get(c, c) for c in d.action_codes) or "—",
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


def lay_out(diagnoses: Sequence[Diagnosis], domain: str, checked_at: dt.datetime) -> Explained:
    """The page's layout of `domain`'s diagnoses: one section per kind that needs a fix, in the
    order explain gives (worst first), the unknown senders apart, the compliant ones last."""
    mine = [d for d in diagnoses if d.domain == domain]
    kinds: dict[Category, list[Diagnosis]] = {}
    for diagnosis in mine:
        kinds.setdefault(diagnosis.category, []).append(diagnosis)
    # Unknown senders (one diagnosis per IP) would bury the legitimate sources that need a fix
    # first, so they share one table, after the others.
    spoofers = kinds.pop(Category.UNAUTHORIZED, [])
    compliant = kinds.pop(Category.COMPLIANT, [])
    unknown = None
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
    return Explained(
        diagnoses=tuple(diagnoses),
        checked_at=checked_at,
        sections=tuple(section(kind, alike) for kind, alike in kinds.items()),
        spoofers=unknown,
        spoofer_messages=sum(d.messages for d in spoofers),
        spoofer_share=sum(d.share for d in spoofers),
        compliant=section(Category.COMPLIANT, compliant) if compliant else None,
    )


__all__ = ["CARDS_PER_KIND", "Explained", "Section", "arrow", "lay_out", "section"]
