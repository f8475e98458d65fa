"""Lint of SMTP settings: one case per code, plus settings that must stay clean."""

from __future__ import annotations

import pytest

from diagnostics.findings import Severity
from diagnostics.secret import Secret
from diagnostics.smtp import SmtpSettings, lint

SES = "email-smtp.eu-west-1.amazonaws.com"
SES_USER = "AKIAIOSFODNN7EXAMPLE"
SES_SMTP_PASSWORD = "BBd2X1lJQm4rZXhhbXBsZS9zbXRwcGFzc3dvcmQxMjM0"  # 44 base64 characters
IAM_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"  # 40: the IAM secret access key
SG_KEY = "SG." + "A1b2C3d4E5f6G7h8I9j0K1" + "." + "x" * 43
POSTMARK = "1a2b3c4d-1a2b-1a2b-1a2b-1a2b3c4d5e6f"


def codes(settings: SmtpSettings) -> list[str]:
    return [f.code for f in lint(settings)]


@pytest.mark.parametrize(
    "settings",
    [
        SmtpSettings(SES, 587, "starttls", SES_USER, SES_SMTP_PASSWORD),
        SmtpSettings(SES, 465, "tls", SES_USER, SES_SMTP_PASSWORD),
        SmtpSettings("smtp.sendgrid.net", 587, "starttls", "apikey", SG_KEY),
        SmtpSettings("smtp.sendgrid.net", 465, "tls", "apikey", SG_KEY),
        SmtpSettings("smtp.mailgun.org", 587, "starttls", "postmaster@mg.example.com", "pw-123456"),
        SmtpSettings("smtp.eu.mailgun.org", 2525, "starttls", "postmaster@mg.example.com", "pw"),
        SmtpSettings("smtp.postmarkapp.com", 587, "starttls", POSTMARK, POSTMARK),
    ],
)
def test_right_settings_are_clean(settings):
    assert lint(settings) == []


def test_port_25():
    findings = lint(SmtpSettings("smtp.sendgrid.net", 25, "starttls", "apikey", SG_KEY))
    assert [f.code for f in findings] == ["port_25"]
    assert findings[0].severity is Severity.WARNING
    assert "587" in findings[0].message


@pytest.mark.parametrize(
    ("host", "port", "security"),
    [
        ("smtp.sendgrid.net", 587, "tls"),
        ("smtp.sendgrid.net", 465, "starttls"),
        ("smtp.sendgrid.net", 465, "none"),
        ("mail.example.net", 2525, "tls"),  # unknown provider: the ports' usual meaning
        ("mail.example.net", 465, "starttls"),
        (SES, 2465, "starttls"),
        (SES, 2587, "tls"),
    ],
)
def test_tls_port_mismatch(host, port, security):
    findings = [
        f
        for f in lint(SmtpSettings(host, port, security, "u@x.test", "p"))
        if f.code == "tls_port_mismatch"
    ]
    assert len(findings) == 1
    assert findings[0].severity is Severity.ERROR
    assert str(port) in findings[0].message


def test_unusual_port_of_unknown_server_is_not_judged():
    assert "tls_port_mismatch" not in codes(SmtpSettings("mail.example.net", 8025, "tls", "u", "p"))


def test_plaintext_auth():
    found = codes(SmtpSettings("mail.example.net", 587, "none", "user", "password"))
    assert "plaintext_auth" in found
    assert "plaintext_auth" not in codes(SmtpSettings("mail.example.net", 587, "none"))


@pytest.mark.parametrize(
    ("username", "password", "severity"),
    [("", "", Severity.WARNING), ("apikey", "", Severity.ERROR), ("", SG_KEY, Severity.ERROR)],
)
def test_missing_credentials(username, password, severity):
    [finding] = [
        f
        for f in lint(SmtpSettings("smtp.sendgrid.net", 587, "starttls", username, password))
        if f.code == "missing_credentials"
    ]
    assert finding.severity is severity


