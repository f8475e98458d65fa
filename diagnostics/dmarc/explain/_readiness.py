"""Is a domain ready for a stricter DMARC policy? The next step, or what must be fixed first.

    readiness(domain, diagnoses, *, resolver=None, fallback=None) -> Readiness

`diagnoses` are `explain`'s for that domain. Ready means every legitimate source (anything but
forwarded and unauthorized mail) passes DMARC: tightening while one of your own senders fails sends
its mail to spam or bounces it. Spoofed mail is the reason to tighten, never a blocker.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from diagnostics.dmarc.explain._categories import Category
from diagnostics.dmarc.explain._policy import DmarcPolicy, next_policy, read_policy
from diagnostics.dmarc.record import starting_record
from diagnostics.dns import Resolver
from diagnostics.domains import organizational_domain
from diagnostics.wording import plural

if TYPE_CHECKING:
    from diagnostics.dmarc.explain._diagnosis import Diagnosis

__all__ = ["Readiness", "readiness"]

NOT_LEGITIMATE = (Category.FORWARDED, Category.UNAUTHORIZED)


@dataclass(frozen=True, slots=True)
class Readiness:
    """`ready`: every legitimate source passes; `record`: the next DMARC record to publish (None
    when not ready, already at p=reject, or today's DNS could not read the current record);
    `step` in words; `blockers`: one plain line per
    legitimate source that must be fixed first, largest first; `message` sums it up."""

    domain: str
    policy: DmarcPolicy
    ready: bool
    record: str | None
    step: str | None
    blockers: tuple[str, ...]
    spoofed: int
    message: str


def readiness(
    domain: str,
    diagnoses: Sequence[Diagnosis],
    *,
    resolver: Resolver | None = None,
    fallback: str | None = None,
) -> Readiness:
    """Whether `domain` can move to a stricter DMARC policy, from `explain`'s `diagnoses`: the next
    step, or the legitimate sources that must pass first. The current policy is read from DNS
    through `resolver`, else `fallback` (the policy the reports published)."""
    mine = [d for d in diagnoses if d.domain == domain]
    legit = [d for d in mine if d.category not in NOT_LEGITIMATE]
    blocking = sorted((d for d in legit if not d.passes_today), key=lambda d: -d.messages)
    spoofed = sum(d.messages for d in mine if d.category is Category.UNAUTHORIZED)
    policy = read_policy(domain, resolver=resolver, fallback=fallback)
    current = f"p={policy.policy or 'none'}" + (f" pct={policy.pct}" if policy.pct < 100 else "")
    blockers = tuple(
        f"{d.source}: {d.category.value} ({d.messages} messages, {d.share:.0%}); "
        + (d.actions[0].message if d.actions else "")
        for d in blocking
    )

    def not_yet(message: str) -> Readiness:
        return Readiness(domain, policy, False, None, None, blockers, spoofed, message)

    if blocking:
        return not_yet(
            f"Keep {current} for {domain} for now: DMARC still fails for "
            f"{plural(len(blocking), 'legitimate source')}. Fix these first: "
            + " | ".join(blockers)
        )
    if not legit:
        return not_yet(
            f"No legitimate source of {domain} appears in these reports: keep {current} until "
            "reports show your own mail passing."
        )
    if policy.record is None and not policy.unreadable:
        # No record in DNS now (the reports' p= is from when they were written): there is nothing
        # to tighten, and a record written from p= alone would have no rua=, so the reports would
        # stop. The step is the record to start with, the one the DMARC check gives.
        org = organizational_domain(domain)
        return not_yet(
            f"{domain} publishes no DMARC record receivers can use now, so they apply no policy "
            f"to it and send no more reports. Publish this TXT record at _dmarc.{org} first: "
            f'"{starting_record(org)}"; tighten it once the reports show your own mail passing.'
        )
    step = next_policy(policy)
    if step is None:
        return Readiness(
            domain,
            policy,
            True,
            None,
            None,
            (),
            spoofed,
            f"{domain} is at p=reject for all mail: the strictest policy. Nothing to tighten.",
        )
    record, words = step
    if policy.unreadable:
        # A record written from p= alone would drop every other tag the real one has: rua= with
        # them, and the customer's reports would stop. Say the change, not a record to paste.
        message = (
            f"Every legitimate source of {domain} passes DMARC: {words}. Today's DNS could not "
            f"read _dmarc.{domain} (a timeout or a server failure), so no exact record can be "
            "given: make that change in the record there and keep every other tag (rua= above "
            "all: without it the reports stop). Run this again when DNS answers for the exact "
            "record."
        )
        if spoofed:
            message += (
                f" It also acts on the {plural(spoofed, 'spoofed message')} in these reports."
            )
        return Readiness(domain, policy, True, None, words, (), spoofed, message)
    message = (
        f"Every legitimate source of {domain} passes DMARC: {words}. Publish at "
        f"_dmarc.{domain}: {record}"
    )
    if spoofed:
        message += f" It also acts on the {plural(spoofed, 'spoofed message')} in these reports."
    return Readiness(domain, policy, True, record, words, (), spoofed, message)
