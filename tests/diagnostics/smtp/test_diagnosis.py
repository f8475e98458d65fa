"""The pure steps of a probe: diagnosis of a failure, transcript redaction, the test message."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import pytest

from diagnostics import providers
from diagnostics.errors import InvalidInput
from diagnostics.secret import Secret
from diagnostics.smtp import (
    Failure,
    FailureKind,
    Hint,
    Reply,
    SmtpSettings,
    Stage,
    Symptom,
    Transcript,
    build_test_message,
    diagnose,
    scrub,
    secret_forms,
)

PLAIN = SmtpSettings("mail.example.net", 587, "starttls", "user@example.net", "s3cret-pass")


def reply_failure(stage: Stage, code: int, text: str, command: str = "X") -> Failure:
    return Failure(stage, FailureKind.REPLY, reply=Reply(command, code, text))


@pytest.mark.parametrize(
    ("failure", "symptom"),
    [
        (Failure(Stage.RESOLVE, FailureKind.DNS), Symptom.DNS_FAILURE),
        (Failure(Stage.CONNECT, FailureKind.REFUSED), Symptom.CONNECTION_REFUSED),
        (Failure(Stage.CONNECT, FailureKind.CONNECT_TIMEOUT), Symptom.CONNECT_TIMEOUT),
        (Failure(Stage.TLS, FailureKind.TLS_PLAINTEXT), Symptom.TLS_ON_PLAIN_PORT),
        (Failure(Stage.BANNER, FailureKind.TLS_ON_CONNECT), Symptom.PLAIN_ON_TLS_PORT),
        (Failure(Stage.TLS, FailureKind.CERT_UNTRUSTED), Symptom.TLS_CERTIFICATE_UNTRUSTED),
        (Failure(Stage.STARTTLS, FailureKind.CERT_HOSTNAME), Symptom.TLS_HOSTNAME_MISMATCH),
        (Failure(Stage.STARTTLS, FailureKind.NO_STARTTLS), Symptom.STARTTLS_UNAVAILABLE),
        (Failure(Stage.AUTH, FailureKind.NO_AUTH), Symptom.AUTH_UNAVAILABLE),
        (Failure(Stage.DATA, FailureKind.DISCONNECTED), Symptom.SERVER_DISCONNECTED),
        (Failure(Stage.EHLO, FailureKind.TIMEOUT), Symptom.TIMEOUT),
        (reply_failure(Stage.BANNER, 554, "No service"), Symptom.CONNECTION_REFUSED),
        (reply_failure(Stage.STARTTLS, 454, "TLS not available"), Symptom.STARTTLS_UNAVAILABLE),
        (reply_failure(Stage.AUTH, 535, "5.7.8 bad"), Symptom.AUTH_FAILED),
        (reply_failure(Stage.AUTH, 504, "5.5.4 Unrecognized"), Symptom.AUTH_UNAVAILABLE),
        (reply_failure(Stage.AUTH, 538, "Encryption required"), Symptom.STARTTLS_REQUIRED),
        (
            reply_failure(Stage.MAIL_FROM, 530, "5.7.0 Must issue a STARTTLS command first"),
            Symptom.STARTTLS_REQUIRED,
        ),
        (
            reply_failure(Stage.MAIL_FROM, 530, "5.7.0 Authentication required"),
            Symptom.AUTH_REQUIRED,
        ),
        (reply_failure(Stage.MAIL_FROM, 550, "5.7.1 Sender denied"), Symptom.SENDER_REJECTED),
        (reply_failure(Stage.RCPT_TO, 550, "5.1.1 No such user"), Symptom.RECIPIENT_REJECTED),
        (reply_failure(Stage.DATA, 554, "5.7.1 spam", "DATA"), Symptom.MESSAGE_REJECTED),
        (reply_failure(Stage.DATA, 550, "5.1.1 gone", "RCPT TO:<a@b>"), Symptom.RECIPIENT_REJECTED),
    ],
)
def test_symptoms(failure, symptom):
    diagnosis = diagnose(failure, PLAIN)
    assert diagnosis.symptom is symptom
    assert diagnosis.explanation
    assert diagnosis.fix
    if failure.reply is not None:
        assert str(failure.reply.code) in diagnosis.explanation


def test_relay_denied_without_login_means_auth_required():
    anonymous = PLAIN.with_changes(username="", password="")
    failure = reply_failure(Stage.RCPT_TO, 554, "5.7.1 Relay access denied")
    assert diagnose(failure, anonymous).symptom is Symptom.AUTH_REQUIRED
    assert diagnose(failure, PLAIN).symptom is Symptom.RECIPIENT_REJECTED


def test_no_auth_over_plain_with_starttls_offered_means_starttls_required():
    clear = PLAIN.with_changes(security="none")
    failure = Failure(Stage.AUTH, FailureKind.NO_AUTH, offered_starttls=True)
    assert diagnose(failure, clear).symptom is Symptom.STARTTLS_REQUIRED


@pytest.mark.parametrize("kind", [FailureKind.REFUSED, FailureKind.CONNECT_TIMEOUT])
def test_port_25_blocked(kind):
    on_25 = PLAIN.with_changes(port=25)
    diagnosis = diagnose(Failure(Stage.CONNECT, kind), on_25)
    assert diagnosis.hints == (Hint.PORT_25_BLOCKED,)
    assert "587" in diagnosis.fix
    assert diagnose(Failure(Stage.CONNECT, kind), PLAIN).hints == ()


def test_connect_timeout_says_a_firewall_drops_this_port_and_names_another():
    for port, other in ((587, "465"), (465, "587"), (2525, "587")):
        settings = PLAIN.with_changes(port=port, security="tls" if port == 465 else "starttls")
        diagnosis = diagnose(Failure(Stage.CONNECT, FailureKind.CONNECT_TIMEOUT), settings)
        assert f"drops connections to port {port}" in diagnosis.explanation
        assert other in diagnosis.fix
        assert f"port {port} " not in diagnosis.fix  # never "use port 587" when on 587
        assert "security" not in diagnosis.fix


def test_a_server_that_never_greets_on_port_25_is_interception():
    on_25 = PLAIN.with_changes(port=25)
    silent = Failure(Stage.BANNER, FailureKind.TIMEOUT, detail="the server never sent its greeting")
    diagnosis = diagnose(silent, on_25)
    assert diagnosis.symptom is Symptom.TIMEOUT
    assert diagnosis.hints == (Hint.PORT_25_BLOCKED,)
    assert "intercept" in diagnosis.explanation
    assert "587" in diagnosis.fix
    elsewhere = diagnose(silent, PLAIN)  # port 587
    assert elsewhere.hints == ()
    assert "never sent its greeting" in elsewhere.explanation
    assert "465" in elsewhere.fix


def test_name_mismatch_on_an_ip_address_says_to_use_the_host_name():
    by_ip = PLAIN.with_changes(host="192.0.2.25")
    failure = Failure(Stage.STARTTLS, FailureKind.CERT_HOSTNAME, detail="IP address mismatch")
    diagnosis = diagnose(failure, by_ip)
    assert diagnosis.symptom is Symptom.TLS_HOSTNAME_MISMATCH
    assert "IP address" in diagnosis.explanation
    assert "host name" in diagnosis.fix
    assert "instead of the IP address" in diagnosis.fix


def test_hints_need_the_provider_or_its_words():
    ses = providers.get("ses")
    ses_settings = SmtpSettings(
        "email-smtp.us-east-1.amazonaws.com", 587, "starttls", "AKIAIOSFODNN7EXAMPLE", "x" * 40
    )
    failure = reply_failure(Stage.AUTH, 535, "Authentication Credentials Invalid")
    assert diagnose(failure, ses_settings, ses).hints == (Hint.SES_IAM_KEY_USED,)
    right_shape = ses_settings.with_changes(password="A" * 43 + "=")
    assert diagnose(failure, right_shape, ses).hints == ()
    # The same failure on another provider's host says nothing about SES.
    assert diagnose(failure, ses_settings, providers.get("sendgrid")).hints == (
        Hint.SENDGRID_USERNAME_NOT_APIKEY,
    )


def test_provider_is_named():
    failure = reply_failure(Stage.AUTH, 535, "Authentication failed")
    sendgrid = providers.get("sendgrid")
    settings = SmtpSettings("smtp.sendgrid.net", 587, "starttls", "apikey", "SG.x")
    assert "SendGrid" in diagnose(failure, settings, sendgrid).explanation


def test_temporary_auth_failure_says_so():
    failure = reply_failure(Stage.AUTH, 454, "4.7.0 Temporary authentication failure")
    diagnosis = diagnose(failure, PLAIN)
    assert diagnosis.symptom is Symptom.AUTH_FAILED
    assert "temporary" in diagnosis.explanation


# --- transcript ----------------------------------------------------------------------------------


def test_secret_forms_and_scrub():
    secret = Secret("s3cret-pass")
    forms = secret_forms(secret, "user@example.net")
    plain_blob = base64.b64encode(b"\0user@example.net\0s3cret-pass").decode()
    assert "s3cret-pass" in forms
    assert base64.b64encode(b"s3cret-pass").decode() in forms
    assert plain_blob in forms
    assert scrub(f"535 bad {plain_blob} s3cret-pass", forms) == "535 bad [hidden] [hidden]"
    assert secret_forms(Secret("abc")) == []  # too short to tell from ordinary text


def test_a_diagnosis_never_quotes_the_password_a_reply_echoes():
    blob = base64.b64encode(b"\0user@example.net\0s3cret-pass").decode()
    failure = reply_failure(
        Stage.AUTH, 535, f"5.7.8 no user with s3cret-pass ({blob})", command="AUTH PLAIN"
    )
    diagnosis = diagnose(failure, PLAIN)
    assert diagnosis.symptom is Symptom.AUTH_FAILED
    assert '"535 5.7.8 no user with [hidden] ([hidden])" to AUTH PLAIN' in diagnosis.explanation
    assert "s3cret" not in diagnosis.explanation + diagnosis.fix
    assert blob not in diagnosis.explanation


def test_transcript_markers_and_redaction():
    transcript = Transcript([Secret("s3cret-pass")], username="u")
    transcript.info("Trying mail.example.net")
    transcript.sent("EHLO me")
    transcript.received(250, "mail.example.net\nSTARTTLS\nAUTH PLAIN")
    transcript.in_tls = True
    transcript.sent("AUTH PLAIN [credentials hidden]")
    transcript.received(535, "echoing s3cret-pass back", error=True)
    transcript.error("gave up")
    assert transcript.lines == (
        "=== Trying mail.example.net",
        " -> EHLO me",
        "<-  250-mail.example.net",
        "<-  250-STARTTLS",
        "<-  250 AUTH PLAIN",
        " ~> AUTH PLAIN [credentials hidden]",
        "<** 535 echoing [hidden] back",
        "*** gave up",
    )
    assert "s3cret" not in repr(transcript)


# --- the test message ----------------------------------------------------------------------------


def test_test_message_is_proper():
    when = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)
    message = build_test_message(
        from_address="me@example.com",
        to=["a@example.org", "b@example.org"],
        connection="SendGrid (Acme)",
        now=when,
    )
    assert parsedate_to_datetime(message["Date"]) == when
    assert message["Message-ID"].endswith("@example.com>")
    assert message["From"] == "me@example.com"
    assert message["To"] == "a@example.org, b@example.org"
    assert "SendGrid (Acme)" in message["Subject"]
    assert "2026-11-24 09:30" in message["Subject"]
    assert "SendGrid (Acme)" in message.get_content()


def test_test_message_needs_addresses():
    with pytest.raises(InvalidInput):
        build_test_message(from_address="nobody", to=["a@example.org"], connection="x")
    with pytest.raises(InvalidInput):
        build_test_message(from_address="me@example.com", to=[], connection="x")
