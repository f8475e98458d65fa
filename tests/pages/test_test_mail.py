"""The Test mail page against real aiosmtpd servers on loopback, reached through the loopback
nameserver by the provider's real host name, with a trustme CA the page is told to trust."""

from __future__ import annotations

import base64
import json
import ssl
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import pytest
import trustme
from streamlit.testing.v1 import AppTest

import admin
from diagnostics.config import DnsConfig, SmtpConfig
from diagnostics.secret import Secret
from diagnostics.smtp import Security, SmtpSettings
from tests.support.smtpserver import Behaviour, SmtpServer

ROOT = Path(__file__).resolve().parents[2]
PAGE = str(ROOT / "pages" / "test_mail.py")

SENDGRID_KEY = "SG.h9MailTestKey0000000001.h9MailTestSecretPart00000000000000000000B2"


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def server(ca: trustme.CA) -> Iterator[Callable[..., SmtpServer]]:
    """Factory: a STARTTLS aiosmtpd server with a certificate for smtp.sendgrid.net."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("smtp.sendgrid.net").configure_cert(context)
    started: list[SmtpServer] = []

    def start(behaviour: Behaviour, **kwargs: Any) -> SmtpServer:
        smtp = SmtpServer(behaviour, starttls=context, **kwargs).start()
        started.append(smtp)
        return smtp

    yield start
    for smtp in started:
        smtp.stop()


@pytest.fixture
def store(tmp_path, configure, nameserver, ca) -> Iterator[admin.Store]:
    """The app's configuration: a fresh store, a nameserver that maps SendGrid's host to
    127.0.0.1, and the test CA trusted by the probe."""
    dns = nameserver({"smtp.sendgrid.net": {"A": "127.0.0.1"}})
    cafile = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(cafile))
    config = configure(
        secret_key=Secret(admin.generate_key()),
        dns=DnsConfig(dns.address, timeout=1.0),
        smtp=SmtpConfig(timeout=5.0, cafile=cafile),
    )
    opened = admin.Store.from_config(config)
    yield opened
    opened.close()


def sendgrid(port: int, username: str) -> SmtpSettings:
    return SmtpSettings(
        "smtp.sendgrid.net",
        port,
        Security.STARTTLS,
        username,
        SENDGRID_KEY,
        "orders@bluebird.example",
    )


def open_page() -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=30).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def button(at: AppTest, label: str) -> Any:
    return next(b for b in at.button if b.label == label)


def everything_shown(at: AppTest) -> str:
    return "\n".join(str(n.proto) for n in [*at.main, *at.sidebar] if getattr(n, "proto", None))


def test_check_connection_with_a_wrong_sendgrid_username(store, server):
    smtp = server(Behaviour(users={"apikey": SENDGRID_KEY}))
    account = store.create_account("Bluebird Bakery", "nano")
    conn = store.add_connection(account.id, sendgrid(smtp.port, "bob"), label="SendGrid")
    at = open_page()
    assert any("No tests yet" in c.value for c in at.caption)

    button(at, "Check connection").click().run()
    assert not at.exception, [e.value for e in at.exception]

    [record] = store.probe_history(account.id)
    assert record.connection_id == conn.id
    assert record.outcome == "auth_failed"
    assert smtp.behaviour.logins == ["bob"]  # one try, never retried

    card = at.error[0].value
    assert card.startswith("**Authentication failed** at Sign-in")
    fixes = [i.value for i in at.info if i.value.startswith("**What to change:**")]
    assert fixes
    assert "apikey" in fixes[0]
    assert "Likely cause: SendGrid user name is not apikey" in " ".join(c.value for c in at.caption)
    # The card comes before the transcript, and the transcript shows the TLS upgrade.
    order = [n.type for n in at.main if n.type in ("error", "code")]
    assert order.index("error") < order.index("code")
    transcript = at.code[0].value
    assert "STARTTLS" in transcript
    assert "AUTH" in transcript
    tls_table = at.dataframe[0].value
    assert "smtp.sendgrid.net" in " ".join(map(str, tls_table["value"]))
    history = at.dataframe[-1].value
    assert list(history["outcome"]) == ["Authentication failed"]
    assert list(history["connection"]) == ["SendGrid"]

    shown = everything_shown(at)
    assert SENDGRID_KEY not in shown
    assert SENDGRID_KEY not in record.transcript


def what_a_person_sees(at: AppTest) -> str:
    """Every text the page shows, as the browser gets it (the element values, tables as CSV)."""
    texts = [
        str(element.value)
        for kind in (at.title, at.markdown, at.caption, at.error, at.info, at.warning, at.success)
        for element in kind
    ]
    texts += [element.value for element in at.code]
    texts += [frame.value.to_csv() for frame in at.dataframe]
    texts += [str(e.value) for e in at.exception]
    return "\n".join(texts) + everything_shown(at)


def test_a_password_the_server_echoes_is_not_shown(store, server):
    """A server that quotes the credentials back in its refusal, in every form they travelled in:
    the diagnosis card, the transcript, the replies and the history hold none of them."""
    password = 'Desk"Pass/word+50% & more'
    raw = password.encode()
    forms = [
        password,
        json.dumps(password)[1:-1],
        base64.b64encode(raw).decode(),
        base64.b64encode(b"\0apikey\0" + raw).decode(),
        quote(password, safe=""),
        quote_plus(password),
    ]
    smtp = server(
        Behaviour(
            echo_refusal=lambda user, _: f"535 5.7.8 Bad login for {user}: {' | '.join(forms)}"
        )
    )
    account = store.create_account("Bluebird Bakery", "pro")
    settings = sendgrid(smtp.port, "apikey").with_changes(password=password)
    store.add_connection(account.id, settings, label="SendGrid")
    at = open_page()
    button(at, "Check connection").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert smtp.behaviour.logins == ["apikey"]  # the server was sent the password, and echoed it

    card = at.error[0].value
    assert card.startswith("**Authentication failed**")
    assert "Bad login for apikey" in card  # the reply is shown as text: its ":" escaped
    shown = what_a_person_sees(at)
    [record] = store.probe_history(account.id)
    kept = record.transcript + json.dumps(record.result)
    for form in forms:
        assert form not in shown, form
        assert form not in kept, form


def test_send_test_mail_delivers_and_lists_both_tests(store, server):
    smtp = server(Behaviour(users={"apikey": SENDGRID_KEY}))
    account = store.create_account("Bluebird Bakery", "pro")
    store.add_connection(account.id, sendgrid(smtp.port, "apikey"), label="SendGrid")
    at = open_page()

    button(at, "Check connection").click().run()
    assert any(s.value.startswith("**It works.**") for s in at.success)

    at.text_input[0].input("someone@example.net")
    button(at, "Send test mail").click().run()
    assert not at.exception, [e.value for e in at.exception]
    works = [s.value for s in at.success if s.value.startswith("**It works.**")]
    assert works
    assert "someone@example.net" in works[0]
    [envelope] = smtp.behaviour.received
    assert envelope.rcpt_tos == ["someone@example.net"]
    assert envelope.mail_from == "orders@bluebird.example"
    outcomes = [r.outcome for r in store.probe_history(account.id)]
    assert outcomes == ["ok", "ok"]
    assert list(at.dataframe[-1].value["outcome"]) == ["It works", "It works"]


def test_a_refused_recipient_is_named_on_the_card(store, server):
    refusal = "550 5.1.1 <nobody@example.net>: Recipient address rejected"
    smtp = server(
        Behaviour(users={"apikey": SENDGRID_KEY}, rcpt_replies={"nobody@example.net": refusal})
    )
    account = store.create_account("Bluebird Bakery", "pro")
    store.add_connection(account.id, sendgrid(smtp.port, "apikey"), label="SendGrid")
    at = open_page()
    at.text_input[0].input("nobody@example.net")
    button(at, "Send test mail").click().run()
    assert not at.exception
    assert at.error[0].value.startswith("**Recipient refused**")
    assert any("nobody@example.net" in w.value for w in at.warning)
    assert smtp.behaviour.received == []


def test_an_earlier_test_can_be_shown_again(store, server):
    smtp = server(Behaviour(users={"apikey": SENDGRID_KEY}))
    account = store.create_account("Bluebird Bakery", "nano")
    wrong = store.add_connection(account.id, sendgrid(smtp.port, "bob"), label="Wrong user")
    right = store.add_connection(
        account.id, sendgrid(smtp.port, "apikey"), label="Right user", activate=False
    )
    at = open_page()
    button(at, "Check connection").click().run()  # the active one: the wrong user
    at.selectbox(key=f"test_mail_connection_{account.id}").set_value(right.id).run()
    button(at, "Check connection").click().run()
    assert any(s.value.startswith("**It works.**") for s in at.success)

    first = store.probe_history(account.id, connection_id=wrong.id)[0]
    at.selectbox(key=f"test_mail_view_{account.id}").set_value(first.id).run()
    assert not at.exception
    assert at.error[0].value.startswith("**Authentication failed**")


def test_bad_input_and_missing_pieces_are_plain_messages(store, server, closed_port):
    account = store.create_account("Cedar Studio", "nano")
    at = open_page()
    assert any("no SMTP connection to test" in i.value for i in at.info)

    store.add_connection(account.id, sendgrid(closed_port, "apikey"), label="Closed")
    at = open_page()
    button(at, "Send test mail").click().run()
    assert any("Enter the address" in w.value for w in at.warning)
    assert store.probe_history(account.id) == []

    at.text_input[0].input("not an address")
    button(at, "Send test mail").click().run()
    assert not at.exception
    assert any("not an email address" in e.value for e in at.error)
    assert store.probe_history(account.id) == []
    button(at, "Check connection").click().run()
    assert not at.exception
    assert at.error[0].value.startswith("**Connection refused**")


@pytest.fixture
def closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_wrong_secret_key_is_said_plainly(store, server, configure):
    smtp = server(Behaviour(users={"apikey": SENDGRID_KEY}))
    account = store.create_account("Bluebird Bakery", "pro")
    store.add_connection(account.id, sendgrid(smtp.port, "apikey"), label="SendGrid")
    configure(secret_key=Secret(admin.generate_key()))  # not the key it was saved with
    at = open_page()
    assert any("secret key does not match" in w.value for w in at.warning)

    button(at, "Check connection").click().run()
    assert not at.exception
    assert any("secret key does not match" in e.value for e in at.error)
    assert smtp.behaviour.logins == []
    assert store.probe_history(account.id) == []
