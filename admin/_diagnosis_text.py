"""An account's diagnosis as the lines `python -m admin accounts show NAME` prints: plain words,
no codes (those are in --json). Pure: from an AccountDiagnosis to lines of text.
"""

from __future__ import annotations

from admin._diagnosis_model import AccountDiagnosis, ConnectionDiagnosis, LatestTest
from admin.plans import RouteMode
from diagnostics import providers as catalogue
from diagnostics.findings import Severity
from diagnostics.spf.recommend import DnsRecord

__all__ = ["as_text", "record_lines"]

_SEVERITY = {Severity.ERROR: "Problem", Severity.WARNING: "Warning", Severity.INFO: "Note"}
_STATUS = {
    "ok": "OK",
    "warning": "Warning",
    "error": "Problem",
    "not_checked": "Not checked",
    "not_set_up": "Not set up",
}
_ROUTE = {
    RouteMode.CUSTOM: "custom SMTP",
    RouteMode.MANAGED: "managed sending by the platform",
    RouteMode.PAUSED: "paused, no mail goes out",
}


def record_lines(record: DnsRecord) -> list[str]:
    """One record to publish: where, then its value alone on a line to copy; a template says so,
    and where to find what is in angle brackets."""
    if record.template:
        return [
            f"Template, not ready to copy: {record.rdtype} at {record.name}: {record.value}",
            f"  {record.why}. Fill in what is in angle brackets: {record.fill_in or ''}",
        ]
    return [f"{record.rdtype} at {record.name} ({record.why}):", f"  {record.value}"]


def _test_lines(test: LatestTest | None) -> list[str]:
    if test is None:
        return ["Latest test: not tested yet."]
    when = f"{test.at:%Y-%m-%d %H:%M} UTC by {test.actor}"
    if test.ok:
        return [f"Latest test ({when}): {test.title}. {test.explanation}"]
    stage = f" at {test.stage}" if test.stage else ""
    lines = [f"Latest test ({when}): {test.title}{stage}. {test.explanation}".rstrip()]
    if test.causes:
        lines.append(f"  Likely cause: {'; '.join(test.causes)}")
    if test.fix:
        lines.append(f"  What to change: {test.fix}")
    return lines


def _connection_lines(conn: ConnectionDiagnosis) -> list[str]:
    live = ", live" if conn.active else ""
    lines = [f"* {conn.label} ({conn.host}:{conn.port}{live})"]
    for f in conn.findings:
        lines.append(f"    {_SEVERITY[f.severity]}: {f.title}. {f.message}")
    lines += [f"    {line}" for line in _test_lines(conn.latest_test)]
    return lines


def as_text(found: AccountDiagnosis) -> list[str]:
    """The whole diagnosis, section by section, as a person reads it."""
    lines = [f"{found.account_name} · {found.plan.display_name} plan"]
    active = found.active
    through = f" through “{active.label}” ({active.host}:{active.port})" if active else ""
    lines += [f"Outbound: {_ROUTE[found.route.mode]}{through}", f"  {found.route.reason}", ""]

    if found.connections:
        lines.append("Connections")
        for conn in found.connections:
            lines += [f"  {line}" for line in _connection_lines(conn)]
        lines.append("")
    elif not found.connections_visible:
        lines += ["Connections: your role may not see them.", ""]

    lines.append("What to fix first")
    if not found.problems:
        lines.append("  Nothing to fix: no problem found.")
    for number, problem in enumerate(found.problems, 1):
        failing = (
            f" ({problem.failing_dmarc:,} messages failing DMARC)" if problem.failing_dmarc else ""
        )
        lines.append(f"  {number}. {_SEVERITY[problem.severity]}: {problem.title}{failing}")
        lines.append(f"     {problem.detail}")
    lines.append("")

    if found.health is not None:
        names = [catalogue.get(k).name for k in found.providers]
        who = f"{', '.join(names)} and the platform" if names else "the platform's own sending"
        lines.append(f"DNS of {found.domain} (checked for {who})")
        for part in found.health.parts:
            lines.append(f"  {part.label}: {_STATUS[part.state]}. {part.summary}")
        lines.append("")
    elif found.health_note:
        lines += [found.health_note, ""]

    if found.spf_record is not None:
        lines.append("SPF record to publish")
        lines += [f"  {line}" for line in record_lines(found.spf_record)]
        lines.append("")
    if found.other_records:
        lines.append("Other records to publish")
        for other in found.other_records:
            lines += [f"  {line}" for line in record_lines(other.record)]
        lines.append("")

    reports = found.reports
    if found.domain:
        lines.append(
            f"From the DMARC reports (last {reports.days} days, {reports.messages:,} messages)"
        )
        if not reports.complete:
            lines.append("  Explaining the reports did not finish in time.")
        elif not reports.diagnoses:
            lines.append(f"  No DMARC reports for {found.domain}.")
        for d in reports.diagnoses:
            lines.append(
                f"  {d.source} · {d.category.label} · {d.share:.0%} of the mail "
                f"({d.messages:,} messages) · {d.confidence.label}"
            )
            lines.append(f"    {d.explanation}")
            for action in d.actions:
                lines.append(f"    {action.code.label}: {action.message}")
    return lines
