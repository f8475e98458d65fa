"""`python -m admin intake show|check` on the desk's own database (the configuration's), against
the suite's real Dovecot: the settings shown without the password, one check now recorded like the
page's, its exit code saying whether every message was a report, and a refused login a stopped run."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from admin import AuditAction, Store
from diagnostics.config import DeskConfig
from diagnostics.dmarc import ReportStore
from diagnostics.intake import MailboxSettings
from diagnostics.secret import Secret
from tests.support.dovecot import Dovecot
from tests.support.reportmail import gzipped_report, plain_message, report_message


def _save(store: Store, dovecot: Dovecot, user: str, password: str) -> None:
    store.intake.save_mailbox(
        MailboxSettings.from_address(
            f"127.0.0.1:{dovecot.port}",
            username=user,
            password=Secret(password),
            cafile=str(dovecot.ca_file),
        )
    )


def test_show_says_nothing_is_set_up(
    database: Store, cli: Callable[..., int], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli(["intake", "show"]) == 0
    out = capsys.readouterr().out
    assert "No report mailbox is set up" in out
    assert "Not checked yet." in out


def test_check_now_then_show(
    database: Store,
    cli: Callable[..., int],
    config: DeskConfig,
    dovecot: Dovecot,
    capsys: pytest.CaptureFixture[str],
) -> None:
    user, password = dovecot.add_user()
    dovecot.append(
        user, [report_message([gzipped_report(n)]) for n in (81, 82)] + [plain_message()]
    )
    _save(database, dovecot, user, password)
    assert cli(["intake", "check"]) == 1  # one message was not a report
    out = capsys.readouterr().out
    assert "“Lunch on Friday?”: not stored: " in out
    assert "3 messages: 2 reports stored (2 records)" in out
    reports = ReportStore.from_config(config)
    try:
        assert len(reports.reports()) == 2
    finally:
        reports.close()
    checked = database.audit_log(limit=1)[0]
    assert checked.action is AuditAction.INTAKE_CHECKED
    assert checked.actor.startswith("cli")

    assert cli(["intake", "show", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["mailbox"]["username"] == user
    assert shown["mailbox"]["password"].startswith("set, ends in")
    assert password not in json.dumps(shown)
    assert shown["last_run"]["counts"]["archived"] == 2
    assert cli(["intake", "check", "--json"]) == 0  # nothing left: every message (none) a report
    assert json.loads(capsys.readouterr().out)["counts"]["messages"] == 0


def test_a_refused_password_is_a_stopped_run(
    database: Store, cli: Callable[..., int], dovecot: Dovecot, capsys: pytest.CaptureFixture[str]
) -> None:
    user, _ = dovecot.add_user()
    _save(database, dovecot, user, "wrong-password-9931")
    assert cli(["intake", "check"]) == 2
    captured = capsys.readouterr()
    assert "refused the user name or password" in captured.out
    assert "wrong-password-9931" not in captured.out + captured.err
    assert database.intake.last_run().ok is False  # type: ignore[union-attr]
