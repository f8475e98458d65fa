"""Sending one notice to one channel: e-mail through the SMTP connection the desk holds (the
project's own client, diagnostics.smtp.send) or a webhook POST (Slack-compatible JSON, HMAC-signed,
admin._alert_notices). Either raises DeliveryFailed with a plain reason, never a secret; the alert
run (admin.alerts) counts the attempt and tries again later, with backoff.

The channels' secrets reach this module decrypted inside `EmailChannel` and `WebhookChannel`
(Secrets: no repr shows them) and leave it only on the wire.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from admin import _alert_notices as notices
from diagnostics.errors import DiagnosticsError
from diagnostics.redaction import Scrubber
from diagnostics.secret import Secret
from diagnostics.smtp.send import send_message
from diagnostics.smtp.settings import SmtpSettings

__all__ = ["DeliveryFailed", "EmailChannel", "Send", "Sender", "WebhookChannel", "send"]


class DeliveryFailed(Exception):
    """A notice did not get through; the text says why in plain words (no secret)."""


@dataclass(frozen=True, slots=True)
class EmailChannel:
    settings: SmtpSettings  # the password a Secret
    recipients: tuple[str, ...]
    timeout: float = 10.0
    cafile: str | None = None

    def send(self, subject: str, body: str, *, event: str, now: datetime) -> None:
        sender = self.settings.from_address or self.settings.username
        message = notices.email(subject, body, sender=sender, to=self.recipients, now=now)
        try:
            send_message(self.settings, message, timeout=self.timeout, cafile=self.cafile)
        except DiagnosticsError as exc:
            raise DeliveryFailed(str(exc)) from None


@dataclass(frozen=True, slots=True)
class WebhookChannel:
    url: Secret  # a Slack webhook URL is itself a credential
    secret: Secret  # the HMAC key ("" signs nothing)
    timeout: float = 10.0

    def send(self, subject: str, body: str, *, event: str, now: datetime) -> None:
        data = notices.webhook_body(subject, body, event=event)
        stamp = int(now.timestamp())
        headers = {"Content-Type": "application/json", notices.TIMESTAMP_HEADER: str(stamp)}
        if self.secret.reveal():
            headers[notices.SIGNATURE_HEADER] = notices.signature(self.secret, stamp, data)
        url = self.url.reveal()
        where = urlsplit(url).hostname or "the webhook"
        scrub = Scrubber([self.url, self.secret]).scrub
        request = urllib.request.Request(url, data=data, headers=headers, method="POST")  # noqa: S310 - http(s) only, checked when saved
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:  # noqa: S310
                answer.read(1024)
        except urllib.error.HTTPError as exc:
            raise DeliveryFailed(f"{where} answered {exc.code} {scrub(str(exc.reason))}") from None
        except (urllib.error.URLError, OSError, TimeoutError) as exc:
            reason = getattr(exc, "reason", exc)
            raise DeliveryFailed(f"{where} could not be reached: {scrub(str(reason))}") from None


Sender = EmailChannel | WebhookChannel
# What the run calls to send: (channel, subject, body, event, now). Tests and the bench may give
# their own (a counting wrapper); the default sends through the channel as saved.
Send = Callable[[Sender, str, str, str, datetime], None]


def send(channel: Sender, subject: str, body: str, event: str, now: datetime) -> None:
    channel.send(subject, body, event=event, now=now)
