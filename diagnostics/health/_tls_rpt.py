"""TLS reporting (RFC 8460): the `_smtp._tls` record, its rua= destinations, and whether reports are
arriving, from a `TlsReportSummary` of the stored reports that the caller passes in (the library
never opens the store; the app and the CLI read it and summarise it with `from_rows`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from diagnostics.dmarc.record import DmarcCheck
from diagnostics.dns import Answer
from diagnostics.findings import Finding, Severity
from diagnostics.health._result import Part, make_part
from diagnostics.health._tags import find_record
from diagnostics.wording import plural

__all__ = ["TlsReportSummary", "assess_tls_rpt", "tls_rpt_name"]


@dataclass(frozen=True, slots=True)
class TlsReportSummary:
    """What the stored SMTP TLS reports of one domain say over the last `days` days: how many
    reports, sessions that used TLS and that failed, those of them under the domain's MTA-STS
    policy (policy type "sts"), the failure types reported and the MX hosts they named."""

    days: int
    reports: int = 0
    successful_sessions: int = 0
    failed_sessions: int = 0
    sts_successful_sessions: int = 0
    sts_failed_sessions: int = 0
    failure_types: tuple[str, ...] = ()
    failing_mx_hosts: tuple[str, ...] = ()

    @classmethod
    def from_rows(cls, rows: Iterable[Mapping[Any, Any]], *, days: int) -> TlsReportSummary:
        """Summarise rows of the store's `tls_reports` (one per policy of a report: report_id,
        organization_name, policy_type, mx_host, successful_sessions, failed_sessions,
        failure_types as a comma-separated list)."""
        reports: set[tuple[object, object]] = set()
        ok = failed = sts_ok = sts_failed = 0
        types: dict[str, None] = {}
        hosts: dict[str, None] = {}
        for row in rows:
            reports.add((row.get("organization_name"), row.get("report_id")))
            good, bad = _count(row.get("successful_sessions")), _count(row.get("failed_sessions"))
            ok, failed = ok + good, failed + bad
            if str(row.get("policy_type") or "").lower() == "sts":
                sts_ok, sts_failed = sts_ok + good, sts_failed + bad
            if bad:
                for kind in str(row.get("failure_types") or "").split(","):
                    if kind.strip():
                        types[kind.strip()] = None
                for host in str(row.get("mx_host") or "").split(","):
                    if host.strip():
                        hosts[host.strip().lower()] = None
        return cls(days, len(reports), ok, failed, sts_ok, sts_failed, tuple(types), tuple(hosts))


def _count(value: object) -> int:
    try:
        return max(int(value), 0)  # type: ignore[call-overload, no-any-return]
    except (TypeError, ValueError):
        return 0


def tls_rpt_name(domain: str) -> str:
    return f"_smtp._tls.{domain}"


def _suggested_rua(domain: str, dmarc: DmarcCheck | None) -> tuple[str, bool]:
    """The rua= to propose: the mailbox the domain's DMARC reports already go to (the desk reads
    TLS reports there too), else a template address on the domain (False: it is one)."""
    record = dmarc.record if dmarc else None
    for destination in record.rua if record else ():
        if destination.uri.lower().startswith("mailto:") and not destination.external:
            return f"mailto:{destination.address}", True
    return f"mailto:tls-reports@{domain}", False


def assess_tls_rpt(
    domain: str,
    answer: Answer,
    dmarc: DmarcCheck | None,
    summary: TlsReportSummary | None,
) -> Part:
    """The TLS-RPT part from the `_smtp._tls` TXT answer and, when given, the reports' summary."""
    record, problem = find_record(answer, "TLSRPTv1", "TLS reporting")
    findings: list[Finding] = [problem] if problem else []
    name = tls_rpt_name(domain)
    if record is None and problem is None:
        rua, real = _suggested_rua(domain, dmarc)
        template = (
            ""
            if real
            else " This is a template: replace the address with the mailbox that should "
            "receive the reports."
        )
        findings.append(
            Finding(
                "tls_rpt_absent",
                Severity.INFO,
                f"{domain} publishes no TLS reporting record, so the providers that deliver to "
                "it never tell you when a TLS connection to your mail servers fails. Publish "
                f'this TXT record at {name}: "v=TLSRPTv1; rua={rua}".{template}',
                name,
            )
        )
        return make_part("tls_rpt", findings, "no record", "no record")
    if record is None:
        return make_part("tls_rpt", findings, "", "record could not be used")
    destinations = [d.strip() for d in record.tags.get("rua", "").split(",") if d.strip()]
    if not destinations:
        rua, _ = _suggested_rua(domain, dmarc)
        findings.append(
            Finding(
                "tls_rpt_no_rua",
                Severity.ERROR,
                f"The TLS reporting record at {name} names no rua= destination, so no report is "
                f'sent anywhere. Publish instead: "v=TLSRPTv1; rua={rua}".',
                record.text,
            )
        )
    for destination in destinations:
        if not destination.lower().startswith(("mailto:", "https://")):
            findings.append(
                Finding(
                    "tls_rpt_bad_rua",
                    Severity.ERROR,
                    f"The TLS reporting destination {destination!r} is neither a mailto: nor an "
                    "https:// address, so no report can reach it. Write it as "
                    "mailto:ADDRESS or https://URL.",
                    destination,
                )
            )
    if summary is not None and destinations:
        findings.extend(_arrival(domain, summary, destinations))
    shown = ", ".join(destinations) or "no rua="
    return make_part("tls_rpt", findings, f"reports to {shown}", f"reports to {shown}")


def _arrival(domain: str, summary: TlsReportSummary, destinations: list[str]) -> list[Finding]:
    period = f"the last {plural(summary.days, 'day')}"
    if summary.reports == 0:
        return [
            Finding(
                "tls_reports_missing",
                Severity.WARNING,
                f"No TLS report for {domain} arrived here in {period}, though the record asks "
                f"for them at {', '.join(destinations)}. Large providers send one a day; if "
                "none of those addresses is the mailbox the desk reads, add it to rua=.",
                domain,
            )
        ]
    found = [
        Finding(
            "tls_reports_arriving",
            Severity.INFO,
            f"{plural(summary.reports, 'TLS report')} arrived in {period}: "
            f"{summary.successful_sessions:,} sessions used TLS, "
            f"{summary.failed_sessions:,} failed.",
            domain,
        )
    ]
    if summary.failed_sessions:
        hosts = ", ".join(summary.failing_mx_hosts) or "the domain's mail servers"
        kinds = ", ".join(summary.failure_types) or "not said"
        found.append(
            Finding(
                "tls_failures_reported",
                Severity.WARNING,
                f"Senders reported {summary.failed_sessions:,} failed TLS sessions to {hosts} "
                f"in {period} (failure types: {kinds}). Check those servers' certificates and "
                "STARTTLS (the MX TLS part).",
                hosts,
            )
        )
    return found