@pytest.mark.parametrize(
    ("username", "password", "missing"),
    [("apikey", None, "password"), (None, SG_KEY, "username"), (None, None, "username")],
)
def test_none_means_not_set(username, password, missing):
    # A NULL column or an empty form field arrives as None: "not set", never the text "None".
    settings = SmtpSettings("smtp.sendgrid.net", 587, "starttls", username, password)
    assert settings.username == (username or "")
    assert settings.secret.reveal() == (password or "")
    assert "None" not in repr(settings.public_dict())
    findings = lint(settings)
    assert [f.code for f in findings] == ["missing_credentials"]
    assert findings[0].term == missing


def test_from_address_none_means_not_set():
    settings = SmtpSettings("smtp.sendgrid.net", 587, from_address=None)
    assert settings.from_address == ""


def test_ses_iam_secret_key():
    findings = lint(SmtpSettings(SES, 587, "starttls", SES_USER, IAM_SECRET))
    assert [f.code for f in findings] == ["ses_iam_secret_key"]
    assert "44" in findings[0].message
    assert "SES console" in findings[0].message
    assert IAM_SECRET not in findings[0].message


@pytest.mark.parametrize(
    "username", ["my-iam-user", "ASIAIOSFODNN7EXAMPLE", "akiaiosfodnn7example"]
)
def test_ses_username_not_access_key(username):
    assert codes(SmtpSettings(SES, 587, "starttls", username, SES_SMTP_PASSWORD)) == [
        "ses_username_not_access_key"
    ]


@pytest.mark.parametrize(
    "host",
    ["email-smtp.us-north-9.amazonaws.com", "email-smtp.amazonaws.com"],
)
def test_ses_region_unknown(host):
    findings = lint(SmtpSettings(host, 587, "starttls", SES_USER, SES_SMTP_PASSWORD))
    assert [f.code for f in findings] == ["ses_region_unknown"]
    assert "email-smtp.us-east-1.amazonaws.com" in findings[0].message


def test_sendgrid_username_not_apikey():
    findings = lint(SmtpSettings("smtp.sendgrid.net", 587, "starttls", "me@example.com", SG_KEY))
    assert [f.code for f in findings] == ["sendgrid_username_not_apikey"]
    assert "SendGrid" in findings[0].message
    assert "apikey" in findings[0].message


@pytest.mark.parametrize("key", ["my account password", "SG.short.key", SG_KEY[:-1]])
def test_sendgrid_key_format(key):
    assert codes(SmtpSettings("smtp.sendgrid.net", 587, "starttls", "apikey", key)) == [
        "sendgrid_key_format"
    ]


@pytest.mark.parametrize("host", ["smtp.mailgun.org", "smtp.eu.mailgun.org"])
def test_mailgun_username_not_address(host):
    findings = lint(SmtpSettings(host, 587, "starttls", "postmaster", "pw"))
    assert [f.code for f in findings] == ["mailgun_username_not_address"]
    assert "Mailgun" in findings[0].message


@pytest.mark.parametrize(
    ("username", "password"), [("me@example.com", POSTMARK), (POSTMARK, "secret"), ("x", "y")]
)
def test_postmark_token_format(username, password):
    findings = lint(SmtpSettings("smtp.postmarkapp.com", 587, "starttls", username, password))
    assert [f.code for f in findings] == ["postmark_token_format"]
    assert "Postmark" in findings[0].message


def test_unknown_provider_is_info_only():
    findings = lint(SmtpSettings("mail.example.net", 587, "starttls", "u", "p"))
    assert [(f.code, f.severity) for f in findings] == [("unknown_provider", Severity.INFO)]


def test_errors_come_first_and_no_finding_shows_the_secret():
    settings = SmtpSettings(SES, 25, "tls", "someone", Secret(IAM_SECRET))
    findings = lint(settings)
    ranks = [f.severity.rank for f in findings]
    assert ranks == sorted(ranks)
    assert {
        "port_25",
        "tls_port_mismatch",
        "ses_iam_secret_key",
        "ses_username_not_access_key",
    } <= {f.code for f in findings}
    assert all(IAM_SECRET not in f.message for f in findings)
