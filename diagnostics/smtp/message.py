"""The test message a probe sends: a proper RFC 5322 message, so that a filter judging it on its
headers (no Date, no Message-ID) cannot be the reason a test fails."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from diagnostics.errors import InvalidInput


def build_test_message(
    *,
    from_address: str,
    to: Sequence[str],
    connection: str,
    now: datetime | None = None,
    message_id: str | None = None,
) -> EmailMessage:
    """A short plain-text message from `from_address` to `to`, whose subject names the connection
    (`connection`, e.g. "smtp.sendgrid.net:587") and the time, so the recipient can tell tests apart."""
    if not from_address or "@" not in from_address:
        raise InvalidInput(f"The From address {from_address!r} is not an email address.")
    if not to:
        raise InvalidInput("A test message needs at least one recipient.")
    when = (now or datetime.now(UTC)).astimezone(UTC)
    domain = from_address.rpartition("@")[2] or None
    stamp = when.strftime("%Y-%m-%d %H:%M:%S UTC")
    message = EmailMessage()
    message["Date"] = format_datetime(when)
    message["Message-ID"] = message_id or make_msgid("smtp-test", domain=domain)
    message["From"] = from_address
    message["To"] = ", ".join(to)
    message["Subject"] = f"Test mail through {connection} at {stamp}"
    message.set_content(
        f"This is a test message sent through the SMTP connection {connection} at {stamp}.\n"
        "\n"
        "If you can read it, the connection, the login and the sending address work.\n"
        "No reply is needed.\n"
    )
    return message
