"""The codes a probe of an SMTP connection reports: how far it got, what went wrong, and why.

Pages, the CLI and the stored history all key on these strings, so they never change once released.
"""

from __future__ import annotations

from enum import StrEnum


class Stage(StrEnum):
    """The steps of a probe, in the order they run."""

    RESOLVE = "resolve"
    CONNECT = "connect"
    TLS = "tls"  # the handshake of implicit TLS, before the banner
    BANNER = "banner"
    EHLO = "ehlo"
    STARTTLS = "starttls"
    AUTH = "auth"
    MAIL_FROM = "mail_from"
    RCPT_TO = "rcpt_to"
    DATA = "data"


class Symptom(StrEnum):
    """What went wrong, as the person at the keyboard would describe it."""

    DNS_FAILURE = "dns_failure"
    CONNECTION_REFUSED = "connection_refused"
    CONNECT_TIMEOUT = "connect_timeout"
    TLS_ON_PLAIN_PORT = "tls_on_plain_port"
    PLAIN_ON_TLS_PORT = "plain_on_tls_port"
    TLS_CERTIFICATE_UNTRUSTED = "tls_certificate_untrusted"
    TLS_HOSTNAME_MISMATCH = "tls_hostname_mismatch"
    STARTTLS_UNAVAILABLE = "starttls_unavailable"
    STARTTLS_REQUIRED = "starttls_required"
    AUTH_UNAVAILABLE = "auth_unavailable"
    AUTH_FAILED = "auth_failed"
    AUTH_REQUIRED = "auth_required"
    SENDER_REJECTED = "sender_rejected"
    RECIPIENT_REJECTED = "recipient_rejected"
    MESSAGE_REJECTED = "message_rejected"
    SERVER_DISCONNECTED = "server_disconnected"
    TIMEOUT = "timeout"


class Hint(StrEnum):
    """A provider-specific cause behind a symptom, recognised from the settings or the reply text."""

    PORT_25_BLOCKED = "port_25_blocked"
    SES_IAM_KEY_USED = "ses_iam_key_used"
    SES_SANDBOX_UNVERIFIED = "ses_sandbox_unverified"
    SENDGRID_USERNAME_NOT_APIKEY = "sendgrid_username_not_apikey"
    SENDGRID_SENDER_IDENTITY = "sendgrid_sender_identity"
    MAILGUN_SANDBOX = "mailgun_sandbox"
    MICROSOFT_SMTP_AUTH_DISABLED = "microsoft_smtp_auth_disabled"
    GMAIL_APP_PASSWORD = "gmail_app_password"  # noqa: S105 - a code, not a password
