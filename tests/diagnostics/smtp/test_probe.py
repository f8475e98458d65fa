"""The probe against real aiosmtpd servers on loopback, one per symptom, with trustme certificates.

Host names are the providers' real ones, resolved to 127.0.0.1 by a loopback nameserver, so the
provider is recognised and TLS is verified against the name while the probe connects to the address.
"""

from __future__ import annotations

import email
import json
import time

import pytest
import trustme

from diagnostics.errors import InvalidInput
from diagnostics.smtp import Hint, ProbeResult, SmtpSettings, Stage, Symptom, probe, probe_async
from tests.diagnostics.smtp.conftest import server_context
from tests.support.smtpserver import Behaviour

USER = "sender@example.test"
PASSWORD = "correct horse battery staple 9f3a"
SES_USER = "AKIAIOSFODNN7EXAMPLE"
IAM_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"  # 40 chars: the IAM secret, not SMTP


def settings(host: str, port: int, security: str = "starttls", **kw: str) -> SmtpSettings:
    return SmtpSettings(
        host,
        port,
        security,
        kw.get("username", USER),
        kw.get("password", PASSWORD),
        kw.get("from_address", USER),
    )


def assert_no_secret(result: ProbeResult, secret: str = PASSWORD) -> None:
    import base64

    forms = [secret, base64.b64encode(secret.encode()).decode()]
    dumped = json.dumps(result.to_dict()) + repr(result) + "\n".join(result.transcript)
    for form in forms:
        assert form not in dumped


async def test_starttls_login_and_send_a_proper_message(smtp_server, good_tls, cafile, resolver):
    behaviour = Behaviour(users={USER: PASSWORD})
    server = smtp_server(behaviour, starttls=good_tls)
    result = await probe_async(
        settings("mx.test", server.port),
        send_to="rcpt@example.org",
        cafile=cafile,
        resolver=resolver,
        timeout=5,
        connection_label="Acme production",
    )
    assert result.ok, result.explanation
    assert result.symptom is None
    assert result.stage is Stage.DATA
    assert result.address == "127.0.0.1"
    assert result.accepted_recipients == ("rcpt@example.org",)
    assert result.tls is not None
    assert result.tls.verified
    assert result.tls.version
    assert result.tls.version.startswith("TLSv1")
    assert "mx.test" in result.tls.names
    assert "trustme" in (result.tls.issuer or "")
    # The transcript marks the switch to TLS, and the login went inside it, hidden.
    lines = result.transcript
    tls_at = next(i for i, line in enumerate(lines) if line.startswith("=== TLS started"))
    assert any(line.startswith(" -> STARTTLS") for line in lines[:tls_at])
    assert " ~> AUTH PLAIN [credentials hidden]" in lines[tls_at:]
    commands = [r.command for r in result.replies]
    assert commands[0] == "(greeting)"
    assert commands[1].startswith("EHLO ")
    assert commands[2] == "STARTTLS"
    assert commands[-1] == "DATA"
    assert_no_secret(result)
    # What the server got is a proper message.
    [envelope] = behaviour.received
    assert envelope.mail_from == USER
    assert envelope.rcpt_tos == ["rcpt@example.org"]
    message = email.message_from_bytes(envelope.original_content or b"")
    for header in ("Date", "Message-ID", "From", "To", "Subject"):
        assert message[header], header
    assert "Acme production" in message["Subject"]
    assert message["Message-ID"] == result.sent_message_id


async def test_implicit_tls_login_only(smtp_server, good_tls, cafile, resolver):
    server = smtp_server(Behaviour(users={USER: PASSWORD}), implicit_tls=good_tls)
    result = await probe_async(
        settings("mx.test", server.port, "tls"), cafile=cafile, resolver=resolver, timeout=5
    )
    assert result.ok, result.explanation
    assert result.stage is Stage.AUTH
    assert result.tls is not None
    assert result.tls.cipher
    assert result.transcript[2].startswith("=== TLS started")
    assert result.replies[-1].code == 235
    assert_no_secret(result)


def test_sync_probe_outside_and_inside_a_loop(smtp_server, good_tls, cafile, resolver):
    server = smtp_server(Behaviour(users={USER: PASSWORD}), implicit_tls=good_tls)
    result = probe(settings("mx.test", server.port, "tls"), cafile=cafile, resolver=resolver)
    assert result.ok


async def test_sync_probe_inside_a_running_loop(smtp_server, good_tls, cafile, resolver):
    server = smtp_server(Behaviour(users={USER: PASSWORD}), implicit_tls=good_tls)
    result = probe(settings("mx.test", server.port, "tls"), cafile=cafile, resolver=resolver)
    assert result.ok
    assert result.stage is Stage.AUTH


