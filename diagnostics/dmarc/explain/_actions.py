"""What to change, as values: the fixes `explain` attaches to each diagnosis.

Each builder is pure: it takes what was already looked up (an `SpfRecommendation`, an `SpfAnalysis`,
a catalogue `Provider`, the region and DKIM selectors known for the account) and returns an
`Action` with the exact DNS record to publish where a DNS change is the fix. A value nothing tells
(a provider's per-account number, a region no connection names) makes its record a template
(`DnsRecord.template`, diagnostics/provider_records.py): the unknown part is written in angle
brackets in words and the message says where to find it; it never looks like a real value.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from diagnostics.findings import Finding
from diagnostics.provider_records import dkim_records, return_path_records
from diagnostics.providers import Provider
from diagnostics.spf.recommend import DnsRecord, SpfRecommendation
from diagnostics.spf.tree import MAX_LOOKUPS, SpfAnalysis

__all__ = [
    "Action",
    "ActionCode",
    "add_spf_include",
    "custom_return_path",
    "fix_spf_record",
    "no_action",
    "setup_dkim",
    "tighten_policy",
]


class ActionCode(StrEnum):
    """What kind of fix an `Action` is; the value is the code --json and the API carry."""

    ADD_SPF_INCLUDE = "add_spf_include"
    CUSTOM_RETURN_PATH = "custom_return_path"
    SETUP_DKIM = "setup_dkim"
    FIX_SPF_RECORD = "fix_spf_record"
    NO_ACTION = "no_action"
    TIGHTEN_POLICY = "tighten_policy"

    @property
    def label(self) -> str:
        """The fix in plain words (sentence case), as a title for a person to read."""
        return _LABELS[self]


_LABELS = {
    ActionCode.ADD_SPF_INCLUDE: "Add the SPF include",
    ActionCode.CUSTOM_RETURN_PATH: "Set up a custom return path",
    ActionCode.SETUP_DKIM: "Set up DKIM",
    ActionCode.FIX_SPF_RECORD: "Fix the SPF record",
    ActionCode.NO_ACTION: "Nothing to change",
    ActionCode.TIGHTEN_POLICY: "Tighten the DMARC policy",
}


@dataclass(frozen=True, slots=True)
class Action:
    """One fix. `domain`: the DNS name to change (None when no DNS change is the fix); `record`:
    the exact value to publish there; `rdtype` its type; `records`: every record the fix needs
    (some need several, e.g. SES custom MAIL FROM); `lookups_after`: SPF look-ups the new record
    costs; `findings`: the problems a record fix addresses. `template`: some record holds a value
    the desk does not know (marked in it, with where to find it): not ready to copy as it is."""

    code: ActionCode
    message: str
    domain: str | None = None
    record: str | None = None
    rdtype: str | None = None
    records: tuple[DnsRecord, ...] = ()
    lookups_after: int | None = None
    findings: tuple[Finding, ...] = ()

    @property
    def template(self) -> bool:
        return any(r.template for r in self.records)

    def to_dict(self) -> dict[str, object]:
        return {
            "code": self.code.value,
            "message": self.message,
            "domain": self.domain,
            "record": self.record,
            "rdtype": self.rdtype,
            "records": [r.to_dict() for r in self.records],
            "template": self.template,
            "lookups_after": self.lookups_after,
            "findings": [f.to_dict() for f in self.findings],
        }


def _listed(records: Sequence[DnsRecord]) -> str:
    return "; ".join(f"{r.name} {r.rdtype} {r.value}" for r in records)


def _fill_in(records: Sequence[DnsRecord]) -> str:
    """The sentence saying where to find the values a template leaves open ("" when none)."""
    wanted = list(dict.fromkeys(r.fill_in for r in records if r.template and r.fill_in))
    if not wanted:
        return ""
    return " Not ready to copy as it is: fill in what is in angle brackets. " + " ".join(
        f"{text[0].upper()}{text[1:].rstrip('.')}." for text in wanted
    )


def add_spf_include(
    rec: SpfRecommendation, names: list[str], includes: tuple[str, ...] = ()
) -> Action:
    """Publish `rec.record` on `rec.domain` so the named providers are authorized. When no record
    can be proposed, `includes` (the providers' include domains) say what to add by hand."""
    who = " and ".join(names)
    if rec.record is None and includes and any(f.code == "dns_error" for f in rec.findings):
        # Our DNS failed, not the customer's record: the receivers read it (they reported a
        # verdict), so the look-up's own advice ("receivers give temperror") would mislead.
        terms = " ".join(f"include:{name}" for name in includes)
        return Action(
            ActionCode.ADD_SPF_INCLUDE,
            f"Today's DNS could not read {rec.domain}'s SPF record (a timeout or a server "
            f"failure), so no exact record can be proposed yet. Add {terms} ({who}) to it, next "
            "to the terms already there; run this again when DNS answers to get the exact "
            "record to publish.",
            domain=rec.domain,
            rdtype="TXT",
            findings=rec.findings,
        )
    if rec.record is None:
        # The domain's own record could not be read: no record to paste, only what to add.
        why = " ".join(rec.notes[:1]) or f"No SPF record can be proposed for {rec.domain} today."
        return Action(
            ActionCode.ADD_SPF_INCLUDE,
            f"{why} Add the SPF include of {who} to {rec.domain}'s record; run this again when "
            "its record can be read to get the exact record to publish.",
            domain=rec.domain,
            rdtype="TXT",
            findings=rec.findings,
        )
    message = (
        f"Publish this SPF record on {rec.domain} so receivers accept {who} as a sender for it; "
        f"it keeps every term you have and costs {rec.lookups_after} of the {MAX_LOOKUPS} DNS "
        "look-ups SPF allows."
    )
    if rec.lookups_after > MAX_LOOKUPS and rec.ways_out:
        message += " It goes over the limit; the ways out, in order: " + " ".join(rec.ways_out)
    if rec.current:
        message += f" Replace the current record ({rec.current})."
    return Action(
        ActionCode.ADD_SPF_INCLUDE,
        message,
        domain=rec.domain,
        record=rec.record,
        rdtype="TXT",
        records=(DnsRecord(rec.domain, "TXT", rec.record, "SPF"),) if rec.record else (),
        lookups_after=rec.lookups_after,
        findings=rec.findings,
    )


def custom_return_path(provider: Provider, domain: str, region: str | None = None) -> Action | None:
    """The custom return-path / MAIL FROM records that make SPF align for `provider`, or None when
    the provider has no such option. `region`: the account's region for the provider (from its
    SMTP host or its envelope domain), where the records name one."""
    records = return_path_records(provider, domain, region)
    if not records:
        return None
    first = records[0]
    what = "a custom MAIL FROM domain" if first.rdtype == "MX" else "a custom return path"
    message = (
        f"Set up {what} in {provider.name} and publish: {_listed(records)}. Bounces then go to "
        f"{first.name}, which is under {domain}, so SPF aligns for DMARC.{_fill_in(records)}"
    )
    return Action(
        ActionCode.CUSTOM_RETURN_PATH,
        message,
        domain=first.name,
        record=first.value,
        rdtype=first.rdtype,
        records=records,
    )


def setup_dkim(
    provider: Provider,
    domain: str,
    selectors: Sequence[str] = (),
    cnames: Mapping[str, str] | None = None,
) -> Action:
    """The DKIM records `provider` needs on `domain`: CNAMEs to keys it hosts, or TXT keys it
    shows. `selectors`: those seen for the domain in its reports (SES's tokens, say); `cnames`:
    the CNAME targets DNS already holds for them."""
    dkim = provider.dkim
    records = dkim_records(provider, domain, selectors, cnames)
    kind = (
        "CNAME records pointing at keys it hosts"
        if dkim.record_type == "CNAME"
        else "a TXT record with the public key it shows you"
    )
    message = (
        f"Turn on DKIM signing for {domain} in {provider.name} ({dkim.description}) and publish "
        f"{kind}: {_listed(records)}. Signatures then carry d={domain}, which aligns for DMARC "
        f"even when SPF does not (forwarding included).{_fill_in(records)}"
    )
    first = records[0]
    return Action(
        ActionCode.SETUP_DKIM,
        message,
        domain=first.name,
        record=first.value,
        rdtype=first.rdtype,
        records=records,
    )


def fix_spf_record(analysis: SpfAnalysis, rec: SpfRecommendation | None) -> Action:
    """Repair a record that gives permerror/temperror; offers the flattened record when the tree
    is only over the look-up limit and can be flattened."""
    errors = tuple(f for f in analysis.findings if f.severity.value == "error") or analysis.findings
    record: str | None = None
    if rec is not None and analysis.lookups > MAX_LOOKUPS:
        record = rec.flattened
    elif rec is not None and analysis.has("multiple_records"):
        record = rec.record  # the records merged into one, every term kept
    said = " ".join(f.message for f in errors[:3])
    message = f"Receivers cannot evaluate the SPF record of {analysis.domain}. {said}"
    if rec is not None and rec.ways_out:
        message += " Ways out, in order: " + " ".join(rec.ways_out)
    if record and analysis.lookups > MAX_LOOKUPS:
        message += f" The flattened record (no look-ups): {record}"
    elif record:
        message += f" The one record to keep: {record}"
    return Action(
        ActionCode.FIX_SPF_RECORD,
        message,
        domain=analysis.domain,
        record=record,
        rdtype="TXT" if record else None,
        records=(DnsRecord(analysis.domain, "TXT", record, "SPF"),) if record else (),
        lookups_after=(rec.lookups_after if rec is not None and record == rec.record else 0)
        if record
        else None,
        findings=errors,
    )


def no_action(message: str) -> Action:
    return Action(ActionCode.NO_ACTION, message)


def tighten_policy(domain: str, record: str | None, message: str) -> Action:
    """The next DMARC step; `record` None when today's DNS could not read the current one (the
    message then says what to change instead)."""
    return Action(
        ActionCode.TIGHTEN_POLICY,
        message,
        domain=f"_dmarc.{domain}",
        record=record,
        rdtype="TXT",
        records=(DnsRecord(f"_dmarc.{domain}", "TXT", record, "DMARC policy"),) if record else (),
    )
