"""Policy readiness: is a domain ready for a stricter DMARC policy, and what is the next step?

    read_policy(domain, *, resolver=None, fallback=None) -> DmarcPolicy    _dmarc TXT, or the reports'
    next_policy(policy) -> (record text, plain step) | None                 none -> quarantine -> reject
    blockers(diagnoses) -> list of (source, category)                      legitimate sources that fail
    reported_policies(records) -> {policy domain: p=}                     what receivers applied

The record is found and parsed by `diagnostics.dmarc.record` (organizational-domain fallback
included); this module only decides the next step and writes the next record with every other tag
kept, in order. For a subdomain that inherits its policy, the next record goes on the subdomain
itself (_dmarc.SUBDOMAIN), so the rest of the organization is not changed by it. The step is advised only when every legitimate
source passes DMARC: tightening while one of your own senders fails would send its mail to spam.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from diagnostics.dmarc.record import check_dmarc
from diagnostics.dns import Resolver

__all__ = ["DmarcPolicy", "next_policy", "read_policy", "reported_policies"]


@dataclass(frozen=True, slots=True)
class DmarcPolicy:
    """`record`: the DMARC TXT that applies to `domain` (None when none was found; `policy` then
    comes from the reports); `policy`: what receivers apply (none, quarantine or reject; None
    when unknown); `pct`; `tags` in record order."""

    domain: str
    record: str | None
    policy: str | None
    pct: int
    tags: tuple[tuple[str, str], ...] = ()
    found_at: str | None = None  # where the record is: `domain`, or its organizational domain
    # Today's DNS could not read the record (timeout, SERVFAIL): its other tags are unknown, so no
    # whole record can be written without dropping them (rua= among them).
    unreadable: bool = False


def read_policy(
    domain: str, *, resolver: Resolver | None = None, fallback: str | None = None
) -> DmarcPolicy:
    """The DMARC policy receivers apply to `domain` now (its own record, or its organizational
    domain's sp= by fallback, as `record.check_dmarc` finds it); `fallback` (the reports'
    p=) when DNS has no usable record."""
    check = check_dmarc(domain, resolver=resolver)
    record = check.record
    if record is None or check.applied_policy is None:
        unreadable = record is None and any(f.code == "dns_error" for f in check.findings)
        return DmarcPolicy(domain, None, fallback, 100, unreadable=unreadable)
    return DmarcPolicy(
        domain, record.text, check.applied_policy, record.pct, record.tags, check.found_at
    )


def next_policy(policy: DmarcPolicy) -> tuple[str, str] | None:
    """The next record to publish and the step in words, or None when the policy is already
    p=reject at 100%."""
    current = policy.policy or "none"
    if current not in ("none", "quarantine", "reject"):
        current = "none"
    if policy.pct < 100:
        target, step = current, f"apply p={current} to all mail (pct=100, now {policy.pct})"
    elif current == "none":
        target, step = "quarantine", "move from p=none (monitor only) to p=quarantine"
    elif current == "quarantine":
        target, step = "reject", "move from p=quarantine to p=reject"
    else:
        return None
    pairs = list(policy.tags) or [("v", "DMARC1"), ("p", "none")]
    out: list[tuple[str, str]] = []
    for name, value in pairs:
        if name == "pct":
            continue  # every step here ends at 100%, the default: drop the tag
        out.append((name, target if name == "p" else value))
    if not any(name == "p" for name, _ in out):
        out.insert(1, ("p", target))
    text = "; ".join(f"{'v' if name == 'v' else name}={value}" for name, value in out)
    return text, step


def reported_policies(records: pd.DataFrame) -> dict[str, str]:
    """Per policy domain, the p= the receivers applied, from the reports: used when DNS has no
    readable record (`read_policy`'s fallback)."""
    if "policy_p" not in records.columns or "policy_domain" not in records.columns:
        return {}
    pairs = records[["policy_domain", "policy_p"]].drop_duplicates()
    found: dict[str, str] = {}
    for name, value in pairs.itertuples(index=False, name=None):
        if isinstance(name, str) and isinstance(value, str) and value:
            found[name.strip().lower()] = value.strip().lower()
    return found
