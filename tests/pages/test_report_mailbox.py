"""The DMARC reports page's "Reports by mail" section against the suite's real Dovecot: an admin sets
the mailbox up (the password stored encrypted, never shown back), checks it now and sees the run;
support staff check it but cannot edit; an analyst sees the counts only (admin.intake refuses the
rest, whatever the page shows)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

import admin
from diagnostics.config import DeskConfig
from diagnostics.dmarc import ReportStore
from diagnostics.intake import MailboxSettings
from diagnostics.secret import Secret
from tests.pages.conftest import Configure
from tests.pages.test_auth import LOCAL, add, open_app, session_values, sign_in, store
from tests.pages.untrusted import _nodes, rendered
from tests.support.dovecot import Dovecot
from tests.support.reportmail import gzipped_report, plain_message, report_message

__all__ = ["store"]  # the fixture, shared with test_auth

IMAP_PASSWORD = "imap-secret-5b1d7e"


def _page(at: AppTest) -> AppTest:
    at.switch_page("pages/dmarc_reports.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _text(at: AppTest) -> str:
    """Every string of every element of the run (labels, bodies, code, values), as rendered."""
    found = []
    for node in _nodes(at._tree):
        proto = getattr(node, "proto", None)
        for _, value in proto.ListFields() if proto is not None else ():
            if isinstance(value, str):
                found.append(rendered(value))
    return "\n".join(found)


def _field(at: AppTest, label: str) -> Any:
    found = [w for w in [*at.text_input, *at.number_input, *at.text_area] if w.label == label]
    assert len(found) == 1, label
    return found[0]


def _button(at: AppTest, label: str) -> Any:
    return next(b for b in [*at.button, *at.get("form_submit_button")] if b.label == label)


def _fill(at: AppTest, dovecot: Dovecot, user: str, password: str) -> None:
    _field(at, "IMAP server").input("127.0.0.1")
    _field(at, "Port").set_value(dovecot.port)
    _field(at, "User name").input(user)
    _field(at, "Password").input(password)
    _field(at, "Private CA (PEM), only if the server's certificate is signed by one").input(
        dovecot.ca_file.read_text()
    )


def _saved(dovecot: Dovecot, user: str, password: str) -> MailboxSettings:
    return MailboxSettings.from_address(
        f"127.0.0.1:{dovecot.port}",
        username=user,
        password=Secret(password),
        cadata=dovecot.ca_file.read_text(),
    )


def test_an_admin_sets_the_mailbox_up_and_checks_it_now(
    store: admin.Store, configure: Configure, dovecot: Dovecot
) -> None:
    config: DeskConfig = configure()
    user, password = dovecot.add_user()
    dovecot.append(user, [report_message([gzipped_report(n)]) for n in (1, 2)] + [plain_message()])
    at = _page(open_app())
    assert "No report mailbox is set up. Set it up below." in _text(at)
    assert not [b for b in at.button if b.label == "Check now"]

    _fill(at, dovecot, user, password)
    _button(at, "Save the mailbox").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert "The report mailbox is saved." in [s.value for s in at.success]
    saved = store.intake.settings()
    assert (saved.host, saved.port, saved.username) == ("127.0.0.1", dovecot.port, user)
    assert saved.password.reveal() == password
    # Never shown back: only whether one is saved, and the field is empty again.
    assert password not in _text(at)
    assert password not in session_values(at)
    assert _field(at, "Replace the password").value == ""
    assert "Password saved: set, ends in" in _text(at)

    _button(at, "Check now").click().run()
    assert not at.exception, [e.value for e in at.exception]
    shown = _text(at)
    assert "3 messages: 2 reports stored (2 records)" in shown
    assert "Lunch on Friday?" in shown  # the message that was not a report, named
    assert dovecot.count(user, "Archive") == 2
    assert dovecot.count(user, "Invalid") == 1
    reports = ReportStore.from_config(config)
    try:
        assert len(reports.reports()) == 2
    finally:
        reports.close()
    run = store.intake.last_run()
    assert run is not None
    assert run.actor == "local admin"


def test_a_bad_form_says_why_and_keeps_what_was_typed(
    store: admin.Store, configure: Configure, dovecot: Dovecot
) -> None:
    user, password = dovecot.add_user()
    at = _page(open_app())
    _fill(at, dovecot, user, password)
    _field(at, "Archive folder").input("INBOX")
    _button(at, "Save the mailbox").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("three different folders" in rendered(e.value) for e in at.error)
    assert store.intake.mailbox() is None
    assert _field(at, "User name").value == user


def test_a_wrong_password_is_the_runs_error_in_plain_words(
    store: admin.Store, configure: Configure, dovecot: Dovecot
) -> None:
    user, _ = dovecot.add_user()
    store.intake.save_mailbox(_saved(dovecot, user, IMAP_PASSWORD))
    at = _page(open_app())
    _button(at, "Check now").click().run()
    assert not at.exception, [e.value for e in at.exception]
    errors = " ".join(rendered(e.value) for e in at.error)
    assert "It stopped:" in errors
    assert "refused the user name or password" in errors
    assert IMAP_PASSWORD not in _text(at)


@pytest.mark.parametrize(
    ("role", "checks", "edits"),
    [("support", True, False), ("analyst", False, False)],
)
def test_what_each_role_sees(
    store: admin.Store,
    configure: Configure,
    dovecot: Dovecot,
    role: str,
    checks: bool,
    edits: bool,
) -> None:
    configure(auth=LOCAL)
    user, password = dovecot.add_user()
    dovecot.append(user, [report_message([gzipped_report(7)])])
    store.intake.save_mailbox(_saved(dovecot, user, password))
    store.intake.record_run([], error="The IMAP server went away.", started_at=datetime.now(UTC))
    add(store, "rory", role)
    at = _page(sign_in(open_app(), "rory"))
    shown = _text(at)
    assert "It stopped:" in shown
    assert "The IMAP server went away." in shown
    assert bool([b for b in at.button if b.label == "Check now"]) is checks
    assert bool(at.get("form_submit_button")) is edits
    assert (user in shown) is checks  # where the mailbox is: not an analyst's to see
    if checks:
        _button(at, "Check now").click().run()
        assert "1 message: 1 report stored" in _text(at)
        assert store.intake.last_run().actor == "rory"  # type: ignore[union-attr]
    else:
        assert "Your role sees what the mailbox brought in" in shown