async def test_bad_credentials_fail_once_and_are_never_retried(
    smtp_server, good_tls, cafile, resolver
):
    behaviour = Behaviour(users={USER: PASSWORD})
    server = smtp_server(behaviour, starttls=good_tls)
    wrong = "not the password at all"
    result = await probe_async(
        settings("mx.test", server.port, password=wrong),
        cafile=cafile,
        resolver=resolver,
        timeout=5,
    )
    assert not result.ok
    assert result.symptom is Symptom.AUTH_FAILED
    assert result.stage is Stage.AUTH
    assert behaviour.logins == [USER]  # one attempt, no second mechanism tried
    assert result.replies[-1].command == "AUTH PLAIN"
    assert result.replies[-1].code == 535
    assert "535" in result.explanation
    assert result.fix
    assert_no_secret(result, wrong)


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
async def test_a_server_echoing_the_password_puts_it_nowhere_in_the_result(
    smtp_server, good_tls, cafile, resolver, mechanism
):
    import base64
    from urllib.parse import quote

    def echo(user: str, password: str) -> str:
        blob = base64.b64encode(f"\0{user}\0{password}".encode()).decode()
        alone = base64.b64encode(password.encode()).decode()
        return f"535 5.7.8 {user} may not log in with {password} / {blob} / {alone} / {quote(password)}"

    behaviour = Behaviour(echo_refusal=echo)
    server = smtp_server(behaviour, starttls=good_tls, auth_mechanisms=(mechanism,))
    result = await probe_async(
        settings("mx.test", server.port), cafile=cafile, resolver=resolver, timeout=5
    )
    assert result.symptom is Symptom.AUTH_FAILED
    assert behaviour.logins == [USER]
    assert (
        result.replies[-1].text
        == f"5.7.8 {USER} may not log in with [hidden] / [hidden] / [hidden] / [hidden]"
    )
    assert "[hidden] / [hidden]" in result.explanation
    assert_no_secret(result)
    assert quote(PASSWORD) not in json.dumps(result.to_dict())


async def test_auth_login_when_plain_is_not_offered(smtp_server, good_tls, cafile, resolver):
    behaviour = Behaviour(users={USER: PASSWORD})
    server = smtp_server(behaviour, starttls=good_tls, auth_mechanisms=("LOGIN",))
    result = await probe_async(settings("mx.test", server.port), cafile=cafile, resolver=resolver)
    assert result.ok, result.explanation
    assert result.replies[-1].command == "AUTH LOGIN"
    assert behaviour.logins == [USER]
    assert_no_secret(result)


async def test_greeting_refusal(smtp_server, resolver):
    server = smtp_server(refuse_with="554 5.7.1 Service unavailable; client host blocked")
    result = await probe_async(settings("mx.test", server.port), resolver=resolver)
    assert result.symptom is Symptom.CONNECTION_REFUSED
    assert result.stage is Stage.BANNER
    assert "blocked" in result.explanation


async def test_starttls_required_when_security_is_none(smtp_server, good_tls, resolver):
    server = smtp_server(
        Behaviour(users={USER: PASSWORD}), starttls=good_tls, require_starttls=True
    )
    # With credentials: the server lists AUTH only after STARTTLS.
    result = await probe_async(settings("mx.test", server.port, "none"), resolver=resolver)
    assert result.symptom is Symptom.STARTTLS_REQUIRED
    assert result.stage is Stage.AUTH
    assert "STARTTLS" in result.fix
    # Without: the first command after EHLO gets "530 Must issue a STARTTLS command first".
    anonymous = settings("mx.test", server.port, "none", username="", password="")
    result = await probe_async(anonymous, send_to="a@example.org", resolver=resolver)
    assert result.symptom is Symptom.STARTTLS_REQUIRED
    assert result.stage is Stage.MAIL_FROM
    assert result.replies[-1].code == 530


async def test_auth_not_offered(smtp_server, resolver):
    server = smtp_server(Behaviour(users={USER: PASSWORD}))  # no TLS, and AUTH only over TLS
    result = await probe_async(settings("mx.test", server.port, "none"), resolver=resolver)
    assert result.symptom is Symptom.AUTH_UNAVAILABLE
    assert result.stage is Stage.AUTH


