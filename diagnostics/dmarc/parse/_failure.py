"""DMARC failure (forensic) reports: one message about one failing mail, as a row of plain values.

Receivers send them as ARF (RFC 5965) messages, and a few as plain text (Exim). parsedmarc's parser
handles both and is used here, always offline (no DNS, no downloads): it turns the report into
values and this module keeps the ones support staff read. Enrichment of the source IP is a separate
step, as for aggregate reports.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from email.errors import HeaderParseError
from email.header import decode_header, make_header
from typing import Any

from diagnostics.dmarc.parse._bounds import MAX_TEXT, cut_note, cut_to
from diagnostics.errors import InvalidInput, ReportError
from diagnostics.idn import domain_name

log = logging.getLogger(__name__)

FAILURE_COLUMNS: tuple[str, ...] = (
    "source",
    "arrival_date",
    "reported_domain",
    "source_ip",
    "feedback_type",
    "auth_failure",
    "delivery_result",
    "original_mail_from",
    "original_rcpt_to",
    "dkim_domain",
    "authentication_results",
    "subject",
    "message_id",
    "user_agent",
)


@dataclass(frozen=True, slots=True)
class FailureReport:
    """One failure report, reduced to what says which mail failed, from where and why."""

    source: str
    arrival_date: datetime | None
    reported_domain: str | None
    source_ip: str | None
    feedback_type: str | None
    auth_failure: str | None
    delivery_result: str | None
    original_mail_from: str | None
    original_rcpt_to: str | None
    dkim_domain: str | None
    authentication_results: str | None
    subject: str | None
    message_id: str | None
    user_agent: str | None

    def as_row(self) -> dict[str, object]:
        return {name: getattr(self, name) for name in FAILURE_COLUMNS}


def parse_failure_report(message: bytes, source: str) -> FailureReport:
    """The failure report in `message` (a whole email); `ReportError` when it is not one."""
    import parsedmarc

    # parsedmarc logs every rejected candidate at WARNING; a message that is not a failure report is
    # an expected outcome here, reported once, in the batch's errors.
    logger = logging.getLogger("parsedmarc")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        parsed = parsedmarc.parse_report_email(message, offline=True)
    except Exception as error:  # parsedmarc raises its own tree and, on odd input, builtins
        raise ReportError(
            "the message holds no DMARC report: no aggregate report attached and not a failure "
            f"report ({_first_line(error)})"
        ) from None
    finally:
        logger.setLevel(level)
    if parsed.get("report_type") != "failure":
        raise ReportError("the message holds no aggregate report the reader could find")
    report: dict[str, Any] = parsed["report"]
    sample = report.get("parsed_sample") or {}
    source_info = report.get("source") or {}
    failures = report.get("auth_failure") or []
    cut: list[str] = []

    def text(name: str, value: object) -> str | None:
        # Bounded like every report's text (bounds.py); a cut is logged, naming the field.
        if not isinstance(value, str):
            return None if value is None else cut_to(str(value), MAX_TEXT)
        if len(value) > MAX_TEXT:
            cut.append(cut_note(name, len(value), MAX_TEXT))
        return cut_to(value, MAX_TEXT)

    found = FailureReport(
        source=source,
        arrival_date=_utc(report.get("arrival_date_utc")),
        reported_domain=_domain(report.get("reported_domain")),
        source_ip=text("source ip_address", source_info.get("ip_address")),
        feedback_type=text("Feedback-Type", report.get("feedback_type")),
        auth_failure=text("Auth-Failure", ",".join(str(f) for f in failures) if failures else None),
        delivery_result=text("Delivery-Result", report.get("delivery_result")),
        original_mail_from=text("Original-Mail-From", report.get("original_mail_from")),
        original_rcpt_to=text("Original-Rcpt-To", report.get("original_rcpt_to")),
        dkim_domain=_lower(text("DKIM-Domain", report.get("dkim_domain"))),
        authentication_results=text("Authentication-Results", report.get("authentication_results")),
        subject=text("Subject", sample.get("subject") if isinstance(sample, dict) else None),
        message_id=text("Message-ID", report.get("message_id")),
        user_agent=text("User-Agent", report.get("user_agent")),
    )
    for note in cut:
        log.warning("failure report %s: %s", source, note)
    return found


def _domain(value: object) -> str | None:
    """The reported domain as receivers use it; ReportError for one that is not a domain name
    (an invisible character included): the report would be filed under a look-alike."""
    if not isinstance(value, str) or not value.strip():
        return None
    if "=?" in value:
        # An RFC 2047 encoded word (how a non-ASCII header value travels): judge what it says.
        # Left as it is when it does not decode: then refused below, as not a domain name.
        with contextlib.suppress(HeaderParseError, LookupError, UnicodeError):
            value = str(make_header(decode_header(value)))
    try:
        return domain_name(value).ascii
    except InvalidInput as error:
        raise ReportError(
            f"the failure report's domain (Reported-Domain) cannot be used: {error}"
        ) from None


def _utc(text: object) -> datetime | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        return datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    except ValueError:
        return None


def _lower(value: object) -> str | None:
    return value.strip().lower() or None if isinstance(value, str) else None


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0][:200] if text else type(error).__name__
