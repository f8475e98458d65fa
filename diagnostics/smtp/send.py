"""Sending one message through saved SMTP settings: the desk's own mail (an alert, issue 16), over
the same aiosmtplib client, TLS rules and password handling as the probe (diagnostics.smtp.probe).

    send_message(settings, message, timeout=10, cafile=None)     # or send_message_async

It raises SendFailed, in plain words with the password scrubbed, when the server cannot be
reached, refuses the login or refuses the message; the caller decides whether to try again.
"""

from __future__ import annotations

from email.message import EmailMessage

import aiosmtplib

from diagnostics._sync import run_sync
from diagnostics.errors import DiagnosticsError
from diagnostics.redaction import Scrubber
from diagnostics.smtp.probe import _tls_context
from diagnostics.smtp.settings import Security, SmtpSettings

__all__ = ["SendFailed", "send_message", "send_message_async"]


class SendFailed(DiagnosticsError, ConnectionError):
    """The message was not accepted; the text says why (never the password)."""


async def send_message_async(
    settings: SmtpSettings,
    message: EmailMessage,
    *,
    timeout: float = 10.0,
    cafile: str | None = None,
) -> None:
    """Send `message` (its From and To headers are the envelope) through `settings`."""
    scrubber = Scrubber([(settings.username, settings.secret)])
    client = aiosmtplib.SMTP(
        hostname=settings.host,
        port=settings.port,
        use_tls=settings.security is Security.TLS,
        start_tls=settings.security is Security.STARTTLS,
        tls_context=_tls_context(True, cafile),
        timeout=timeout,
    )
    try:
        async with client:
            if settings.username:
                await client.login(settings.username, settings.secret.reveal())
            refused, _ = await client.send_message(message)
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
        why = str(exc).strip() or type(exc).__name__
        raise SendFailed(
            scrubber.scrub(f"{settings.host}:{settings.port} did not take the message: {why}")
        ) from None
    if refused:
        raise SendFailed(scrubber.scrub(f"{settings.host} refused {', '.join(sorted(refused))}"))


def send_message(
    settings: SmtpSettings,
    message: EmailMessage,
    *,
    timeout: float = 10.0,
    cafile: str | None = None,
) -> None:
    """`send_message_async` for synchronous callers (the alert run), through the library's
    bridge (diagnostics/_sync.py)."""
    run_sync(lambda: send_message_async(settings, message, timeout=timeout, cafile=cafile))
