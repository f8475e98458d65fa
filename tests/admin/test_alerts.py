"""Alerts (issue 16) on SQLite and PostgreSQL, sent to a real aiosmtpd (STARTTLS with a trustme
certificate, a login) and a real loopback webhook: each alert once, a resolve notice when its
trouble ends, the SMTP server down retried with backoff and then failed, never sent twice; the
webhook's HMAC signature; the digest once a day; secrets never shown back; admins alone edit."""

from __future__ import annotations

import hashlib
import hmac
import json
import ssl
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import trustme

from admin import PermissionDenied, Principal, Role, Store
from admin.alerts import MAX_ATTEMPTS
from admin.troubles import QueueEvidence, Trouble, TroubleKind
from diagnostics.smtp.settings import Security, SmtpSettings
from tests.support.smtpserver import Behaviour, SmtpServer
from tests.support.tcpproxy import TcpProxy
from tests.support.webhook import WebhookReceiver

NOW = datetime(2026, 12, 7, 9, tzinfo=UTC)
SMTP_PASSWORD = "alert-smtp-password-4242"
HMAC_KEY = "hmac-key-for-the-receiver-77"


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def cafile(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("alerts-ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


@pytest.fixture
def smtp(ca: trustme.CA) -> Iterator[tuple[SmtpServer, TcpProxy]]:
    """aiosmtpd with STARTTLS and a login, behind a proxy the test can cut (the server down)."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost").configure_cert(context)
    server = SmtpServer(Behaviour(users={"alerts": SMTP_PASSWORD}), starttls=context).start()
    proxy = TcpProxy(("127.0.0.1", server.port))
    proxy.start()
    yield server, proxy
    proxy.stop()
    server.stop()


@pytest.fixture
def webhook() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver().start()
    yield receiver
    receiver.stop()


def smtp_settings(proxy: TcpProxy, password: str = SMTP_PASSWORD) -> SmtpSettings:
    return SmtpSettings(
        "localhost",
        proxy.port,
        Security.STARTTLS,
        username="alerts",
        password=password,
        from_address="desk@support.example",
    )


def put(store: Store, account_id: int, name: str, *found: Trouble) -> None:
    """The queue row a refresh would store (admin.queue_refresh is tested in test_queue.py)."""
    evidence = QueueEvidence(account_id, name, "pro", "sendgrid", f"{account_id}.example")
    store.queue.save(evidence, list(found))


FAILING = Trouble(TroubleKind.CONNECTION_FAILING, "Latest test: Authentication failed.")
PAUSED = Trouble(TroubleKind.NANO_PAUSED, "Outbound mail is paused: no connection.")


@pytest.fixture
def desk(store: Store) -> Callable[..., Any]:
    """Two accounts in trouble; `run(at)` runs the alerts with the test CA trusted."""
    a = store.create_account("Bluebird Bakery", "pro")
    b = store.create_account("Cedar Studio", "nano")
    put(store, a.id, a.name, FAILING)
    put(store, b.id, b.name, PAUSED)

    def run(at: datetime = NOW, **kwargs: Any) -> Any:
        return store.alerts.run(now=at, cafile=kwargs.pop("cafile", None), **kwargs)

    run.accounts = (a, b)  # type: ignore[attr-defined]
    return run


def verify(received: Any) -> dict[str, Any]:
    stamp = received.headers["x-desk-timestamp"]
    mac = hmac.new(HMAC_KEY.encode(), f"{stamp}.".encode() + received.body, hashlib.sha256)
    assert received.headers["x-desk-signature"] == f"sha256={mac.hexdigest()}"
    return json.loads(received.body)


def test_each_alert_once_then_its_resolve_once(
    store: Store,
    desk: Callable[..., Any],
    smtp: tuple[SmtpServer, TcpProxy],
    webhook: WebhookReceiver,
    cafile: str,
) -> None:
    server, proxy = smtp
    store.alerts.save_email_channel(smtp_settings(proxy), ["oncall@support.example"])
    store.alerts.save_webhook_channel(webhook.url, hmac_secret=HMAC_KEY)

    first = desk(cafile=cafile)
    assert (first.opened, first.sent, first.failed, first.retrying) == (2, 4, 0, 0)
    mails = server.behaviour.received
    assert len(mails) == 2
    assert {m.mail_from for m in mails} == {"desk@support.example"}
    assert {tuple(m.rcpt_tos) for m in mails} == {("oncall@support.example",)}
    subjects = sorted(
        line
        for m in mails
        for line in m.content.decode().splitlines()
        if line.startswith("Subject:")
    )
    assert subjects == [
        "Subject: Needs attention: Bluebird Bakery: Connection failing its test",
        "Subject: Needs attention: Cedar Studio: Mail paused",
    ]
    payloads = [verify(r) for r in webhook.received]
    assert len(payloads) == 2
    assert all(
        p["event"] == "opened" and p["text"].startswith("*Needs attention") for p in payloads
    )

    # Every later run sees the same troubles: nothing is sent again.
    again = desk(NOW + timedelta(hours=1), cafile=cafile)
    assert (again.opened, again.queued, again.sent, again.still_active) == (0, 0, 0, 2)
    assert len(mails) == 2
    assert len(webhook.received) == 2

    # The bakery's trouble ends: one resolve notice a channel, once.
    bakery, _ = desk.accounts  # type: ignore[attr-defined]
    put(store, bakery.id, bakery.name)
    ended = desk(NOW + timedelta(hours=2), cafile=cafile)
    assert (ended.resolved, ended.sent, ended.still_active) == (1, 2, 1)
    assert (
        verify(webhook.received[-1])["subject"]
        == "Resolved: Bluebird Bakery: Connection failing its test"
    )
    assert desk(NOW + timedelta(hours=3), cafile=cafile).sent == 0
    assert len(mails) == 3

    history = store.alerts.history()
    assert [(h.account_name, h.active) for h in history] == [
        ("Cedar Studio", True),
        ("Bluebird Bakery", False),
    ]
    resolved = history[1]
    assert resolved.first_seen == NOW
    assert resolved.last_seen == NOW + timedelta(hours=1)
    assert resolved.resolved_at == NOW + timedelta(hours=2)
    assert sorted((d.channel, d.event, d.status) for d in resolved.deliveries) == [
        ("email", "opened", "sent"),
        ("email", "resolved", "sent"),
        ("webhook", "opened", "sent"),
        ("webhook", "resolved", "sent"),
    ]


def test_smtp_down_is_retried_with_backoff_not_lost_not_doubled(
    store: Store,
    desk: Callable[..., Any],
    smtp: tuple[SmtpServer, TcpProxy],
    cafile: str,
) -> None:
    server, proxy = smtp
    store.alerts.save_email_channel(smtp_settings(proxy), ["oncall@support.example"])
    proxy.cut()
    down = desk(cafile=cafile)
    assert (down.opened, down.sent, down.retrying) == (2, 0, 2)
    assert "could not" in down.errors[0] or "did not take" in down.errors[0]
    # Not due yet (the first retry waits a minute): nothing is tried.
    assert desk(NOW + timedelta(seconds=30), cafile=cafile).retrying == 0
    assert proxy.accepted == 0
    # Back up: each notice goes out once, at the next run after its wait.
    proxy.restore()
    up = desk(NOW + timedelta(minutes=1), cafile=cafile)
    assert (up.sent, up.retrying, up.failed) == (2, 0, 0)
    assert len(server.behaviour.received) == 2
    assert desk(NOW + timedelta(hours=1), cafile=cafile).sent == 0
    assert len(server.behaviour.received) == 2
    delivery = store.alerts.history()[0].deliveries[0]
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("sent", 2, None)


def test_a_server_that_stays_down_is_shown_as_failed_after_the_last_attempt(
    store: Store,
    desk: Callable[..., Any],
    smtp: tuple[SmtpServer, TcpProxy],
    cafile: str,
) -> None:
    _, proxy = smtp
    store.alerts.save_email_channel(smtp_settings(proxy), ["oncall@support.example"])
    proxy.cut()
    at = NOW
    waits = []
    for attempt in range(1, MAX_ATTEMPTS + 1):
        done = desk(at, cafile=cafile)
        delivery = store.alerts.history()[0].deliveries[0]
        assert delivery.attempts == attempt
        if attempt < MAX_ATTEMPTS:
            assert (done.retrying, delivery.status) == (2, "pending")
            wait = timedelta(minutes=2 ** (attempt - 1))
            waits.append(wait)
            at += wait
    assert waits == [timedelta(minutes=m) for m in (1, 2, 4, 8)]
    assert (done.failed, delivery.status) == (2, "failed")
    assert delivery.last_error
    assert SMTP_PASSWORD not in delivery.last_error
    # Failed stays failed: later runs do not try it again.
    assert desk(at + timedelta(days=1), cafile=cafile).failed == 0


def test_a_refused_login_never_shows_the_password(
    store: Store, desk: Callable[..., Any], smtp: tuple[SmtpServer, TcpProxy], cafile: str
) -> None:
    _, proxy = smtp
    store.alerts.save_email_channel(smtp_settings(proxy, "wrong-password-9999"), ["a@b.example"])
    done = desk(cafile=cafile)
    assert done.retrying == 2
    assert "wrong-password-9999" not in " ".join(done.errors)
    assert "wrong-password-9999" not in repr(store.alerts.history())


def test_the_daily_digest_once_a_day(
    store: Store, desk: Callable[..., Any], webhook: WebhookReceiver
) -> None:
    store.alerts.save_webhook_channel(webhook.url, hmac_secret=HMAC_KEY, digest=True)
    desk()
    digests = [verify(r) for r in webhook.received if verify(r)["event"] == "digest"]
    assert len(digests) == 1
    assert digests[0]["subject"] == "Daily digest 2026-12-07: 2 account problems open"
    assert "Cedar Studio: Mail paused" in digests[0]["body"]
    desk(NOW + timedelta(hours=5))
    desk(NOW + timedelta(days=1))
    events = [json.loads(r.body)["event"] for r in webhook.received]
    assert events.count("digest") == 2


def test_a_switched_off_rule_resolves_quietly_and_new_thresholds_refresh_the_queue(
    store: Store, desk: Callable[..., Any], webhook: WebhookReceiver
) -> None:
    store.alerts.save_webhook_channel(webhook.url)
    desk()
    assert len(webhook.received) == 2
    assert "x-desk-signature" not in webhook.received[0].headers  # no key: not signed
    store.alerts.set_rule("nano_paused", enabled=False)
    done = desk(NOW + timedelta(hours=1))
    assert (done.resolved, done.sent) == (1, 0)
    assert store.queue.to_refresh() == []
    store.alerts.set_rule("no_reports", thresholds={"days": 3})
    assert len(store.queue.to_refresh()) == 2
    assert store.alerts.rules()[TroubleKind.NO_REPORTS].threshold("days") == 3
    assert (
        store.audit_log(limit=1)[0].summary
        == "Set the alert rule “No DMARC reports” on, thresholds days 3."
    )


def test_roles_and_secrets(
    store: Store, smtp: tuple[SmtpServer, TcpProxy], webhook: WebhookReceiver
) -> None:
    _, proxy = smtp
    store.alerts.save_email_channel(smtp_settings(proxy), ["oncall@support.example"])
    store.alerts.save_webhook_channel(webhook.url, hmac_secret=HMAC_KEY)
    support = store.as_user(Principal("sam", Role.SUPPORT))
    analyst = store.as_user(Principal("ana", Role.ANALYST))
    for user in (support, analyst):
        with pytest.raises(PermissionDenied):
            user.alerts.set_rule("no_reports", thresholds={"days": 1})
        with pytest.raises(PermissionDenied):
            user.alerts.save_webhook_channel("https://hooks.example/x")
        with pytest.raises(PermissionDenied):
            user.alerts.run()
        assert user.alerts.history() == []
        assert TroubleKind.NO_REPORTS in user.alerts.rules()
    with pytest.raises(PermissionDenied):
        analyst.alerts.channels()
    shown = repr(support.alerts.channels())
    for secret in (SMTP_PASSWORD, HMAC_KEY, "secretpart"):
        assert secret not in shown
    assert "http://127.0.0.1/…" in shown
    entries = repr(store.audit_log(limit=5))
    for secret in (SMTP_PASSWORD, HMAC_KEY, "secretpart"):
        assert secret not in entries


def test_bad_channel_settings_are_refused_in_plain_words(store: Store) -> None:
    from admin import AdminInputError

    with pytest.raises(AdminInputError, match="http:// or https://"):
        store.alerts.save_webhook_channel("file:///etc/passwd")
    with pytest.raises(AdminInputError, match="not an e-mail address"):
        store.alerts.save_email_channel(
            SmtpSettings("localhost", 25, Security.NONE, from_address="a@b.example", password="x"),
            ["nobody"],
        )
    with pytest.raises(AdminInputError, match="no threshold"):
        store.alerts.set_rule("nano_paused", thresholds={"days": 3})
    with pytest.raises(AdminInputError, match="from 0 up"):
        store.alerts.set_rule("no_reports", thresholds={"days": -1})
    with pytest.raises(AdminInputError, match="Unknown kind"):
        store.alerts.set_rule("everything")


def test_a_key_rotation_moves_the_alert_secrets(
    store: Store, webhook: WebhookReceiver, tmp_path: Path
) -> None:
    from admin import generate_key

    store.alerts.save_webhook_channel(webhook.url, hmac_secret=HMAC_KEY)
    old = (tmp_path / "keys" / "secret.key").read_text().strip()
    new = generate_key()
    done = store.rotate_key(old, new)
    assert done.reencrypted == 1


def test_a_flood_goes_out_in_grouped_messages_each_notice_marked(
    store: Store, webhook: WebhookReceiver
) -> None:
    store.alerts.save_webhook_channel(webhook.url, hmac_secret=HMAC_KEY)
    for n in range(12):
        account = store.create_account(f"Flood {n:02d}", "pro")
        put(store, account.id, account.name, FAILING)
    done = store.alerts.run(now=NOW)
    assert (done.opened, done.sent) == (12, 12)
    [message] = [verify(r) for r in webhook.received]
    assert message["event"] == "batch"
    assert message["subject"] == "Alerts: 12 new problems"
    assert message["body"].count("== Needs attention: Flood") == 12
    assert {d.status for h in store.alerts.history() for d in h.deliveries} == {"sent"}
    assert store.alerts.run(now=NOW + timedelta(hours=1)).sent == 0
    assert len(webhook.received) == 1
