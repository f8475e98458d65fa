"""The mailbox the desk takes DMARC reports from: its settings, kept per desk, and its runs.

    intake = store.intake                         # bound to the store's principal (Store.as_user)
    intake.save_mailbox(MailboxSettings.from_address("imap.example.com", username=..., password=...))
    intake.mailbox()                              # IntakeMailbox: the password as a hint only
    run = intake.check_now(report_store)          # one pass now (diagnostics.intake), recorded
    intake.last_run()                             # its counts and what went wrong

Who may do what (admin.access): admins set the mailbox up (Permission.EDIT_INTAKE); support staff
and admins see it and check it now (Permission.UPLOAD_REPORTS, since a check imports reports, as an
upload does); analysts, who read reports (Permission.VIEW_REPORTS), see the runs' counts and errors
only: not where the mailbox is. The password is encrypted like SMTP passwords (admin.secrets, and
moved by a key rotation with them); it leaves this module only inside the MailboxSettings handed to
the IMAP client, never in a value a page shows, an audit entry or a run's errors (a server's reply
that quotes it is scrubbed).

Every saved change and every check-now adds one audit entry; every run, by whoever ran it, is kept
with its counts, the error that stopped it (if any) and the messages that were not reports, newest
first, the last MAX_RUNS of them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from admin._transactions import Transactions
from admin.access import Actor, Permission, Principal, resolve
from admin.errors import AdminInputError, NotFound, SecretKeyError
from admin.models import IntakeMailboxRow, IntakeRunRow
from admin.records import AuditAction
from admin.secrets import SecretBox
from diagnostics.dmarc import ReportStore
from diagnostics.errors import DiagnosticsError
from diagnostics.intake import (
    ImapSecurity,
    MailboxSettings,
    MessageOutcome,
    RunCounts,
    check_mailbox,
)
from diagnostics.intake.triage import Disposition
from diagnostics.redaction import Scrubber
from diagnostics.secret import Secret
from diagnostics.wording import plural

__all__ = ["MAX_RUNS", "IntakeMailbox", "IntakeRun", "ReportIntake"]

log = logging.getLogger(__name__)

MAILBOX_ID = 1  # one mailbox per desk
MAX_RUNS = 200
# A run keeps the lines of at most this many messages that were not (wholly) reports.
_MAX_PROBLEMS = 50


@dataclass(frozen=True, slots=True)
class IntakeMailbox:
    """The desk's report mailbox as a page may show it: the password as a hint only."""

    host: str
    port: int
    security: ImapSecurity
    username: str
    password_hint: str  # "not set", "set", or "set, ends in …1234"
    folder: str
    archive: str
    invalid: str
    private_ca: bool
    max_message_bytes: int
    enabled: bool
    updated_at: datetime

    def public_dict(self) -> dict[str, Any]:
        return {
            "host": self.host,
            "port": self.port,
            "security": self.security.value,
            "username": self.username,
            "password": self.password_hint,
            "folder": self.folder,
            "archive": self.archive,
            "invalid": self.invalid,
            "private_ca": self.private_ca,
            "max_message_bytes": self.max_message_bytes,
            "enabled": self.enabled,
        }


@dataclass(frozen=True, slots=True)
class IntakeRun:
    """One pass over the mailbox: `counts` as RunCounts.as_dict(), `error` what stopped it (None
    when it went through), `problems` a line for each message or part that was not a report."""

    id: int
    started_at: datetime
    finished_at: datetime
    actor: str
    ok: bool
    counts: dict[str, int]
    error: str | None
    problems: tuple[str, ...]

    @property
    def summary(self) -> str:
        """One sentence for a page or the command line."""
        counts = RunCounts(**self.counts)
        text = counts.line
        if self.error:
            text += f". Stopped: {self.error}"
        return text


