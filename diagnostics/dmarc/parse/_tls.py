"""SMTP TLS reports (RFC 8460): how many sessions to a domain's MX hosts used TLS, and why others failed.

A report is JSON (usually gzip-compressed, sometimes attached to an email). Each policy in it becomes
one row of `tls_reports`, with its failure details kept as a list and summarised in a column.

Bounded, not whole: real TLS reports are a few KB, so at most `max_json_bytes` of a document is ever
read (a gzip of ten million failure details is refused there, or earlier by its compression ratio),
and every JSON object is counted against the upload's `max_tls_items` as the decoder builds it, so
what is built stops at the cap too.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from diagnostics.dmarc.parse._bounds import MAX_TEXT, cut_to
from diagnostics.dmarc.parse._budget import UploadBudget, size_text
from diagnostics.dmarc.parse._limits import DEFAULT_LIMITS
from diagnostics.dmarc.parse._streams import CHUNK, Readable
from diagnostics.errors import InvalidInput, ReportError, ReportTooLarge
from diagnostics.idn import domain_name

TLS_COLUMNS: tuple[str, ...] = (
    "source",
    "organization_name",
    "report_id",
    "begin",
    "end",
    "contact_info",
    "policy_domain",
    "policy_type",
    "policy_strings",
    "mx_host",
    "successful_sessions",
    "failed_sessions",
    "failure_types",
)


@dataclass(frozen=True, slots=True)
class TlsFailure:
    result_type: str
    failed_sessions: int
    sending_mta_ip: str | None
    receiving_mx_hostname: str | None
    receiving_ip: str | None
    failure_reason_code: str | None


@dataclass(frozen=True, slots=True)
class TlsPolicy:
    policy_domain: str | None
    policy_type: str | None
    policy_strings: tuple[str, ...]
    mx_host: str | None
    successful_sessions: int
    failed_sessions: int
    failures: tuple[TlsFailure, ...]


@dataclass(frozen=True, slots=True)
class TlsReport:
    """One SMTP TLS report."""

    source: str
    organization_name: str | None
    report_id: str | None
    begin: datetime | None
    end: datetime | None
    contact_info: str | None
    policies: tuple[TlsPolicy, ...]

    def rows(self) -> list[dict[str, object]]:
        return [
            {
                "source": self.source,
                "organization_name": self.organization_name,
                "report_id": self.report_id,
                "begin": self.begin,
                "end": self.end,
                "contact_info": self.contact_info,
                "policy_domain": policy.policy_domain,
                "policy_type": policy.policy_type,
                "policy_strings": "; ".join(policy.policy_strings) or None,
                "mx_host": policy.mx_host,
                "successful_sessions": policy.successful_sessions,
                "failed_sessions": policy.failed_sessions,
                "failure_types": ",".join(sorted({f.result_type for f in policy.failures})) or None,
            }
            for policy in self.policies
        ]


def read_json(stream: Readable, budget: UploadBudget) -> bytes:
    """A JSON document from `stream`, read in chunks up to `max_json_bytes` and no further."""
    cap = budget.limits.max_json_bytes
    parts: list[bytes] = []
    size = 0
    while chunk := stream.read(min(CHUNK, cap + 1 - size)):
        parts.append(chunk)
        size += len(chunk)
        if size > cap:
            raise ReportTooLarge(
                f"the JSON document is larger than {size_text(cap)} (the max_json_bytes cap; real "
                "TLS reports are a few KB); it is rejected whole rather than read in part"
            )
    return b"".join(parts)


def parse_tls_report(data: bytes, source: str, *, budget: UploadBudget | None = None) -> TlsReport:
    """The TLS report in `data` (JSON bytes); `ReportError` with a plain reason when it is not one,
    `ReportTooLarge` when its objects go over the `max_tls_items` cap of `budget`."""
    spend = (budget or UploadBudget(DEFAULT_LIMITS)).spend_tls

    def counted(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        spend()
        return dict(pairs)

    try:
        document = json.loads(data, object_pairs_hook=counted)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ReportError(f"the JSON is malformed ({error})") from None
    except RecursionError:
        raise ReportError("the JSON nests deeper than any report does") from None
    except ValueError as error:  # a number with more digits than Python converts
        raise ReportError(f"the JSON holds a value that cannot be read ({error})") from None
    if not isinstance(document, dict) or "policies" not in document:
        raise ReportError('the JSON is not an SMTP TLS report (it has no "policies" list)')
    dates = document.get("date-range")
    if not isinstance(dates, dict):
        raise ReportError("the TLS report has no date-range")
    policies = document.get("policies")
    if not isinstance(policies, list):
        raise ReportError('the TLS report\'s "policies" is not a list')
    return TlsReport(
        source=source,
        organization_name=_str(document.get("organization-name")),
        report_id=_str(document.get("report-id")),
        begin=_date(dates.get("start-datetime")),
        end=_date(dates.get("end-datetime")),
        contact_info=_str(document.get("contact-info")),
        policies=tuple(_policy(p) for p in policies if isinstance(p, dict)),
    )


def _policy(item: dict[str, Any]) -> TlsPolicy:
    policy: dict[str, Any] = item["policy"] if isinstance(item.get("policy"), dict) else {}
    summary: dict[str, Any] = item["summary"] if isinstance(item.get("summary"), dict) else {}
    strings = policy.get("policy-string") or []
    mx = policy.get("mx-host")
    details = item.get("failure-details")
    details = details if isinstance(details, list) else []
    return TlsPolicy(
        policy_domain=_domain(policy.get("policy-domain")),
        policy_type=_str(policy.get("policy-type")),
        policy_strings=tuple(cut_to(str(s), MAX_TEXT) for s in strings)
        if isinstance(strings, list)
        else (),
        mx_host=_str(", ".join(str(m) for m in mx)) if isinstance(mx, list) else _str(mx),
        successful_sessions=_int(summary.get("total-successful-session-count")),
        failed_sessions=_int(summary.get("total-failure-session-count")),
        failures=tuple(
            TlsFailure(
                result_type=_str(d.get("result-type")) or "unknown",
                failed_sessions=_int(d.get("failed-session-count")),
                sending_mta_ip=_str(d.get("sending-mta-ip")),
                receiving_mx_hostname=_str(d.get("receiving-mx-hostname")),
                receiving_ip=_str(d.get("receiving-ip")),
                failure_reason_code=_str(d.get("failure-reason-code")),
            )
            for d in details
            if isinstance(d, dict)
        ),
    )


def _str(value: object) -> str | None:
    # Bounded like every report's text (bounds.py): no value a report holds is longer.
    if value is None:
        return None
    text = cut_to(str(value).strip(), MAX_TEXT)
    return text or None


def _domain(value: object) -> str | None:
    """A policy's domain as receivers use it; ReportError for one that is not a domain name (an
    invisible character included): the report would be filed under a look-alike."""
    text = _str(value) if not isinstance(value, str) else value
    if not text or not text.strip():
        return None
    try:
        return domain_name(text).ascii
    except InvalidInput as error:
        raise ReportError(f"the TLS report's policy-domain cannot be used: {error}") from None


def _int(value: object) -> int:
    try:
        return int(value)  # type: ignore[call-overload, no-any-return]
    except (TypeError, ValueError, OverflowError):  # OverflowError: JSON's 1e400 is infinity
        return 0


def _date(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else None
