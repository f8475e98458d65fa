"""SMTP connection settings, their lint, and the live probe (test mail)."""

from diagnostics.smtp.settings import Security, SmtpSettings

__all__ = ["Security", "SmtpSettings"]