async def test_auth_required_without_credentials(smtp_server, good_tls, cafile, resolver):
    server = smtp_server(Behaviour(), starttls=good_tls, auth_required=True)
    anonymous = settings("mx.test", server.port, username="", password="")
    result = await probe_async(anonymous, send_to="a@example.org", cafile=cafile, resolver=resolver)
    assert result.symptom is Symptom.AUTH_REQUIRED
    assert result.stage is Stage.MAIL_FROM


async def test_starttls_not_offered(smtp_server, resolver):
    server = smtp_server(Behaviour(users={USER: PASSWORD}), auth_require_tls=False)
    result = await probe_async(settings("mx.test", server.port), resolver=resolver)
    assert result.symptom is Symptom.STARTTLS_UNAVAILABLE
    assert result.stage is Stage.STARTTLS


@pytest.mark.parametrize("security", ["starttls", "tls"])
async def test_self_signed_certificate_is_untrusted(smtp_server, cafile, resolver, security):
    stranger = server_context(trustme.CA(), "mx.test")  # a CA the client does not know
    tls = {"implicit_tls": stranger} if security == "tls" else {"starttls": stranger}
    server = smtp_server(Behaviour(users={USER: PASSWORD}), **tls)
    result = await probe_async(
        settings("mx.test", server.port, security), cafile=cafile, resolver=resolver, timeout=5
    )
    assert result.symptom is Symptom.TLS_CERTIFICATE_UNTRUSTED
    assert result.stage is (Stage.TLS if security == "tls" else Stage.STARTTLS)
    # Not verifying lets the same server through, and says so.
    result = await probe_async(
        settings("mx.test", server.port, security), tls_verify=False, resolver=resolver, timeout=5
    )
    assert result.ok
    assert result.tls is not None
    assert not result.tls.verified


async def test_hostname_mismatch(smtp_server, ca, cafile, resolver):
    other = server_context(ca, "other.test")
    server = smtp_server(Behaviour(users={USER: PASSWORD}), implicit_tls=other)
    result = await probe_async(
        settings("alias.test", server.port, "tls"), cafile=cafile, resolver=resolver, timeout=5
    )
    assert result.symptom is Symptom.TLS_HOSTNAME_MISMATCH
    assert result.stage is Stage.TLS
    assert "alias.test" in result.explanation


@pytest.mark.parametrize("security", ["tls", "starttls"])
async def test_a_certificate_for_another_name_reached_by_ip_address_is_a_name_mismatch(
    smtp_server, ca, cafile, security
):
    # OpenSSL says 64 (IP address mismatch) here, not 62 (host name mismatch): the certificate is
    # trusted, it just names another host.
    other = server_context(ca, "other.test")
    tls = {"implicit_tls": other} if security == "tls" else {"starttls": other}
    server = smtp_server(Behaviour(users={USER: PASSWORD}), **tls)
    result = await probe_async(
        settings("127.0.0.1", server.port, security), cafile=cafile, timeout=5
    )
    assert result.symptom is Symptom.TLS_HOSTNAME_MISMATCH
    assert result.stage is (Stage.TLS if security == "tls" else Stage.STARTTLS)
    assert "127.0.0.1" in result.explanation
    assert "instead of the IP address" in result.fix


async def test_a_server_that_accepts_and_never_greets(smtp_server, resolver):
    # What port 25 interception looks like: the connection is taken, and nothing ever comes.
    server = smtp_server(silent=True)
    result = await probe_async(settings("mx.test", server.port), timeout=1.0, resolver=resolver)
    assert (result.stage, result.symptom) == (Stage.BANNER, Symptom.TIMEOUT)
    assert "accepted the connection" in result.explanation
    assert "never sent its greeting" in result.explanation
    assert "firewall" in result.explanation
    assert "587" in result.fix
    assert "security" not in result.fix


async def test_silent_server_costs_at_most_the_timeout(smtp_server, resolver):
    server = smtp_server(silent=True)
    for security, stage in (("starttls", Stage.BANNER), ("tls", Stage.TLS)):
        started = time.monotonic()
        result = await probe_async(
            settings("mx.test", server.port, security), timeout=0.8, resolver=resolver
        )
        assert time.monotonic() - started < 1.3
        assert result.symptom is Symptom.TIMEOUT
        assert result.stage is stage


async def test_starttls_to_an_implicit_tls_port(smtp_server, good_tls, resolver):
    server = smtp_server(Behaviour(), implicit_tls=good_tls)
    # 3 s leaves 1.2 s for the TLS handshake that tells an implicit-TLS port from a silent one;
    # with 1 s (0.4 s for it) a loaded machine timed out first now and then.
    result = await probe_async(settings("mx.test", server.port), timeout=3.0, resolver=resolver)
    assert result.symptom is Symptom.PLAIN_ON_TLS_PORT
    assert result.stage is Stage.BANNER
    assert "TLS" in result.fix


