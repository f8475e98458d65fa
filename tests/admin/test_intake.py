"""The report mailbox in the admin store: settings saved per desk with the password encrypted and
never shown back, who may do what, "check now" against a real Dovecot, and each run's counts and
errors kept."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import URL

from admin import AuditAction, NotFound, PermissionDenied, Principal, Role, Store
from admin.database import make_engine, resolve_url
from admin.secrets import generate_key
from diagnostics.dmarc import ReportStore
from diagnostics.intake import MailboxSettings
from diagnostics.secret import Secret
from tests.support.dovecot import Dovecot
from tests.support.reportmail import gzipped_report, plain_message, report_message

PASSWORD = "mailbox-pass-7f3a9c2e"
SUPPORT = Principal("sam", Role.SUPPORT)
ANALYST = Principal("ana", Role.ANALYST)


def _settings(password: str = PASSWORD, **kwargs: object) -> MailboxSettings:
    return MailboxSettings.from_address(
        "imap.example.org", username="dmarc@example.org", password=Secret(password), **kwargs
    )


def _raw_column(db_url: URL) -> str:
    engine = make_engine(resolve_url(db_url))
    try:
        with engine.connect() as connection:
            return str(
                connection.execute(text("SELECT password_encrypted FROM intake_mailbox")).scalar()
            )
    finally:
        engine.dispose()


def test_the_mailbox_is_saved_encrypted_and_shown_with_a_hint_only(
    store: Store, db_url: URL
) -> None:
    assert store.intake.mailbox() is None
    saved = store.intake.save_mailbox(_settings(), actor="alice")
    assert saved.password_hint == "set, ends in …9c2e"
    assert PASSWORD not in repr(saved)
    assert PASSWORD not in str(saved.public_dict())
    assert store.intake.mailbox() == saved
    raw = _raw_column(db_url)
    assert raw.startswith("fernet:")
    assert PASSWORD not in raw
    # The settings for the IMAP client carry it, as a Secret.
    assert store.intake.settings().password.reveal() == PASSWORD
    assert PASSWORD not in repr(store.intake.settings())
    [entry] = store.audit_log()
    assert entry.action is AuditAction.INTAKE_CHANGED
    assert entry.actor == "alice"
    assert PASSWORD not in f"{entry.summary} {entry.before} {entry.after}"
    assert entry.after is not None
    assert entry.after["password_changed"] is True


def test_an_empty_password_keeps_the_saved_one_and_changes_are_audited(store: Store) -> None:
    store.intake.save_mailbox(_settings())
    store.intake.save_mailbox(_settings(password="", folder="DMARC"))
    assert store.intake.settings().password.reveal() == PASSWORD
    assert store.intake.mailbox().folder == "DMARC"  # type: ignore[union-attr]
    latest = store.audit_log()[0]
    assert latest.summary == "Changed folder of the report mailbox."
    assert latest.after is not None
    assert latest.after["password_changed"] is False
    # Saving the same settings again changes nothing and logs nothing.
    store.intake.save_mailbox(_settings(password="", folder="DMARC"))
    assert len(store.audit_log()) == 2


def test_a_new_mailbox_needs_a_password(store: Store) -> None:
    with pytest.raises(ValueError, match="needs a password"):
        store.intake.save_mailbox(_settings(password=""))


def test_a_private_ca_is_kept_as_text(store: Store, tmp_path: Path) -> None:
    pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
    (tmp_path / "ca.pem").write_text(pem)
    saved = store.intake.save_mailbox(_settings(cafile=str(tmp_path / "ca.pem")))
    assert saved.private_ca
    assert store.intake.settings().cadata == pem
    assert store.intake.private_ca() == store.as_user(SUPPORT).intake.private_ca() == pem
    with pytest.raises(ValueError, match="PEM"):
        store.intake.save_mailbox(_settings(cadata="not a certificate"))


def test_admins_edit_support_checks_analysts_see_the_runs_only(store: Store) -> None:
    store.intake.save_mailbox(_settings())
    support = store.as_user(SUPPORT).intake
    assert support.mailbox() is not None
    with pytest.raises(PermissionDenied, match="may not set up the mailbox"):
        support.save_mailbox(_settings(password="other-password-123"))
    analyst = store.as_user(ANALYST).intake
    for call in (
        analyst.mailbox,
        analyst.settings,
        analyst.private_ca,
        lambda: analyst.check_now(None),  # type: ignore[arg-type]
        lambda: analyst.save_mailbox(_settings()),
    ):
        with pytest.raises(PermissionDenied):
            call()
    # Counts and errors, not where the mailbox is: an analyst reads what the runs brought in.
    store.intake.record_run([], error="The IMAP server went away.", started_at=datetime.now(UTC))
    [run] = analyst.runs()
    assert analyst.last_run() == run
    assert run.error == "The IMAP server went away."
    assert store.intake.settings().password.reveal() == PASSWORD


def test_check_now_with_nothing_set_up_says_so(store: Store, tmp_path: Path) -> None:
    reports = ReportStore(f"sqlite:///{tmp_path / 'r.sqlite'}")
    try:
        with pytest.raises(NotFound, match="No report mailbox is set up"):
            store.as_user(SUPPORT).intake.check_now(reports)
    finally:
        reports.close()


@pytest.fixture
def reports(db_url: URL) -> Iterator[ReportStore]:
    """The report store in the same database as the admin store, as the app runs them."""
    opened = ReportStore(db_url)
    yield opened
    opened.close()


def _on(dovecot: Dovecot, user: str, password: str) -> MailboxSettings:
    return MailboxSettings.from_address(
        f"127.0.0.1:{dovecot.port}",
        username=user,
        password=Secret(password),
        cafile=str(dovecot.ca_file),
    )


def test_support_checks_now_and_the_run_is_kept_with_its_counts(
    store: Store, reports: ReportStore, dovecot: Dovecot
) -> None:
    user, password = dovecot.add_user()
    dovecot.append(user, [report_message([gzipped_report(n)]) for n in (1, 2)] + [plain_message()])
    store.intake.save_mailbox(_on(dovecot, user, password))
    run = store.as_user(SUPPORT).intake.check_now(reports)
    assert run.ok
    assert run.error is None
    assert run.actor == "sam"
    assert run.counts == {
        "messages": 3,
        "archived": 2,
        "invalid": 1,
        "left": 0,
        "reports": 2,
        "duplicates": 0,
        "records": 2,
        "rejected_parts": 1,  # the one part of the message that is not a report
    }
    [problem] = run.problems
    assert "“Lunch on Friday?”: not stored: " in problem
    assert store.intake.last_run() == run
    assert len(reports.reports()) == 2
    checked = store.audit_log()[0]
    assert checked.action is AuditAction.INTAKE_CHECKED
    assert checked.actor == "sam"
    assert checked.summary.startswith("Checked the report mailbox: 3 messages: 2 reports stored")


def test_a_refused_password_is_the_runs_error_not_an_exception(
    store: Store, reports: ReportStore, dovecot: Dovecot
) -> None:
    user, _ = dovecot.add_user()
    store.intake.save_mailbox(_on(dovecot, user, "wrong-password-0042"))
    run = store.intake.check_now(reports)
    assert not run.ok
    assert run.error is not None
    assert "refused the user name or password" in run.error
    assert "wrong-password-0042" not in run.error
    assert run.summary.endswith(f"Stopped: {run.error}")
    assert store.intake.last_run() == run


def test_runs_are_newest_first_and_bounded(
    make_store: Callable[..., Store], monkeypatch: pytest.MonkeyPatch
) -> None:
    import admin.intake

    monkeypatch.setattr(admin.intake, "MAX_RUNS", 3)
    store = make_store()
    started = datetime(2026, 12, 1, tzinfo=UTC)
    for n in range(5):
        store.intake.record_run([], error=f"run {n}", started_at=started)
    assert [r.error for r in store.intake.runs(limit=3)] == ["run 4", "run 3", "run 2"]
    assert len(store.intake.runs(limit=3)) == 3


def test_a_key_rotation_moves_the_mailbox_password_too(
    make_store: Callable[..., Store], tmp_path: Path
) -> None:
    old, new = generate_key(), generate_key()
    first = make_store(secret_key=old)
    first.intake.save_mailbox(_settings())
    rotation = first.rotate_key(old, new)
    assert rotation.reencrypted == 1
    again = make_store(secret_key=new, key_file=tmp_path / "other.key")
    assert again.intake.settings().password.reveal() == PASSWORD
