"""The plain-language explanation of each category, for one source of one domain.

Pure text: `explanation(category, facts)` says what happened and why, naming the provider and the
domains involved, so support staff can read it to a customer as it is.
"""

from __future__ import annotations

from dataclasses import dataclass

from diagnostics.dmarc.explain._categories import Category
from diagnostics.enrich import NetworkOwner
from diagnostics.wording import plural

__all__ = ["Facts", "explanation"]


@dataclass(frozen=True, slots=True)
class Facts:
    domain: str  # the From / policy domain
    source: str  # service name or IP
    provider_name: str | None
    envelope: str | None  # the envelope (SPF) domain seen most
    dkim_domain: str | None  # the d= of a passing signature that does not align
    spf_result: str  # the SPF result seen most
    messages: int
    ips: int
    already_fixed: int  # messages whose failure today's SPF no longer shows
    platform_name: str
    still_failing: int = 0  # messages from addresses today's SPF still does not pass
    # How the source was recognised, when that is weaker than today's DNS (one sentence, or "").
    evidence: str = ""
    unreadable: tuple[str, ...] = ()  # provider includes today's DNS could not read
    # Names whose MX look-up failed, leaving open whether the mailbox provider hosts the domain.
    mx_unreadable: tuple[str, ...] = ()
    # Whose network the address is in (offline IP data), and the catalogue provider run by that
    # network's company (by ASN), if any: labels only.
    owner: NetworkOwner | None = None
    owner_provider: str | None = None


def _who(f: Facts) -> str:
    return f.provider_name or f.source


def _fixed(f: Facts) -> str:
    if not f.already_fixed:
        return ""
    return (
        f" Already fixed: the reports show SPF failing for {f.already_fixed} of these messages, "
        f"but {f.envelope}'s SPF record authorizes these addresses today, so new mail passes SPF."
    )


def explanation(category: Category, f: Facts) -> str:
    text = _explanation(category, f)
    extra = f.evidence or _unnamed(category, f)
    return f"{text} {extra}" if extra else text


def _unnamed(category: Category, f: Facts) -> str:
    """Why a source is only an address when DNS failed (undetermined says it in full)."""
    if category is Category.UNDETERMINED or f.provider_name is not None or not f.unreadable:
        return ""
    return (
        f"Which service sends from {f.source} is not known: today's DNS could not read the SPF "
        f"record of {_names(f.unreadable)}, which might have named it."
    )


def _names(names: tuple[str, ...]) -> str:
    if len(names) <= 1:
        return "".join(names)
    if len(names) > 3:
        return f"{', '.join(names[:3])} and {len(names) - 3} more provider includes"
    return ", ".join(names[:-1]) + " and " + names[-1]


def _owner(f: Facts) -> str:
    """Whose network an unknown sender's address is in, said so that it is not read as the
    sender: "Amazon" next to "spoofing" would otherwise look like a contradiction."""
    if f.owner is None:
        return ""
    asn = f", AS{f.owner.asn}" if f.owner.asn is not None else ""
    where = f"Its address is in {f.owner.name}'s network (offline IP data{asn})"
    if f.owner_provider:
        return (
            f"{where}, but not in {f.owner_provider}'s sending networks: that network also "
            f"carries servers anyone can rent, so this is not {f.owner_provider} mail. "
        )
    return f"{where}: that says whose network it is, not who sent from it. "