async def test_implicit_tls_to_a_starttls_port(smtp_server, good_tls, resolver):
    server = smtp_server(Behaviour(), starttls=good_tls)
    result = await probe_async(settings("mx.test", server.port, "tls"), resolver=resolver)
    assert result.symptom is Symptom.TLS_ON_PLAIN_PORT
    assert result.stage is Stage.TLS
    assert "STARTTLS" in result.fix


async def test_connection_refused_on_a_closed_port(closed_port, resolver):
    result = await probe_async(settings("mx.test", closed_port), resolver=resolver, timeout=3)
    assert result.symptom is Symptom.CONNECTION_REFUSED
    assert result.stage is Stage.CONNECT
    assert Hint.PORT_25_BLOCKED not in result.hints  # not port 25


async def test_connect_timeout_when_nothing_answers(unanswered_port, resolver):
    started = time.monotonic()
    result = await probe_async(settings("mx.test", unanswered_port), resolver=resolver, timeout=0.6)
    assert time.monotonic() - started < 1.1
    assert result.symptom is Symptom.CONNECT_TIMEOUT
    assert result.stage is Stage.CONNECT
    # Dropped packets: a firewall on the way, whatever the security setting (never "set TLS").
    assert f"drops connections to port {unanswered_port}" in result.explanation
    assert "587" in result.fix
    assert "security" not in result.fix


async def test_unresolvable_name(resolver):
    result = await probe_async(settings("nowhere.test", 587), resolver=resolver, timeout=3)
    assert result.symptom is Symptom.DNS_FAILURE
    assert result.stage is Stage.RESOLVE
    assert "nowhere.test" in result.explanation


# --- the providers' real replies -----------------------------------------------------------------


async def run(server, host, cafile, resolver, **kw):
    send_to = kw.pop("send_to", None)
    return await probe_async(
        settings(host, server.port, **kw),
        send_to=send_to,
        cafile=cafile,
        resolver=resolver,
        timeout=5,
    )


async def test_ses_iam_secret_used(smtp_server, good_tls, cafile, resolver):
    host = "email-smtp.us-east-1.amazonaws.com"
    server = smtp_server(Behaviour(users={SES_USER: "x" * 44}), starttls=good_tls)
    result = await run(server, host, cafile, resolver, username=SES_USER, password=IAM_SECRET)
    assert result.symptom is Symptom.AUTH_FAILED
    assert result.hints == (Hint.SES_IAM_KEY_USED,)
    assert result.provider == "ses"
    assert "Amazon SES" in result.explanation
    assert "SMTP credentials" in result.fix
    assert_no_secret(result, IAM_SECRET)


async def test_ses_unverified_identity(smtp_server, good_tls, cafile, resolver):
    reply = (
        "554 Message rejected: Email address is not verified. The following identities failed "
        "the check in region US-EAST-1: sender@example.test"
    )
    server = smtp_server(Behaviour(users={USER: PASSWORD}, data_reply=reply), starttls=good_tls)
    result = await run(
        server, "email-smtp.us-east-1.amazonaws.com", cafile, resolver, send_to="a@example.org"
    )
    assert result.symptom is Symptom.MESSAGE_REJECTED
    assert result.stage is Stage.DATA
    assert Hint.SES_SANDBOX_UNVERIFIED in result.hints
    assert "not verified" in result.explanation
    assert "SES console" in result.fix


async def test_sendgrid_username_not_apikey(smtp_server, good_tls, cafile, resolver):
    behaviour = Behaviour(users={"apikey": "SG.x"}, login_refusal="535 Authentication failed")
    server = smtp_server(behaviour, starttls=good_tls)
    result = await run(server, "smtp.sendgrid.net", cafile, resolver)
    assert result.symptom is Symptom.AUTH_FAILED
    assert result.hints == (Hint.SENDGRID_USERNAME_NOT_APIKEY,)
    assert "apikey" in result.fix
    assert "SendGrid" in result.explanation


async def test_sendgrid_sender_identity(smtp_server, good_tls, cafile, resolver):
    behaviour = Behaviour(
        users={USER: PASSWORD},
        mail_reply="403 You are not authorized to send from that email address",
    )
    server = smtp_server(behaviour, starttls=good_tls)
    result = await run(server, "smtp.sendgrid.net", cafile, resolver, send_to="a@example.org")
    assert result.symptom is Symptom.SENDER_REJECTED
    assert result.stage is Stage.MAIL_FROM
    assert result.hints == (Hint.SENDGRID_SENDER_IDENTITY,)
    assert result.replies[-1].command == f"MAIL FROM:<{USER}>"
    assert result.replies[-1].code == 403


