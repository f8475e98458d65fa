"""Probe history: every SMTP test kept (account, connection, when, outcome, duration, transcript),
with the password taken out of whatever the transcript and result hold."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum

import pytest

from admin import Store
from diagnostics.smtp.probe import probe
from diagnostics.smtp.settings import Security, SmtpSettings
from tests.admin.settings_samples import SENDGRID_KEY, sendgrid, ses
from tests.support.smtpserver import Behaviour, SmtpServer


def _forms(username: str, password: str) -> list[str]:
    return [
        password,
        base64.b64encode(password.encode()).decode(),
        base64.b64encode(f"\0{username}\0{password}".encode()).decode(),
    ]


def test_a_recorded_probe_keeps_outcome_timing_and_a_redacted_transcript(store: Store) -> None:
    account = store.create_account("Bluebird Bakery", "nano")
    conn = store.add_connection(account.id, sendgrid(), label="SendGrid")
    plain, login, auth_plain = _forms("apikey", SENDGRID_KEY)
    result = {
        "ok": False,
        "stage": "auth",
        "symptom": "auth_failed",
        "duration": 1.25,
        "hints": ["sendgrid_username_not_apikey"],
        "explanation": f"The server refused {plain}",
        "transcript": [
            "<-  220 smtp.sendgrid.net ESMTP",
            f" -> AUTH PLAIN {auth_plain}",
            f" -> {login}",
            "<** 535 Authentication failed",
        ],
    }
    record = store.record_probe(account.id, conn.id, result, actor="alice@desk")
    assert (record.outcome, record.ok, record.stage, record.duration) == (
        "auth_failed",
        False,
        "auth",
        1.25,
    )
    assert (record.account_id, record.connection_id, record.connection_label) == (
        account.id,
        conn.id,
        "SendGrid",
    )
    assert record.actor == "alice@desk"
    assert record.at.tzinfo is UTC
    assert "535 Authentication failed" in record.transcript
    assert record.transcript.count("[redacted]") == 2
    assert record.result["hints"] == ["sendgrid_username_not_apikey"]
    assert "transcript" not in record.result  # kept once, in its own column
    stored = json.dumps(record.result) + record.transcript
    for form in _forms("apikey", SENDGRID_KEY):
        assert form not in stored
    assert store.probe_history(account.id) == [record]


def test_history_is_newest_first_and_filters_by_connection(store: Store) -> None:
    account = store.create_account("Harbor & Pine", "agency")
    one = store.add_connection(account.id, ses(), label="SES")
    two = store.add_connection(account.id, sendgrid(), label="SendGrid")
    other = store.create_account("Other", "pro")
    outcomes = ["connection_refused", "tls_on_plain_port", "ok"]
    for outcome in outcomes:
        store.record_probe(
            account.id,
            one.id,
            {"ok": outcome == "ok", "symptom": None if outcome == "ok" else outcome},
        )
    store.record_probe(account.id, two.id, {"ok": True})
    store.record_probe(other.id, None, {"ok": False, "symptom": "dns_failure"})

    history = store.probe_history(account.id)
    assert [p.outcome for p in history] == ["ok", "ok", "tls_on_plain_port", "connection_refused"]
    assert [p.connection_label for p in history] == ["SendGrid", "SES", "SES", "SES"]
    assert [p.outcome for p in store.probe_history(connection_id=one.id, limit=2)] == [
        "ok",
        "tls_on_plain_port",
    ]
    assert [p.outcome for p in store.probe_history(other.id)] == ["dns_failure"]
    assert store.probe_history(other.id)[0].connection_label == "unsaved settings"
    assert len(store.probe_history()) == 5
    # History outlives the connection it tested.
    store.delete_connection(two.id)
    assert store.probe_history(connection_id=two.id)[0].connection_label == "SendGrid"


class _Stage(Enum):
    DATA = "data"


@dataclass(frozen=True)
class _Result:
    ok: bool
    stage: _Stage
    symptom: str | None
    duration: float
    transcript: tuple[str, ...]
    when: datetime


def test_unsaved_settings_and_dataclass_results_are_recorded_safely(store: Store) -> None:
    account = store.create_account("Bluebird Bakery", "nano")
    settings = SmtpSettings(
        "smtp.example.net", 587, Security.STARTTLS, "u@example.net", "not-yet-saved-pass-42"
    )
    result = _Result(
        ok=False,
        stage=_Stage.DATA,
        symptom="message_rejected",
        duration=0.5,
        transcript=(" -> AUTH LOGIN", f" -> {base64.b64encode(b'not-yet-saved-pass-42').decode()}"),
        when=datetime(2026, 11, 24, 9, 0, tzinfo=UTC),
    )
    record = store.record_probe(account.id, None, result, settings=settings)
    assert (record.outcome, record.stage, record.connection_id) == (
        "message_rejected",
        "data",
        None,
    )
    assert record.result["when"] == "2026-11-24T09:00:00+00:00"
    for form in _forms("u@example.net", "not-yet-saved-pass-42"):
        assert form not in record.transcript
    assert "[redacted]" in record.transcript


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer(
        Behaviour(users={"desk": "the-right-password-9"}), auth_require_tls=False
    ).start()
    yield server
    server.stop()


def test_a_real_probe_of_a_saved_connection_is_recorded(
    store: Store, smtp_server: SmtpServer
) -> None:
    account = store.create_account("Loopback Ltd", "pro")
    wrong = SmtpSettings(
        "127.0.0.1",
        smtp_server.port,
        Security.NONE,
        "desk",
        "a-wrong-password-77",
        "desk@loop.example",
    )
    conn = store.add_connection(account.id, wrong, label="loopback")
    result = probe(store.connection_settings(conn.id), timeout=5.0)
    record = store.record_probe(account.id, conn.id, result)
    assert (record.ok, record.outcome, record.stage) == (False, "auth_failed", "auth")
    assert record.duration is not None
    assert 0 < record.duration < 5
    assert "535" in record.transcript
    assert "a-wrong-password-77" not in record.transcript + json.dumps(record.result)

    store.update_connection(conn.id, wrong.with_changes(password="the-right-password-9"))
    fixed = store.record_probe(
        account.id, conn.id, probe(store.connection_settings(conn.id), timeout=5.0)
    )
    assert (fixed.ok, fixed.outcome) == (True, "ok")
    assert [p.outcome for p in store.probe_history(account.id)] == ["ok", "auth_failed"]
