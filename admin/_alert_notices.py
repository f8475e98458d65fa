"""What an alert says, and how it travels: the text of an opening, a resolve and a daily digest,
the e-mail built from it, and the webhook's Slack-compatible JSON with its HMAC-SHA256 signature.
Pure: no database, no network.

A generic receiver checks the signature: HMAC-SHA256, keyed with the channel's secret, over
`{timestamp}.{body}` (the raw request body), hex, sent as `X-Desk-Signature: sha256=<hex>` with
`X-Desk-Timestamp: <unix seconds>`; the timestamp lets it refuse a replay. Slack ignores both.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from admin.troubles import TroubleKind
from diagnostics.secret import Secret
from diagnostics.wording import plural

SIGNATURE_HEADER = "X-Desk-Signature"
TIMESTAMP_HEADER = "X-Desk-Timestamp"


@dataclass(frozen=True, slots=True)
class AlertFacts:
    """What a notice says about one alert."""

    account: str
    kind: TroubleKind
    line: str
    first_seen: datetime


def opened(facts: AlertFacts) -> tuple[str, str]:
    """(subject, body) of the notice that a trouble began."""
    subject = f"Needs attention: {facts.account}: {facts.kind.label}"
    body = (
        f"{facts.account} needs attention: {facts.kind.label.lower()}.\n\n{facts.line}\n\n"
        f"First seen {facts.first_seen:%Y-%m-%d %H:%M} UTC. Open the desk's Needs attention "
        "page, then the account's Overview, for what to change.\n"
    )
    return subject, body


def resolved(facts: AlertFacts, at: datetime) -> tuple[str, str]:
    """(subject, body) of the notice that a trouble ended."""
    subject = f"Resolved: {facts.account}: {facts.kind.label}"
    body = (
        f"{facts.account}: {facts.kind.label.lower()} is resolved.\n\n"
        f"Seen from {facts.first_seen:%Y-%m-%d %H:%M} UTC until {at:%Y-%m-%d %H:%M} UTC.\n"
    )
    return subject, body


def digest(day: str, active: Sequence[AlertFacts], *, shown: int = 50) -> tuple[str, str]:
    """(subject, body) of the day's digest: every active alert, the oldest first."""
    subject = f"Daily digest {day}: {plural(len(active), 'account problem')} open"
    if not active:
        return subject, f"Nothing needs attention on {day}.\n"
    ordered = sorted(active, key=lambda f: f.first_seen)
    lines = [
        f"- {f.account}: {f.kind.label} (since {f.first_seen:%Y-%m-%d}). {f.line}"
        for f in ordered[:shown]
    ]
    if len(ordered) > shown:
        lines.append(f"- and {len(ordered) - shown} more on the Needs attention page.")
    return subject, f"Open problems on {day}:\n\n" + "\n".join(lines) + "\n"


def grouped(claimed: Sequence[tuple[int, str, str, str]]) -> tuple[str, str, str]:
    """(subject, body, event) of one message carrying several notices (id, subject, body,
    event), each as it would have been sent alone."""
    opened_n = sum(1 for c in claimed if c[3] == "opened")
    resolved_n = sum(1 for c in claimed if c[3] == "resolved")
    others = len(claimed) - opened_n - resolved_n
    parts = [plural(opened_n, "new problem")] if opened_n else []
    parts += [plural(resolved_n, "resolved problem")] if resolved_n else []
    parts += [plural(others, "digest")] if others else []
    subject = f"Alerts: {', '.join(parts)}"
    body = "\n".join(f"== {c[1]}\n{c[2]}" for c in claimed)
    return subject, body, "batch"


def email(
    subject: str, body: str, *, sender: str, to: Sequence[str], now: datetime
) -> EmailMessage:
    message = EmailMessage()
    message["Date"] = format_datetime(now)
    message["Message-ID"] = make_msgid("desk-alert", domain=sender.rpartition("@")[2] or None)
    message["From"] = sender
    message["To"] = ", ".join(to)
    # Account names and lines come from customers' data: one header line, no injected headers.
    message["Subject"] = " ".join(subject.split())
    message.set_content(body)
    return message


def webhook_body(subject: str, body: str, *, event: str) -> bytes:
    """Slack's incoming-webhook JSON (`text`), with the parts for a generic receiver."""
    return json.dumps(
        {"text": f"*{subject}*\n{body}", "subject": subject, "body": body, "event": event},
        ensure_ascii=False,
    ).encode()


def signature(secret: Secret, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.reveal().encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


__all__ = [
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "AlertFacts",
    "digest",
    "email",
    "grouped",
    "opened",
    "resolved",
    "signature",
    "webhook_body",
]
