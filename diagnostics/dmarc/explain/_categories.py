"""Why a source passes or fails DMARC, as one category: the pure decision behind `explain`.

`classify(signals)` takes the facts about one group of report rows (what the receiver saw, plus what
we know today: which provider owns the IP, whether today's SPF authorizes it) and returns one
`Category`. It asks nothing of DNS; `explain` gathers the facts first.

The decision, in order (the first that holds wins):

1. both SPF and DKIM aligned and passing                         -> compliant
2. the receiver says it was forwarded / a mailing list           -> forwarded
3. SPF gave permerror/temperror and today's SPF does not pass    -> spf_broken
4. not a catalogue provider and not authorized by the domain:
   a provider's SPF could not be read today for it (or, for a
   mailbox provider's address, the domain's MX), and no
   forwarding service is known to have relayed it                -> undetermined
   original DKIM survived, or a mailbox service relayed it       -> forwarded
   otherwise                                                     -> unauthorized
5. SPF failed on the customer's own envelope domain, and today's SPF still fails for the IP of a
   known provider                                                -> spf_include_missing
6. DKIM aligned only                                             -> dkim_only
7. SPF aligned only                                              -> spf_only
8. neither aligned: a DKIM signature passes for another d=       -> dkim_not_aligned
   SPF passes for the provider's bounce domain, and the provider
   offers a custom return path                                   -> spf_not_aligned
   otherwise (only DKIM can align it)                            -> dkim_missing

"Undetermined" is the honest answer when DNS failed: an address no evidence names may belong to a
provider whose include could not be read, so calling it a forwarder or a spoofer would be a guess.

"Already fixed" (step 5 no longer holds because today's SPF authorizes the IP) counts SPF as aligned
when the envelope domain is the customer's own: the category then describes the state today.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from diagnostics.findings import Severity

__all__ = [
    "FORWARDER_SERVICE_TYPES",
    "FORWARD_REASONS",
    "Category",
    "Signals",
    "classify",
    "severity_of",
]

# Enrichment service types (parsedmarc's map) of services that relay other people's mail: a failure
# from them is a forward, not a spoof.
FORWARDER_SERVICE_TYPES = frozenset({"Email Provider", "Email Security", "MSSP", "Mailing List"})

# Receivers' override reasons saying the message came through a forwarder or a list.
FORWARD_REASONS = frozenset({"forwarded", "mailing_list", "trusted_forwarder"})


class Category(StrEnum):
    """Why one source passes or fails DMARC (the decision in the module docstring); the value is
    the code --json and the API carry, never a sentence a person reads."""

    COMPLIANT = "compliant"
    DKIM_ONLY = "dkim_only"
    SPF_ONLY = "spf_only"
    SPF_INCLUDE_MISSING = "spf_include_missing"
    SPF_NOT_ALIGNED = "spf_not_aligned"
    DKIM_NOT_ALIGNED = "dkim_not_aligned"
    DKIM_MISSING = "dkim_missing"
    FORWARDED = "forwarded"
    UNAUTHORIZED = "unauthorized"
    SPF_BROKEN = "spf_broken"
    UNDETERMINED = "undetermined"

    @property
    def dmarc_passes(self) -> bool:
        return self in (Category.COMPLIANT, Category.DKIM_ONLY, Category.SPF_ONLY)

    @property
    def label(self) -> str:
        """The category in plain words (sentence case), as a title for a person to read."""
        return _LABELS[self]


_LABELS = {
    Category.COMPLIANT: "Compliant",
    Category.DKIM_ONLY: "Passes through DKIM only",
    Category.SPF_ONLY: "Passes through SPF only",
    Category.SPF_INCLUDE_MISSING: "SPF include missing",
    Category.SPF_NOT_ALIGNED: "SPF passes but does not align",
    Category.DKIM_NOT_ALIGNED: "DKIM signed for another domain",
    Category.DKIM_MISSING: "No DKIM signature",
    Category.FORWARDED: "Forwarded",
    Category.UNAUTHORIZED: "Not authorized (likely spoofing)",
    Category.SPF_BROKEN: "SPF record broken",
    Category.UNDETERMINED: "Not determined (DNS failed)",
}


@dataclass(frozen=True, slots=True)
class Signals:
    """The facts about one group of rows. `spf_result` as the receiver reported it (lower case);
    `own_envelope`: the envelope domain is the From domain's organization (so adding an include
    there would align SPF); `authorized_today`: today's SPF of that envelope domain passes the IP
    (None when not checked); `provider`: catalogue key of the service owning the IP, or None;
    `return_path`: that provider offers a custom return path; `unaligned_dkim_pass`: a DKIM
    signature passed for a d= that does not align; `service_type`: from enrichment;
    `unreadable`: today's DNS could not read what would name the sender (some provider's SPF
    include for this IP, or the MX telling a mailbox provider's own mailboxes from a forward)."""

    spf_aligned: bool
    dkim_aligned: bool
    spf_result: str
    own_envelope: bool
    authorized_today: bool | None
    provider: str | None
    return_path: bool
    unaligned_dkim_pass: bool
    override_reasons: frozenset[str] = frozenset()
    service_type: str | None = None
    unreadable: bool = False

    @property
    def already_fixed(self) -> bool:
        """The report shows SPF not aligned-passing, but today's SPF authorizes the IP on the
        customer's own envelope domain."""
        return (
            not self.spf_aligned
            and self.own_envelope
            and self.authorized_today is True
            and self.spf_result != "pass"
        )


def classify(s: Signals) -> Category:
    """The category of one group of rows (see the module docstring for the order)."""
    spf_ok = s.spf_aligned or s.already_fixed
    if spf_ok and s.dkim_aligned:
        return Category.COMPLIANT
    if s.override_reasons & FORWARD_REASONS and not s.spf_aligned:
        return Category.FORWARDED
    if s.spf_result in ("permerror", "temperror") and not s.already_fixed:
        return Category.SPF_BROKEN
    if s.provider is None and not spf_ok:
        if s.unreadable and s.service_type not in FORWARDER_SERVICE_TYPES:
            return Category.UNDETERMINED
        if s.dkim_aligned or s.service_type in FORWARDER_SERVICE_TYPES:
            return Category.FORWARDED
        return Category.UNAUTHORIZED
    if (
        s.provider is not None
        and not spf_ok
        and s.own_envelope
        and s.spf_result != "pass"
        and s.authorized_today is not True
    ):
        return Category.SPF_INCLUDE_MISSING
    if s.dkim_aligned:
        return Category.DKIM_ONLY
    if spf_ok:
        return Category.SPF_ONLY
    if s.unaligned_dkim_pass:
        return Category.DKIM_NOT_ALIGNED
    if s.spf_result == "pass" and s.return_path:
        return Category.SPF_NOT_ALIGNED
    return Category.DKIM_MISSING


def severity_of(category: Category, *, dmarc_fails: bool) -> Severity:
    """How urgent a category is. A missing include while DKIM still carries DMARC is a warning;
    the same with DMARC failing is an error."""
    if category in (Category.COMPLIANT, Category.FORWARDED, Category.DKIM_ONLY):
        return Severity.INFO
    if category in (Category.SPF_ONLY, Category.UNAUTHORIZED, Category.UNDETERMINED):
        return Severity.WARNING
    if category in (Category.SPF_INCLUDE_MISSING, Category.SPF_BROKEN) and not dmarc_fails:
        return Severity.WARNING
    return Severity.ERROR