def _explanation(category: Category, f: Facts) -> str:
    who = _who(f)
    volume = f"{plural(f.messages, 'message')} from {plural(f.ips, 'address', 'addresses')}"
    if category is Category.COMPLIANT:
        return (
            f"{who} sends as {f.domain} correctly: SPF and DKIM both pass and align with "
            f"{f.domain} ({volume})." + _fixed(f)
        )
    if category is Category.DKIM_ONLY:
        return (
            f"{who} passes DMARC through DKIM only ({volume}). SPF does not align: the envelope "
            f"sender is on {f.envelope}, not on {f.domain}, so only the DKIM signature carries "
            "DMARC. That is enough today, but a custom return path makes SPF align too." + _fixed(f)
        )
    if category is Category.SPF_ONLY:
        return (
            f"{who} passes DMARC through SPF only ({volume}): there is no aligned DKIM signature "
            f"for {f.domain}. Forwarded copies will fail DMARC, because forwarding breaks SPF and "
            "only DKIM survives it." + _fixed(f)
        )
    if category is Category.SPF_INCLUDE_MISSING:
        start = f"{who} sends mail for {f.domain} with the envelope sender on {f.envelope}, but "
        if f.still_failing:
            state = (
                f"{f.envelope}'s SPF record does not include {who}: receivers report SPF "
                f"'{f.spf_result}' ({volume}), and today's record still does not authorize these "
                "addresses: still failing. "
            )
        else:
            # Today's record could not be read: what it held is known only from the reports.
            state = (
                f"{f.envelope}'s SPF record did not include {who} when receivers checked: they "
                f"report SPF '{f.spf_result}' ({volume}). Today's record of {f.envelope} could "
                "not be read, so whether it has been fixed since is not known. "
            )
        if f.envelope != f.domain:
            where = (
                f"Add {who}'s include to the SPF record of {f.envelope}, the return-path domain "
                f"its bounces go to; {f.domain}'s own record does not need it."
            )
        elif f.still_failing:
            where = (
                f"Add {who}'s include next to the includes already there ({f.platform_name}'s "
                "among them)."
            )
        else:
            where = f"Add {who}'s include next to the includes already there."
        return start + state + where
    if category is Category.SPF_NOT_ALIGNED:
        return (
            f"{who} uses its own bounce domain ({f.envelope}) as the envelope sender: SPF passes "
            f"for {f.envelope}, but that does not align with {f.domain}, and there is no aligned "
            f"DKIM signature, so DMARC fails ({volume}). A custom return path (MAIL FROM) under "
            f"{f.domain} makes SPF align; DKIM for {f.domain} makes it robust."
        )
    if category is Category.DKIM_NOT_ALIGNED:
        return (
            f"{who} signs with its own domain (d={f.dkim_domain}) instead of {f.domain}: the "
            f"signature is valid but does not align, and SPF does not align either, so DMARC "
            f"fails ({volume}). Set up DKIM for {f.domain} in {who}."
        )
    if category is Category.DKIM_MISSING:
        return (
            f"{who} sends without a DKIM signature for {f.domain}, and SPF cannot align "
            f"(envelope sender on {f.envelope}), so DMARC fails ({volume}). Only DKIM for "
            f"{f.domain} can make this mail pass."
        )
    if category is Category.FORWARDED:
        return (
            f"{who} relayed mail that was sent as {f.domain} ({volume}): a mailbox provider or "
            "mailing list forwarded it, so SPF fails at the next receiver (the forwarder is not "
            "in your SPF record, nor should it be). The original DKIM signature may survive. "
            "Nothing for you to change for this source; make sure every real sender signs DKIM."
        )
    if category is Category.UNAUTHORIZED:
        return (
            f"{who} sent mail as {f.domain} that passes neither SPF nor DKIM ({volume}), and it "
            "is not one of your providers nor any provider we know: most likely spoofing. "
            + _owner(f)
            + "Do not authorize it; a stricter DMARC policy makes receivers reject such mail."
        )
    if category is Category.UNDETERMINED and f.mx_unreadable:
        return (
            f"{who} sent mail as {f.domain} that did not pass SPF for it ({volume}), and whether "
            f"these are your own {who} mailboxes or a {who} user forwarding your mail could not "
            f"be told: today's DNS could not read the MX record of {_names(f.mx_unreadable)} (a "
            f"timeout or a server failure), which says whether {who} hosts {f.domain}'s mail. If "
            f"it does, {f.envelope}'s SPF record lacks {who}'s include; if not, this is a forward "
            "and nothing needs to change. Run this again when DNS answers."
        )
    if category is Category.UNDETERMINED:
        return (
            f"{who} sent mail as {f.domain} that did not pass SPF for it ({volume}), and who it "
            f"is could not be told: today's DNS could not read the SPF record of "
            f"{_names(f.unreadable) or 'the providers'} (a timeout or a server failure), and "
            "neither our catalogue's copy of the providers' networks nor reverse DNS recognises "
            "the address. It may be one of your providers whose include is missing, a "
            "forwarder, or a spoofer: run this again when DNS answers."
        )
    return (
        f"Receivers could not evaluate SPF for {f.envelope}: they report '{f.spf_result}' "
        f"({volume}). A broken SPF record fails for every sender of the domain, not just {who}."
        + _fixed(f)
        + (
            f" Still failing: today's SPF of {f.envelope} does not pass these addresses either."
            if f.still_failing
            else ""
        )
    )
