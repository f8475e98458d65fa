"""What `explain` returns: a `Diagnosis` per source of a domain in one category, with the
`Evidence` it rests on. Plain frozen values (and their `to_dict` for JSON), apart from the work of
explaining them (explain.py), so the pages, the CLI and readiness can use them without it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

import pandas as pd

from diagnostics.dmarc.explain._actions import Action, ActionCode
from diagnostics.dmarc.explain._categories import Category
from diagnostics.findings import Severity

__all__ = ["Confidence", "Counts", "Diagnosis", "Evidence"]

Counts = tuple[tuple[str, int], ...]


class Confidence(StrEnum):
    """How sure a diagnosis is, from the evidence it rests on (`Evidence.basis` says which):

    - certain: what the receivers reported, read with today's DNS or the account's own
      configuration (the provider's published networks hold the address; the account sends
      through that provider; the receiver said it was forwarded);
    - likely: an inference from strong evidence (a DKIM selector following a provider's
      convention, a mailbox provider that does not host the domain's mail, the catalogue's dated
      copy of a provider's networks, an address nobody claims);
    - possible: weak evidence only (reverse DNS or a service name alone), or DNS failed.
    """

    CERTAIN = "certain"
    LIKELY = "likely"
    POSSIBLE = "possible"

    @property
    def rank(self) -> int:
        """Sort key: surest first; a diagnosis is as sure as its weakest evidence."""
        return (Confidence.CERTAIN, Confidence.LIKELY, Confidence.POSSIBLE).index(self)

    @property
    def label(self) -> str:
        return {"certain": "Certain", "likely": "Likely", "possible": "Possible"}[self.value]


@dataclass(frozen=True, slots=True)
class Evidence:
    """The counts and verdicts a diagnosis rests on (each count pair is (value, messages), most
    messages first)."""

    messages: int
    ips: Counts
    spf_results: Counts
    spf_aligned_pass: int
    dkim_aligned_pass: int
    dmarc_pass: int  # messages with SPF or DKIM aligned and passing
    dispositions: Counts
    envelope_domains: Counts
    dkim_domains: Counts
    override_reasons: Counts
    authorized_today: int  # messages from IPs today's SPF of their envelope domain passes
    # spf (provider's networks today), catalogue (its networks as of `networks_as_of`, DNS having
    # failed), ptr, service (enrichment) or None
    recognised_by: str | None
    first_seen: pd.Timestamp | None = None
    last_seen: pd.Timestamp | None = None
    networks_as_of: dt.date | None = None
    unreadable: tuple[str, ...] = ()  # provider includes today's DNS could not read
    # Names whose MX look-up failed, leaving open whether a mailbox provider hosts the domain.
    mx_unreadable: tuple[str, ...] = ()
    # Whose networks the addresses no provider claims are in (offline IP data), most messages
    # first: a label, not evidence of who sent.
    network_owners: tuple[str, ...] = ()
    # What the diagnosis rests on, in plain sentences ("the account sends through Microsoft 365
    # (smtp.office365.com)", "DKIM selector selector1 is Microsoft 365's", "recognised by reverse
    # DNS only (...)"), strongest first.
    basis: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, object]:
        return {
            "messages": self.messages,
            "ips": dict(self.ips),
            "spf_results": dict(self.spf_results),
            "spf_aligned_pass": self.spf_aligned_pass,
            "dkim_aligned_pass": self.dkim_aligned_pass,
            "dmarc_pass": self.dmarc_pass,
            "dispositions": dict(self.dispositions),
            "envelope_domains": dict(self.envelope_domains),
            "dkim_domains": dict(self.dkim_domains),
            "override_reasons": dict(self.override_reasons),
            "authorized_today": self.authorized_today,
            "recognised_by": self.recognised_by,
            "first_seen": None if self.first_seen is None else self.first_seen.isoformat(),
            "last_seen": None if self.last_seen is None else self.last_seen.isoformat(),
            "networks_as_of": None
            if self.networks_as_of is None
            else self.networks_as_of.isoformat(),
            "unreadable": list(self.unreadable),
            "mx_unreadable": list(self.mx_unreadable),
            "network_owners": list(self.network_owners),
            "basis": list(self.basis),
        }


@dataclass(frozen=True, slots=True)
class Diagnosis:
    """One source of one domain in one category. `source`: the service name, or the IP when no
    service is known; `provider`: its catalogue key; `share`: of the domain's messages (0..1);
    `already_fixed`: messages whose SPF failure today's record no longer shows; `confidence`: how
    sure the category is, as sure as the weakest evidence it rests on (`evidence.basis`)."""

    domain: str
    category: Category
    source: str
    provider: str | None
    ips: tuple[str, ...]
    messages: int
    share: float
    explanation: str
    evidence: Evidence
    actions: tuple[Action, ...]
    severity: Severity
    already_fixed: int = 0
    confidence: Confidence = Confidence.CERTAIN

    @property
    def passes_today(self) -> bool:
        """DMARC passes for all of it: by category, or because every message passed anyway (a
        missing include while DKIM carries DMARC)."""
        if any(a.code is ActionCode.FIX_SPF_RECORD for a in self.actions):
            return False  # a record broken today fails every sender that relies on SPF
        return self.category.dmarc_passes or self.evidence.dmarc_pass >= self.messages

    @property
    def action_codes(self) -> tuple[str, ...]:
        return tuple(a.code.value for a in self.actions)

    def to_dict(self) -> dict[str, object]:
        return {
            "domain": self.domain,
            "category": self.category.value,
            "source": self.source,
            "provider": self.provider,
            "ips": list(self.ips),
            "messages": self.messages,
            "share": self.share,
            "explanation": self.explanation,
            "evidence": self.evidence.to_dict(),
            "actions": [a.to_dict() for a in self.actions],
            "severity": self.severity.value,
            "already_fixed": self.already_fixed,
            "confidence": self.confidence.value,
        }
