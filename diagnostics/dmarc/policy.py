"""Policy readiness: is a domain ready for a stricter DMARC policy, and what is the next step?

    read_policy(domain, *, resolver=None, fallback=None) -> DmarcPolicy    _dmarc TXT, or the reports'
    next_policy(policy) -> (record text, plain step) | None                 none -> quarantine -> reject
    blockers(diagnoses) -> list of (source, category)                      legitimate sources that fail

The record is read minimally here (v=, p=, pct= and the tag order, to write the next record with
every other tag kept); the full DMARC record check (report destinations, findings) is
`diagnostics.dmarc_record`, a separate module. The step is advised only when every legitimate
source passes DMARC: tightening while one of your own senders fails would send its mail to spam.
"""

from __future__ import annotations

from dataclasses import dataclass

from diagnostics.dns import Resolver, Status, get_resolver
from diagnostics.errors import InvalidInput

__all__ = ["DmarcPolicy", "next_policy", "read_policy"]


@dataclass(frozen=True, slots=True)
class DmarcPolicy:
    """`record`: the DMARC TXT found at _dmarc.`domain` (None when none was found; `policy` then
    comes from the reports); `policy`: none, quarantine or reject (None when unknown); `pct`."""

    domain: str
    record: str | None
    policy: str | None
    pct: int
    tags: tuple[tuple[str, str], ...] = ()


def _tags(text: str) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for part in text.split(";"):
        name, sep, value = part.partition("=")
        if sep:
            pairs.append((name.strip().lower(), value.strip()))
    return pairs


def read_policy(
    domain: str, *, resolver: Resolver | None = None, fallback: str | None = None
) -> DmarcPolicy:
    """The DMARC policy of `domain` as published now; `fallback` (the reports' p=) when DNS has no
    readable record."""
    try:
        answer = get_resolver(resolver).query(f"_dmarc.{domain}", "TXT")
    except InvalidInput:
        return DmarcPolicy(domain, None, fallback, 100)
    texts = [t for t in answer.records if t.strip().lower().startswith("v=dmarc1")]
    if answer.status is not Status.OK or len(texts) != 1:
        return DmarcPolicy(domain, None, fallback, 100)
    pairs = _tags(texts[0])
    tags = dict(pairs)
    policy = tags.get("p", "").lower() or fallback
    pct_text = tags.get("pct", "100")
    pct = int(pct_text) if pct_text.isdigit() and int(pct_text) <= 100 else 100
    return DmarcPolicy(domain, texts[0], policy, pct, tuple(pairs))


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