class ReportIntake:
    """The report mailbox's settings and runs, over the store's engines. Made by `Store.intake`."""

    def __init__(
        self,
        tx: Transactions,
        *,
        box: SecretBox,
        require_key: Callable[[Session], None],
        bound: Principal | None,
    ) -> None:
        self._tx = tx
        self._box = box
        self._require_key = require_key
        self._bound = bound

    # -- settings ----------------------------------------------------------------------------------

    def mailbox(self, *, actor: Actor = "system") -> IntakeMailbox | None:
        """The desk's report mailbox, or None when none is set up."""
        self._allow(actor, Permission.UPLOAD_REPORTS)
        with self._tx.read() as s:
            row = s.get(IntakeMailboxRow, MAILBOX_ID)
            return _mailbox_value(row) if row is not None else None

    def save_mailbox(
        self,
        settings: MailboxSettings,
        *,
        enabled: bool = True,
        keep_password_if_empty: bool = True,
        actor: Actor = "system",
    ) -> IntakeMailbox:
        """Set up, or change, the report mailbox. An empty password keeps the saved one (a form
        whose password field was left blank). `settings.cadata` is the private CA to trust (PEM
        text; a `cafile` is read into it here, since the desk's processes may not share files)."""
        who = self._allow(actor, Permission.EDIT_INTAKE)
        if not isinstance(settings, MailboxSettings):
            raise AdminInputError("save_mailbox() takes diagnostics.intake.MailboxSettings.")
        ca_pem = _ca_text(settings)
        for attempt in (1, 2):
            try:
                return self._save(settings, ca_pem, enabled, keep_password_if_empty, who.name)
            except IntegrityError:
                if attempt == 2:  # saved by someone else at the same moment, twice over
                    raise AdminInputError(
                        "The report mailbox was changed at the same moment; save it again."
                    ) from None
        raise AssertionError("unreachable")

    def _save(
        self,
        settings: MailboxSettings,
        ca_pem: str | None,
        enabled: bool,
        keep_password: bool,
        who: str,
    ) -> IntakeMailbox:
        with self._tx.write() as s:
            row = s.get(IntakeMailboxRow, MAILBOX_ID, with_for_update=True, populate_existing=True)
            before = _mailbox_value(row).public_dict() if row is not None else None
            password_changed = False
            now = self._tx.now()
            new_password = bool(settings.password) or not keep_password
            if new_password:
                self._require_key(s)  # before the new row exists: this query flushes
            if row is None:
                if not settings.password:
                    raise AdminInputError("The report mailbox needs a password.")
                row = IntakeMailboxRow(id=MAILBOX_ID, created_at=now)
                s.add(row)
            if new_password:
                password_changed = before is None or self._differs(row, settings.password)
                row.password_encrypted = self._box.encrypt(settings.password)
                row.password_hint = settings.password.hint()
            row.host = settings.host
            row.port = settings.port
            row.security = settings.security.value
            row.username = settings.username
            row.folder = settings.folder
            row.archive_folder = settings.archive
            row.invalid_folder = settings.invalid
            row.ca_pem = ca_pem
            row.max_message_bytes = settings.max_message_bytes
            row.enabled = enabled
            after = _mailbox_value_unsaved(row, now).public_dict()
            changed = sorted(k for k in after if before is None or before.get(k) != after[k])
            if password_changed and "password" not in changed:
                changed.append("password")
            if before is not None and not changed:
                return _mailbox_value(row)
            row.updated_at = now
            s.flush()
            after["password_changed"] = password_changed
            text = (
                f"Set up the report mailbox {settings.username}@{settings.host}:{settings.port}."
                if before is None
                else f"Changed {', '.join(changed)} of the report mailbox."
            )
            self._tx.audit(s, who, AuditAction.INTAKE_CHANGED, text, before=before, after=after)
            return _mailbox_value(row)

    def _differs(self, row: IntakeMailboxRow, new: Secret) -> bool:
        try:
            return self._box.decrypt(row.password_encrypted) != new
        except SecretKeyError:  # saved under another key: replaced, so changed
            return True

    def private_ca(self, *, actor: Actor = "system") -> str | None:
        """The private CA certificates saved with the mailbox (PEM text: public, so a form may
        show them back), or None."""
        self._allow(actor, Permission.UPLOAD_REPORTS)
        with self._tx.read() as s:
            row = s.get(IntakeMailboxRow, MAILBOX_ID)
            return row.ca_pem if row is not None and row.ca_pem else None

    def settings(self, *, actor: Actor = "system") -> MailboxSettings:
        """The saved settings with the decrypted password, for the IMAP client only (it never
        shows them). Raises NotFound when no mailbox is set up, SecretKeyError when the key is
        not the one the password was saved with."""
        self._allow(actor, Permission.UPLOAD_REPORTS)
        with self._tx.read() as s:
            row = s.get(IntakeMailboxRow, MAILBOX_ID)
            if row is None:
                raise NotFound("No report mailbox is set up: an admin sets one up first.")
            return MailboxSettings(
                host=row.host,
                port=row.port,
                security=ImapSecurity(row.security),
                username=row.username,
                password=self._box.decrypt(row.password_encrypted),
                folder=row.folder,
                archive=row.archive_folder,
                invalid=row.invalid_folder,
                cadata=row.ca_pem,
                max_message_bytes=row.max_message_bytes,
            )

    # -- runs --------------------------------------------------------------------------------------

    def check_now(
        self,
        reports: ReportStore,
        *,
        actor: Actor = "system",
        on_outcome: Callable[[MessageOutcome], None] | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> IntakeRun:
        """One pass over the mailbox now, into `reports`: every message stored and filed, and the
        run recorded (and audited) whatever happened. A mailbox that cannot be reached, a refused
        password or a database that cannot be written are the run's `error`, not an exception."""
        who = self._allow(actor, Permission.UPLOAD_REPORTS)
        settings = self.settings(actor=actor)
        started = self._tx.now()
        outcomes: list[MessageOutcome] = []

        def take(outcome: MessageOutcome) -> None:
            outcomes.append(outcome)
            if on_outcome is not None:
                on_outcome(outcome)

        error: str | None = None
        try:
            check_mailbox(settings, reports, progress=progress, on_outcome=take)
        except DiagnosticsError as exc:
            # A server's reply may quote what it was sent: never the password in a stored error.
            error = Scrubber([(settings.username, settings.password)])(str(exc))
        return self.record_run(outcomes, error=error, started_at=started, actor=who)

    def record_run(
        self,
        outcomes: list[MessageOutcome],
        *,
        error: str | None,
        started_at: datetime,
        actor: Actor = "system",
    ) -> IntakeRun:
        """Keep one run (by check_now, or by a service draining the mailbox on its own) and audit
        it; the oldest runs beyond MAX_RUNS go."""
        who = self._allow(actor, Permission.UPLOAD_REPORTS)
        counts = RunCounts.of(outcomes)
        problems = [
            o.line for o in outcomes if o.disposition is not Disposition.STORED or o.problems
        ]
        if len(problems) > _MAX_PROBLEMS:
            more = len(problems) - _MAX_PROBLEMS
            problems = [*problems[:_MAX_PROBLEMS], f"… and {plural(more, 'more message')}"]
        with self._tx.write() as s:
            row = IntakeRunRow(
                started_at=started_at,
                finished_at=self._tx.now(),
                actor=who.name,
                ok=error is None,
                counts=counts.as_dict(),
                error=error,
                problems=problems,
            )
            s.add(row)
            s.flush()
            text = f"Checked the report mailbox: {counts.line}."
            if error is not None:
                text += f" Stopped: {error}"
            self._tx.audit(
                s,
                who.name,
                AuditAction.INTAKE_CHECKED,
                text,
                after={**counts.as_dict(), "ok": error is None},
            )
            keep = select(IntakeRunRow.id).order_by(IntakeRunRow.id.desc()).limit(MAX_RUNS)
            s.execute(delete(IntakeRunRow).where(IntakeRunRow.id.not_in(keep.scalar_subquery())))
            return _run_value(row)

    def last_run(self, *, actor: Actor = "system") -> IntakeRun | None:
        runs = self.runs(limit=1, actor=actor)
        return runs[0] if runs else None

    def runs(self, *, limit: int = 20, actor: Actor = "system") -> list[IntakeRun]:
        """The newest `limit` runs, newest first. Whoever reads reports may see them: a run holds
        counts, the scrubbed error and the lines of messages that were not reports."""
        self._allow(actor, Permission.VIEW_REPORTS)
        if not isinstance(limit, int) or not 0 < limit <= MAX_RUNS:
            raise AdminInputError(f"limit must be a number from 1 to {MAX_RUNS}.")
        query = select(IntakeRunRow).order_by(IntakeRunRow.id.desc()).limit(limit)
        with self._tx.read() as s:
            return [_run_value(r) for r in s.scalars(query)]

    # -- plumbing ----------------------------------------------------------------------------------

    def _allow(self, actor: Actor, permission: Permission) -> Principal:
        who = resolve(actor, self._bound)
        who.require(permission)
        return who


def _ca_text(settings: MailboxSettings) -> str | None:
    if settings.cafile:
        try:
            with open(settings.cafile, encoding="ascii") as handle:
                text = handle.read()
        except (OSError, UnicodeDecodeError) as exc:
            raise AdminInputError(f"The CA certificate file cannot be read ({exc}).") from None
        return (settings.cadata + "\n" + text) if settings.cadata else text
    if settings.cadata is not None and "-----BEGIN CERTIFICATE-----" not in settings.cadata:
        raise AdminInputError("The private CA must be PEM text (-----BEGIN CERTIFICATE-----).")
    return settings.cadata or None


def _mailbox_value_unsaved(row: IntakeMailboxRow, now: datetime) -> IntakeMailbox:
    return IntakeMailbox(
        host=row.host,
        port=row.port,
        security=ImapSecurity(row.security),
        username=row.username,
        password_hint=row.password_hint,
        folder=row.folder,
        archive=row.archive_folder,
        invalid=row.invalid_folder,
        private_ca=bool(row.ca_pem),
        max_message_bytes=row.max_message_bytes,
        enabled=row.enabled,
        updated_at=row.updated_at or now,
    )


def _mailbox_value(row: IntakeMailboxRow) -> IntakeMailbox:
    return _mailbox_value_unsaved(row, row.updated_at)


def _run_value(row: IntakeRunRow) -> IntakeRun:
    return IntakeRun(
        id=row.id,
        started_at=row.started_at,
        finished_at=row.finished_at,
        actor=row.actor,
        ok=row.ok,
        counts={str(k): int(v) for k, v in dict(row.counts).items()},
        error=row.error,
        problems=tuple(str(p) for p in row.problems),
    )
