"""Column headings as people read them, for the tables that show the store's columns as they are
(a report's records, the failure and SMTP TLS reports): the columns keep their names (the CSV
export and the API use them), the page shows words."""

from __future__ import annotations

from collections.abc import Iterable

# The store's column names that plain capitalisation would not make readable.
_LABELS = {
    "source_ip": "Sending IP",
    "count": "Messages",
    "disposition": "Disposition",
    "dkim_aligned": "DKIM aligned",
    "spf_aligned": "SPF aligned",
    "header_from": "From domain",
    "envelope_from": "Envelope sender",
    "envelope_to": "Envelope recipient",
    "spf_domain": "SPF domain",
    "spf_scope": "SPF scope",
    "spf_result": "SPF result",
    "dkim_domains": "DKIM domains",
    "dkim_selectors": "DKIM selectors",
    "dkim_results": "DKIM results",
    "override_reasons": "Policy overrides",
    "arrival_date": "Arrived",
    "reported_domain": "Domain",
    "feedback_type": "Feedback type",
    "auth_failure": "What failed",
    "delivery_result": "Delivery",
    "original_mail_from": "Envelope sender",
    "original_rcpt_to": "Recipient",
    "dkim_domain": "DKIM domain",
    "authentication_results": "Authentication-Results",
    "message_id": "Message-ID",
    "user_agent": "Reporter's software",
    "organization_name": "Reporter",
    "report_id": "Report ID",
    "begin": "From",
    "end": "To",
    "contact_info": "Contact",
    "policy_domain": "Domain",
    "policy_type": "Policy type",
    "policy_strings": "Policy",
    "mx_host": "MX host",
    "successful_sessions": "Sessions passed",
    "failed_sessions": "Sessions failed",
    "failure_types": "Failure types",
    "file": "File",
}


def column_labels(columns: Iterable[str]) -> dict[str, str]:
    """A heading for each of `columns` (Streamlit's `column_config` takes a string as a label):
    the readable name above, else the name with its underscores as spaces, capitalised."""
    return {name: _LABELS.get(name) or name.replace("_", " ").capitalize() for name in columns}


__all__ = ["column_labels"]
