"""The codes a probe of an SMTP connection reports: how far it got, what went wrong, and why.

Pages, the CLI and the stored history all key on these strings, so they never change once released.
Each also has a `label`: the same thing in plain words, for a person to read (a code belongs in
--json and the API, never in a sentence).
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

    @property
    def label(self) -> str:
        """The step in plain words (sentence case), e.g. "Sign-in" for auth."""
        return _STAGE_LABELS[self]


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

    @property
    def label(self) -> str:
        """What went wrong in plain words (sentence case), e.g. "Authentication failed"."""
        return _SYMPTOM_LABELS[self]


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

    @property
    def label(self) -> str:
        """The cause in plain words (sentence case), e.g. "SendGrid user name is not apikey"."""
        return _HINT_LABELS[self]


_STAGE_LABELS = {
    Stage.RESOLVE: "Host look-up",
    Stage.CONNECT: "Connection",
    Stage.TLS: "TLS handshake",
    Stage.BANNER: "Server greeting",
    Stage.EHLO: "EHLO",
    Stage.STARTTLS: "STARTTLS",
    Stage.AUTH: "Sign-in",
    Stage.MAIL_FROM: "Sender (MAIL FROM)",
    Stage.RCPT_TO: "Recipient (RCPT TO)",
    Stage.DATA: "Message (DATA)",
}

_SYMPTOM_LABELS = {
    Symptom.DNS_FAILURE: "Host name not found",
    Symptom.CONNECTION_REFUSED: "Connection refused",
    Symptom.CONNECT_TIMEOUT: "Connection timed out",
    Symptom.TLS_ON_PLAIN_PORT: "TLS set on a STARTTLS port",
    Symptom.PLAIN_ON_TLS_PORT: "STARTTLS set on a TLS port",
    Symptom.TLS_CERTIFICATE_UNTRUSTED: "Certificate not trusted",
    Symptom.TLS_HOSTNAME_MISMATCH: "Certificate for another host",
    Symptom.STARTTLS_UNAVAILABLE: "STARTTLS not offered",
    Symptom.STARTTLS_REQUIRED: "Server requires STARTTLS",
    Symptom.AUTH_UNAVAILABLE: "Sign-in not offered",
    Symptom.AUTH_FAILED: "Authentication failed",
    Symptom.AUTH_REQUIRED: "Server requires sign-in",
    Symptom.SENDER_REJECTED: "Sender refused",
    Symptom.RECIPIENT_REJECTED: "Recipient refused",
    Symptom.MESSAGE_REJECTED: "Message refused",
    Symptom.SERVER_DISCONNECTED: "Server hung up",
    Symptom.TIMEOUT: "Server stopped answering",
}

_HINT_LABELS = {
    Hint.PORT_25_BLOCKED: "Port 25 blocked",
    Hint.SES_IAM_KEY_USED: "IAM key used instead of SES SMTP credentials",
    Hint.SES_SANDBOX_UNVERIFIED: "Address not verified in SES (sandbox or wrong region)",
    Hint.SENDGRID_USERNAME_NOT_APIKEY: "SendGrid user name is not apikey",
    Hint.SENDGRID_SENDER_IDENTITY: "Sender not verified in SendGrid",
    Hint.MAILGUN_SANDBOX: "Mailgun sandbox domain",
    Hint.MICROSOFT_SMTP_AUTH_DISABLED: "SMTP AUTH turned off in Microsoft 365",
    Hint.GMAIL_APP_PASSWORD: "Google needs an app password",
}
