"""The DKIM selectors a domain's reports show, per provider: evidence of who signs its mail.

    selectors_seen(records, domain) -> {"microsoft-365": ("selector1",), "": ("k1",)}

A selector passing for the customer's own domain (aligned) is a key the customer published: health
checks it (`check_domain(selectors=...)`), and the set-up records `explain` offers list it instead
of a placeholder (SES's 32-character tokens, SendGrid's s1/s2). Which provider a selector belongs
to: the one whose own convention it follows (selector1 is Microsoft 365's, google Google's, a
32-character token SES's), else the provider whose published networks, as the catalogue copied
them, hold the sending address (no DNS is asked), else nobody ("").
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable

import pandas as pd

from diagnostics import providers as catalogue
from diagnostics.dmarc.explain._combos import Combination, reduce_records, rows_of
from diagnostics.dmarc.explain._sources import SourceId, copied_owner
from diagnostics.domains import organizational_domain

__all__ = ["selectors_by_source", "selectors_seen"]


def selectors_seen(records: pd.DataFrame, domain: str) -> dict[str, tuple[str, ...]]:
    """The DKIM selectors seen passing and aligned with `domain` (the policy domain of the
    records), per provider key ("" when no provider is known for them), most messages first."""
    wanted = domain.strip().rstrip(".").lower()
    if len(records) == 0:
        return {}
    counts: defaultdict[str, Counter[str]] = defaultdict(Counter)
    for row in rows_of(reduce_records(records)):
        if row.domain != wanted:
            continue
        org = organizational_domain(row.header)
        for signature in row.signatures:
            if not signature.selector or signature.result != "pass":
                continue
            if organizational_domain(signature.domain) != org:
                continue
            named = catalogue.by_selector(signature.selector)
            key = named.key if named is not None else (copied_owner(row.ip) or "")
            counts[key][signature.selector] += row.messages
    return {key: tuple(s for s, _ in found.most_common()) for key, found in counts.items()}


def selectors_by_source(
    rows: Iterable[Combination], sources: dict[str, SourceId]
) -> dict[tuple[str, str], list[str]]:
    """(domain, provider key) -> the selectors of signatures for the customer's own domain that
    the provider's addresses sent, those that passed first, then by messages: what its DKIM
    set-up records list (a failing one is a key the customer published, or must)."""
    counts: defaultdict[tuple[str, str], Counter[tuple[bool, str]]] = defaultdict(Counter)
    for row in rows:
        key = sources[row.ip].provider
        if key is None:
            continue
        dkim = catalogue.get(key).dkim
        org = organizational_domain(row.header)
        for signature in row.signatures:
            if not signature.selector or organizational_domain(signature.domain) != org:
                continue
            if not dkim.matches_selector(signature.selector):
                continue
            passed = signature.result == "pass"
            counts[(row.domain, key)][(passed, signature.selector)] += row.messages
    out: dict[tuple[str, str], list[str]] = {}
    for place, found in counts.items():
        ranked = sorted(found.items(), key=lambda item: (not item[0][0], -item[1]))
        out[place] = list(dict.fromkeys(selector for (_, selector), _ in ranked))
    return out