async def test_mailgun_sandbox(smtp_server, good_tls, cafile, resolver):
    reply = (
        "554 Sandbox subdomains are for test purposes only. Please add your own domain or add "
        "the address to authorized recipients in Account Settings."
    )
    behaviour = Behaviour(users={USER: PASSWORD}, rcpt_replies={"a@example.org": reply})
    server = smtp_server(behaviour, starttls=good_tls)
    result = await run(server, "smtp.mailgun.org", cafile, resolver, send_to="a@example.org")
    assert result.symptom is Symptom.RECIPIENT_REJECTED
    assert result.stage is Stage.RCPT_TO
    assert result.hints == (Hint.MAILGUN_SANDBOX,)
    assert set(result.refused_recipients) == {"a@example.org"}
    assert behaviour.received == []


async def test_microsoft_smtp_auth_disabled(smtp_server, good_tls, cafile, resolver):
    refusal = (
        "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the "
        "Tenant."
    )
    server = smtp_server(Behaviour(login_refusal=refusal), starttls=good_tls)
    result = await run(server, "smtp.office365.com", cafile, resolver)
    assert result.symptom is Symptom.AUTH_FAILED
    assert result.hints == (Hint.MICROSOFT_SMTP_AUTH_DISABLED,)
    assert "Microsoft 365" in result.explanation
    assert "Authenticated SMTP" in result.fix


@pytest.mark.parametrize(
    "refusal",
    [
        "534 5.7.9 Application-specific password required.",
        "535 5.7.8 Username and Password not accepted.",
    ],
)
async def test_gmail_app_password(smtp_server, good_tls, cafile, resolver, refusal):
    server = smtp_server(Behaviour(login_refusal=refusal), starttls=good_tls)
    result = await run(server, "smtp.gmail.com", cafile, resolver)
    assert result.symptom is Symptom.AUTH_FAILED
    assert result.hints == (Hint.GMAIL_APP_PASSWORD,)
    assert "App Password" in result.fix


async def test_partial_recipient_refusal(smtp_server, good_tls, cafile, resolver):
    behaviour = Behaviour(
        users={USER: PASSWORD}, rcpt_replies={"gone@example.org": "550 5.1.1 No such user"}
    )
    server = smtp_server(behaviour, starttls=good_tls)
    result = await run(
        server, "mx.test", cafile, resolver, send_to=["ok@example.org", "gone@example.org"]
    )
    assert not result.ok
    assert result.symptom is Symptom.RECIPIENT_REJECTED
    assert result.stage is Stage.DATA
    assert result.accepted_recipients == ("ok@example.org",)
    assert result.refused_recipients["gone@example.org"].code == 550
    assert "ok@example.org" in result.explanation
    [envelope] = behaviour.received
    assert envelope.rcpt_tos == ["ok@example.org"]


async def test_disconnect_during_data(smtp_server, good_tls, cafile, resolver):
    behaviour = Behaviour(users={USER: PASSWORD}, disconnect_in_data=True)
    server = smtp_server(behaviour, starttls=good_tls)
    result = await run(server, "mx.test", cafile, resolver, send_to="a@example.org")
    assert result.symptom is Symptom.SERVER_DISCONNECTED
    assert result.stage is Stage.DATA


async def test_result_is_json_ready(smtp_server, good_tls, cafile, resolver):
    server = smtp_server(Behaviour(users={USER: PASSWORD}), starttls=good_tls)
    result = await run(server, "smtp.sendgrid.net", cafile, resolver, password="wrong password")
    stored = json.loads(json.dumps(result.to_dict()))
    assert stored["symptom"] == "auth_failed"
    assert stored["provider"] == "sendgrid"
    assert stored["tls"]["not_after"]
    assert stored["replies"][-1]["code"] == 535
    again = ProbeResult.from_dict(stored)
    assert again.symptom is result.symptom
    assert again.hints == result.hints
    assert again.tls == result.tls
    assert again.replies == result.replies
    assert again.transcript == result.transcript


async def test_arguments_that_make_a_test_impossible(resolver):
    with pytest.raises(InvalidInput):
        await probe_async(settings("mx.test", 587), timeout=0)
    with pytest.raises(InvalidInput):
        await probe_async(settings("mx.test", 587), send_to="not an address")
    no_from = settings("mx.test", 587, username="apikey", from_address="")
    with pytest.raises(InvalidInput):
        await probe_async(no_from, send_to="a@example.org")
