"""SMTP settings the store tests save: realistic shapes, fake values, distinctive passwords to grep for."""

from __future__ import annotations

from diagnostics.smtp.settings import Security, SmtpSettings

SENDGRID_KEY = "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"
SES_PASSWORD = "BFq2k8Lr9TzX0cV3bN6mA1sD4fG7hJ0kL3zX6cV9bN2m"
MAILGUN_PASSWORD = "mg-9f3c1e7a5b2d8f4e6a0c-plx"


def sendgrid(password: str = SENDGRID_KEY) -> SmtpSettings:
    return SmtpSettings(
        "smtp.sendgrid.net",
        587,
        Security.STARTTLS,
        username="apikey",
        password=password,
        from_address="orders@bluebird.example",
    )


def ses(password: str = SES_PASSWORD) -> SmtpSettings:
    return SmtpSettings(
        "email-smtp.eu-west-1.amazonaws.com",
        465,
        Security.TLS,
        username="AKIAIOSFODNN7EXAMPLE",
        password=password,
        from_address="hello@harbor.example",
    )


def mailgun(password: str = MAILGUN_PASSWORD) -> SmtpSettings:
    return SmtpSettings(
        "smtp.eu.mailgun.org",
        587,
        Security.STARTTLS,
        username="postmaster@mg.harbor.example",
        password=password,
        from_address="news@mg.harbor.example",
    )
