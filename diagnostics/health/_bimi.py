"""BIMI: the `default._bimi` record, the logo at its l= (fetched over HTTPS under a 32 KiB cap and
checked against SVG Tiny PS, `_svg.py`), whether a mark certificate is named at a=, and the DMARC
prerequisite: receivers show a logo only for mail under p=quarantine or p=reject at pct=100."""

from __future__ import annotations

from dataclasses import dataclass

from diagnostics.dmarc.record import DmarcCheck
from diagnostics.dns import Answer
from diagnostics.findings import Finding, Severity
from diagnostics.health._https import Fetched, FetchProblem
from diagnostics.health._result import Part, make_part
from diagnostics.health._svg import svg_problems
from diagnostics.health._tags import find_record

__all__ = ["MAX_LOGO_BYTES", "BimiRecord", "assess_bimi", "bimi_name", "bimi_record"]

MAX_LOGO_BYTES = 32 * 1024  # the BIMI group's limit for a logo file


def bimi_name(domain: str) -> str:
    return f"default._bimi.{domain}"


@dataclass(frozen=True, slots=True)
class BimiRecord:
    """The logo (l=) and mark certificate (a=) addresses of a BIMI record; "" when empty."""

    text: str
    logo: str
    certificate: str


def bimi_record(answer: Answer) -> tuple[BimiRecord | None, Finding | None]:
    record, problem = find_record(answer, "BIMI1", "BIMI")
    if record is None:
        return None, problem
    tags = record.tags
    return BimiRecord(record.text, tags.get("l", ""), tags.get("a", "")), None


def _dmarc_ready(dmarc: DmarcCheck | None) -> tuple[bool, str]:
    """(whether the domain's DMARC allows a logo, the DMARC record to publish when it does not)."""
    record = dmarc.record if dmarc else None
    if record is None:
        return False, "v=DMARC1; p=quarantine"
    policy = dmarc.applied_policy if dmarc else None
    ready = policy in ("quarantine", "reject") and record.pct == 100
    ready = ready and record.subdomain_policy != "none"
    kept = [f"{k}={v}" for k, v in record.tags if k.lower() not in ("v", "p", "pct", "sp")]
    wanted = "reject" if policy == "reject" else "quarantine"
    return ready, "; ".join(["v=DMARC1", f"p={wanted}", *kept])


def assess_bimi(
    domain: str, answer: Answer, dmarc: DmarcCheck | None, logo: Fetched | None
) -> Part:
    """The BIMI part. `logo` None: the network checks were off (or there is no logo to fetch)."""
    record, problem = bimi_record(answer)
    findings: list[Finding] = [problem] if problem else []
    ready, dmarc_record = _dmarc_ready(dmarc)
    name = bimi_name(domain)
    prerequisite = (
        f"receivers show a BIMI logo only for mail whose DMARC policy is quarantine or reject "
        f"and applies to all of it (pct=100). Publish at _dmarc.{domain}: "
        f'"{dmarc_record}", once your DMARC reports show your own mail passing.'
    )
    if record is None:
        if problem is None:
            findings.append(
                Finding(
                    "bimi_absent",
                    Severity.INFO,
                    f"{domain} publishes no BIMI record, so no receiver shows your logo next to "
                    "your mail. BIMI is optional. "
                    + (
                        "Your DMARC policy already allows it. "
                        if ready
                        else f"First, {prerequisite} "
                    )
                    + f'Then publish TXT at {name}: "v=BIMI1; l=https://{domain}/bimi/logo.svg" '
                    "(a template: put your SVG Tiny PS logo at that address, or change it).",
                    name,
                )
            )
        return make_part("bimi", findings, "no BIMI record", "BIMI record could not be used")
    if not record.logo:
        findings.append(
            Finding(
                "bimi_declined",
                Severity.INFO,
                f"The BIMI record at {name} has an empty l=: it declines BIMI, and receivers "
                "show no logo.",
                record.text,
            )
        )
        return make_part("bimi", findings, "declined", "declined")
    if not ready:
        findings.append(
            Finding("bimi_dmarc_not_enforced", Severity.ERROR, f"No logo is shown: {prerequisite}")
        )
    if not record.logo.lower().startswith("https://"):
        findings.append(
            Finding(
                "bimi_logo_not_https",
                Severity.ERROR,
                f"The logo address {record.logo!r} is not https://; receivers fetch logos only "
                "over HTTPS. Host the SVG on an https:// address and put that in l=.",
                record.logo,
            )
        )
    elif logo is None:
        findings.append(
            Finding(
                "logo_not_fetched",
                Severity.INFO,
                f"The logo at {record.logo} was not fetched: the network checks are off.",
                record.logo,
            )
        )
    else:
        findings.extend(_logo_findings(logo))
    if not record.certificate:
        findings.append(
            Finding(
                "bimi_no_certificate",
                Severity.INFO,
                "No mark certificate (a=): Yahoo shows the logo without one, but Gmail and "
                "Apple Mail show it only with a Verified or Common Mark Certificate (VMC or "
                "CMC) named at a=.",
                record.text,
            )
        )
    elif not record.certificate.lower().startswith("https://"):
        findings.append(
            Finding(
                "bimi_certificate_not_https",
                Severity.ERROR,
                f"The mark certificate address {record.certificate!r} is not https://; "
                "receivers ignore it. Put the https:// address of the PEM file in a=.",
                record.certificate,
            )
        )
    summary = f"logo {record.logo}" + (", with a mark certificate" if record.certificate else "")
    return make_part("bimi", findings, summary, summary)


def _logo_findings(logo: Fetched) -> list[Finding]:
    if logo.problem is FetchProblem.TOO_LARGE:
        return [
            Finding(
                "bimi_logo_too_large",
                Severity.ERROR,
                f"The logo at {logo.url} is too large ({logo.detail}); receivers refuse logos "
                f"over {MAX_LOGO_BYTES // 1024} KiB. Simplify the SVG (fewer points, no "
                "embedded fonts) and publish it again.",
                logo.url,
            )
        ]
    if not logo.ok:
        where = f" to {logo.location[:200]}" if logo.location else ""
        return [
            Finding(
                "bimi_logo_unreachable",
                Severity.ERROR,
                f"The logo at {logo.url} could not be fetched ({logo.detail}{where}), so no "
                "receiver can show it. Serve the SVG file itself at that https:// address, "
                "with a valid certificate and no redirect.",
                logo.url,
            )
        ]
    problems = svg_problems(logo.body or b"")
    if problems:
        return [
            Finding(
                "bimi_logo_invalid",
                Severity.ERROR,
                f"The logo at {logo.url} is not SVG Tiny PS, so receivers drop it: "
                + "; ".join(problems)
                + ". Export it again as SVG Tiny 1.2 (Tiny PS) and fix these.",
                logo.url,
            )
        ]
    return [
        Finding(
            "bimi_logo_ok",
            Severity.INFO,
            f"The logo at {logo.url} is an SVG Tiny PS file receivers accept "
            f"({len(logo.body or b''):,} bytes).",
            logo.url,
        )
    ]
