"""The public surface of diagnostics.smtp: every exported name exists and says what it is for."""

from __future__ import annotations

import diagnostics.smtp as smtp


def test_exported_members():
    for name in smtp.__all__:
        member = getattr(smtp, name)
        assert member.__doc__, f"{name} has no docstring"
    assert {"lint", "probe", "probe_async", "ProbeResult", "Symptom", "Hint", "presets"} <= set(
        smtp.__all__
    )


def test_codes_are_exactly_the_documented_ones():
    assert [s.value for s in smtp.Symptom] == [
        "dns_failure", "connection_refused", "connect_timeout", "tls_on_plain_port",
        "plain_on_tls_port", "tls_certificate_untrusted", "tls_hostname_mismatch",
        "starttls_unavailable", "starttls_required", "auth_unavailable", "auth_failed",
        "auth_required", "sender_rejected", "recipient_rejected", "message_rejected",
        "server_disconnected", "timeout",
    ]  # fmt: skip
    assert {h.value for h in smtp.Hint} == {
        "port_25_blocked", "ses_iam_key_used", "ses_sandbox_unverified",
        "sendgrid_username_not_apikey", "sendgrid_sender_identity", "mailgun_sandbox",
        "microsoft_smtp_auth_disabled", "gmail_app_password",
    }  # fmt: skip
