"""DNSSEC, as information: whether the domain's answers are signed (a DS record at the parent and
DNSKEY records in the zone) and whether the resolver validated them (the AD bit of its answer);
and which MX hosts publish TLSA records for DANE (`_25._tcp.HOST`).

Nothing here is an error: SPF, DKIM and DMARC work the same without DNSSEC. It matters for DANE
(TLSA records for the MX hosts), which needs the MX hosts' zones signed, and it is what checkdmarc
reports; so it is said, with what it means.
"""

from __future__ import annotations

from collections.abc import Sequence

from diagnostics.dns import Answer, Status
from diagnostics.findings import Finding, Severity
from diagnostics.health._result import Part, make_part

__all__ = ["assess_dnssec", "tlsa_name"]


def tlsa_name(mx_host: str) -> str:
    """Where an MX host's DANE records are (RFC 7672: port 25, TCP)."""
    return f"_25._tcp.{mx_host}"


def assess_dnssec(domain: str, dnskey: Answer, ds: Answer, tlsa: Sequence[Answer] = ()) -> Part:
    """The DNSSEC part from the domain's DNSKEY and DS answers, and the MX hosts' TLSA answers."""
    if dnskey.status.is_temporary or ds.status.is_temporary:
        failed = dnskey if dnskey.status.is_temporary else ds
        finding = Finding(
            "dnssec_unknown",
            Severity.INFO,
            f"Whether {domain} is signed could not be read: {failed.rdtype} of {domain}: "
            f"{failed.describe()}.",
            domain,
        )
        return make_part("dnssec", [finding], "could not be read", "could not be read")
    keys = dnskey.status is Status.OK
    delegated = ds.status is Status.OK
    if keys and delegated and (dnskey.authenticated or ds.authenticated):
        code, summary, message = (
            "dnssec_validated",
            "signed and validated",
            f"{domain} is signed with DNSSEC and the resolver validated its answers, so its "
            "records (MX, TXT) cannot be forged on the way. DANE (TLSA records for the MX "
            "hosts) is possible.",
        )
    elif keys and delegated:
        code, summary, message = (
            "dnssec_signed",
            "signed",
            f"{domain} is signed with DNSSEC (a DS record at the parent, DNSKEY records in the "
            "zone). The resolver used here does not validate, so whether the signatures are "
            "valid was not confirmed.",
        )
    elif keys:
        code, summary, message = (
            "dnssec_no_ds",
            "keys without DS",
            f"{domain} publishes DNSKEY records but its parent zone has no DS record for it, so "
            "validating resolvers treat it as unsigned. To finish signing, add the DS record "
            "your DNS host shows at your registrar; otherwise nothing is lost.",
        )
    else:
        code, summary, message = (
            "dnssec_unsigned",
            "not signed",
            f"{domain} is not signed with DNSSEC. SPF, DKIM and DMARC do not need it; DANE "
            "for inbound mail does. Your DNS host can sign the zone if you want it.",
        )
    findings = [Finding(code, Severity.INFO, message, domain)]
    dane = [a.name.removeprefix("_25._tcp.") for a in tlsa if a.status is Status.OK]
    if dane:
        findings.append(
            Finding(
                "dane_published",
                Severity.INFO,
                f"These MX hosts publish TLSA records for DANE: {', '.join(dane)}. Senders that "
                "use DANE verify their certificates against those records when the hosts' own "
                "zones are signed; keep the records in step with each certificate renewal.",
                dane[0],
            )
        )
        summary += ", DANE on " + ", ".join(dane)
    return make_part("dnssec", findings, summary, summary)
