"""Report rows reduced to their distinct verdict combinations, as plain values.

`reduce_records(records)` is one vectorised groupby over the verdict columns (`KEYS`, shared with
the store in diagnostics/dmarc/_keys.py), summing `count`, so everything after it works per
distinct (domain, IP, verdicts) combination, never per report row; `rows_of` turns that small
table into `Combination` values. Missing columns count as empty, counts given as text as numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import zip_longest
from typing import Any

import pandas as pd

from diagnostics.dmarc._keys import KEYS
from diagnostics.dmarc.explain._categories import Category
from diagnostics.dmarc.explain._diagnosis import Confidence
from diagnostics.enrich import NetworkOwner

__all__ = ["Combination", "ReportedSignature", "reduce_records", "rows_of"]


def _split(text: str) -> list[str]:
    return [part.strip().lower() for part in text.split(",")] if text else []


def _text(value: Any) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return ""
    return str(value).strip()


def reduce_records(records: pd.DataFrame) -> pd.DataFrame:
    """One row per distinct combination of the verdict columns, with summed messages."""
    frame = records
    missing = [c for c in (*KEYS, "count") if c not in frame.columns]
    if missing:
        frame = frame.assign(**{c: (1 if c == "count" else "") for c in missing})
    if not pd.api.types.is_integer_dtype(frame["count"]):
        # Counts read back as text or category (a CSV export, say): numbers, blanks as 0.
        counts = pd.to_numeric(frame["count"].astype(object), errors="coerce")
        frame = frame.assign(count=counts.fillna(0).astype("int64"))
    extra: dict[str, tuple[str, str]] = {"messages": ("count", "sum")}
    if "begin" in frame.columns:
        extra["first_seen"] = ("begin", "min")
    if "end" in frame.columns:
        extra["last_seen"] = ("end", "max")
    grouped = frame.groupby(list(KEYS), observed=True, dropna=False, sort=False)
    return grouped.agg(**extra).reset_index()


@dataclass(frozen=True, slots=True)
class ReportedSignature:
    """One DKIM signature a receiver reported: its d=, selector ("" when not reported), result."""

    domain: str
    selector: str
    result: str


@dataclass
class Combination:
    """One combination: the verdicts, the messages summed over its report rows, and what
    `explain` learns about it (today's SPF verdict, the category)."""

    domain: str
    header: str
    ip: str
    envelope: str
    spf_result: str
    spf_aligned: bool
    dkim_aligned: bool
    dkim_domains: list[str]
    dkim_results: list[str]
    overrides: frozenset[str]
    disposition: str
    messages: int
    first_seen: pd.Timestamp | None
    last_seen: pd.Timestamp | None
    own_envelope: bool = False
    authorized_today: bool | None = None
    category: Category = Category.COMPLIANT
    fixed: bool = False
    # Names whose MX look-up failed, when that left a mailbox provider's address unexplained.
    mx_unreadable: tuple[str, ...] = ()
    owner: NetworkOwner | None = None  # whose network the address is in, when no provider claims it
    dkim_selectors: list[str] = field(default_factory=list)
    # What the category rests on, in plain sentences, and how sure it is (explain fills them).
    basis: list[str] = field(default_factory=list)
    confidence: Confidence = Confidence.CERTAIN

    @property
    def signatures(self) -> list[ReportedSignature]:
        """The reported signatures, selectors paired with their d= and result by position."""
        return [
            ReportedSignature(domain, selector or "", result or "")
            for domain, selector, result in zip_longest(
                self.dkim_domains, self.dkim_selectors, self.dkim_results
            )
            if domain
        ]


def rows_of(reduced: pd.DataFrame) -> list[Combination]:
    out: list[Combination] = []
    has_first = "first_seen" in reduced.columns
    has_last = "last_seen" in reduced.columns
    for rec in reduced.to_dict("records"):
        domain = _text(rec["policy_domain"]).lower()
        header = _text(rec["header_from"]).lower() or domain
        domain = domain or header
        envelope = _text(rec["spf_domain"]).lower() or _text(rec["envelope_from"]).lower() or header
        envelope = envelope.rpartition("@")[2]
        out.append(
            Combination(
                domain=domain,
                header=header,
                ip=_text(rec["source_ip"]),
                envelope=envelope,
                spf_result=_text(rec["spf_result"]).lower() or "none",
                spf_aligned=_text(rec["spf_aligned"]).lower() == "pass",
                dkim_aligned=_text(rec["dkim_aligned"]).lower() == "pass",
                dkim_domains=_split(_text(rec["dkim_domains"])),
                dkim_results=_split(_text(rec["dkim_results"])),
                dkim_selectors=_split(_text(rec["dkim_selectors"])),
                overrides=frozenset(_split(_text(rec["override_reasons"]))),
                disposition=_text(rec["disposition"]).lower() or "none",
                messages=int(rec["messages"]),
                first_seen=rec["first_seen"] if has_first and pd.notna(rec["first_seen"]) else None,
                last_seen=rec["last_seen"] if has_last and pd.notna(rec["last_seen"]) else None,
            )
        )
    return out
