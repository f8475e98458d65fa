"""The health check's result: `Part` (one status, a summary and findings) and `DomainHealth`."""

from __future__ import annotations

from dataclasses import dataclass, field

from diagnostics.dkim import SelectorCheck
from diagnostics.dmarc.record import DmarcCheck
from diagnostics.findings import Finding
from diagnostics.spf import SpfAnalysis, SpfRecommendation
from diagnostics.verdict import Verdict, verdict_of

_PART_LABELS = {
    "spf": "SPF",
    "dkim": "DKIM",
    "dmarc": "DMARC",
    "mx": "MX",
    "mta_sts": "MTA-STS",
    "tls_rpt": "TLS reporting",
    "bimi": "BIMI",
    "mx_tls": "MX TLS",
    "dnssec": "DNSSEC",
}


@dataclass(frozen=True, slots=True)
class Part:
    """One part of the health check: `name` (spf, dkim, dmarc, mx, mta_sts, tls_rpt, bimi,
    mx_tls, dnssec: a code), one `status`, a one-line `summary` and the `findings`, errors first.
    `label` is the name as a person reads it. `checked` is False for a part that needs the
    network checks when they were not run: its status is then no verdict, and says nothing."""

    name: str
    status: Verdict
    summary: str
    findings: tuple[Finding, ...] = ()
    checked: bool = True

    @property
    def label(self) -> str:
        return _PART_LABELS.get(self.name, self.name.upper())

    @property
    def absent(self) -> bool:
        """An optional part (MTA-STS, TLS reporting, BIMI) the domain has not set up: nothing is
        wrong, but nothing is in place either, so every surface says "not set up", not "OK"."""
        return self.status is Verdict.OK and any(f.code.endswith("_absent") for f in self.findings)

    @property
    def state(self) -> str:
        """What every surface shows for the part, as a code: "not_checked" (not run),
        "not_set_up" (`absent`), else its status ("ok", "warning", "error")."""
        if not self.checked:
            return "not_checked"
        return "not_set_up" if self.absent else self.status.value

    def to_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "label": self.label,
            "status": self.status.value,
            "checked": self.checked,
            "state": self.state,
            "summary": self.summary,
            "findings": [f.to_dict() for f in self.findings],
        }


def make_part(name: str, findings: list[Finding], ok: str, problem: str) -> Part:
    """A part whose status is the worst of `findings`; `ok` or `problem` as its summary."""
    findings = sorted(findings, key=lambda f: f.severity.rank)
    status = verdict_of(findings)
    return Part(name, status, ok if status is Verdict.OK else problem, tuple(findings))


def not_checked(name: str, why: str) -> Part:
    """A part that was not run (the network checks were off): no verdict."""
    return Part(name, Verdict.OK, why, checked=False)


@dataclass(frozen=True, slots=True)
class DomainHealth:
    """The parts, plus what they rest on for a page that wants the details: the SPF analysis
    and recommendation, every DKIM selector checked, the DMARC check, the MX records."""

    domain: str
    providers: tuple[str, ...]
    spf: Part
    dkim: Part
    dmarc: Part
    mx: Part
    mta_sts: Part
    tls_rpt: Part
    bimi: Part
    mx_tls: Part
    dnssec: Part
    spf_analysis: SpfAnalysis | None = None
    spf_recommendation: SpfRecommendation | None = None
    dkim_selectors: tuple[SelectorCheck, ...] = ()
    dmarc_check: DmarcCheck | None = None
    mx_records: tuple[tuple[int, str], ...] = field(default=())

    @property
    def parts(self) -> tuple[Part, ...]:
        return (
            self.spf,
            self.dkim,
            self.dmarc,
            self.mx,
            self.mta_sts,
            self.tls_rpt,
            self.bimi,
            self.mx_tls,
            self.dnssec,
        )

    @property
    def status(self) -> Verdict:
        """The worst status of the parts that were checked."""
        order = (Verdict.ERROR, Verdict.WARNING, Verdict.OK)
        checked = [p for p in self.parts if p.checked]
        return next(v for v in order if v is Verdict.OK or any(p.status is v for p in checked))

    @property
    def findings(self) -> tuple[Finding, ...]:
        every = [f for part in self.parts for f in part.findings]
        return tuple(sorted(every, key=lambda f: f.severity.rank))

    def to_dict(self) -> dict[str, object]:
        return {
            "domain": self.domain,
            "providers": list(self.providers),
            "status": self.status.value,
            "parts": {p.name: p.to_dict() for p in self.parts},
            "spf_record": self.spf_analysis.record if self.spf_analysis else None,
            "spf_recommended": (
                self.spf_recommendation.record if self.spf_recommendation else None
            ),
            "dkim_selectors": [s.to_dict() for s in self.dkim_selectors],
            "dmarc": self.dmarc_check.to_dict() if self.dmarc_check else None,
            "mx": [{"preference": p, "exchange": h} for p, h in self.mx_records],
        }
