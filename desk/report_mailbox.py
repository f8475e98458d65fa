"""The DMARC reports page's "Reports by mail" section: the desk's report mailbox (admin.intake).

    report_mailbox_section(store, reports)   # store bound to the signed-in user

Who sees what follows the store's permissions (admin.access), which the store enforces itself: an
admin edits the settings, support staff see them and press "Check now", an analyst sees only the
last run's counts and errors. The saved password is never put back in a field: the form says
whether one is saved, and a typed one replaces it (blank keeps it).

`mailbox_form_settings` turns the form's values into settings (pure, tested without Streamlit);
`run_lines` says a run in plain words.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from admin import AdminError, IntakeMailbox, IntakeRun, Permission, Store
from desk.markdown import data, md, text
from diagnostics import DiagnosticsError
from diagnostics.dmarc import ReportStore
from diagnostics.intake import DEFAULT_MAX_MESSAGE_BYTES, ImapSecurity, MailboxSettings, RunCounts
from diagnostics.secret import Secret

__all__ = ["mailbox_form_settings", "report_mailbox_section", "run_lines"]

MiB = 1024 * 1024
_SECURITY_LABELS = {
    ImapSecurity.TLS.value: "Implicit TLS (993)",
    ImapSecurity.STARTTLS.value: "STARTTLS (143)",
}
_FLASH = "report_mailbox_flash"  # what the last save or check said, for the next run
_FIELD = "report_mailbox_"  # the form's widget keys
_ROUND = "report_mailbox_round"  # bumped by each save
_FORM_FIELDS = (
    "host",
    "port",
    "security",
    "username",
    "folder",
    "archive",
    "invalid",
    "max_mib",
    "private_ca",
)


def mailbox_form_settings(values: dict[str, Any]) -> MailboxSettings:
    """The form's values as settings; raises InvalidInput (a DiagnosticsError) for a bad field.
    An empty password means "keep the saved one" (admin.intake.save_mailbox)."""
    ca = str(values.get("private_ca") or "").strip()
    return MailboxSettings(
        host=str(values["host"]).strip(),
        port=int(values["port"]),
        security=ImapSecurity(values["security"]),
        username=str(values["username"]).strip(),
        password=Secret(str(values.get("password") or "")),
        folder=str(values["folder"]).strip(),
        archive=str(values["archive"]).strip(),
        invalid=str(values["invalid"]).strip(),
        cadata=ca + "\n" if ca else None,
        max_message_bytes=int(values["max_mib"]) * MiB,
    )


def run_lines(run: IntakeRun) -> tuple[str, str | None, list[str]]:
    """A run as a person reads it: when and by whom with its counts, what stopped it (None when
    it went through), and a line for each message that was not (wholly) a report."""
    counts = RunCounts(**run.counts)
    headline = f"{run.finished_at:%Y-%m-%d %H:%M} UTC, by {run.actor}: {counts.line}."
    return headline, run.error, list(run.problems)


def report_mailbox_section(store: Store, reports: ReportStore) -> None:
    """The section itself, inside whatever container the page gives it."""
    actor = store.principal
    may_check = actor.can(Permission.UPLOAD_REPORTS)
    may_edit = actor.can(Permission.EDIT_INTAKE)
    _show_flash()
    try:
        last = store.intake.last_run()
        mailbox = store.intake.mailbox() if may_check else None
    except AdminError as exc:
        st.error(text(exc), icon=":material/error:")
        return
    _last_run(last)
    if not may_check:
        st.caption("Your role sees what the mailbox brought in; support staff check it now.")
        return
    if mailbox is None:
        who = "Set it up below." if may_edit else "An admin sets one up."
        st.info(md("No report mailbox is set up. {who}", who=who), icon=":material/mail:")
    else:
        _mailbox_caption(mailbox)
        if st.button("Check now", icon=":material/sync:", key=f"{_FIELD}check"):
            _check_now(store, reports)
    if may_edit:
        _form(store, mailbox)


def _last_run(run: IntakeRun | None) -> None:
    if run is None:
        st.caption("The mailbox has not been checked yet.")
        return
    headline, error, problems = run_lines(run)
    show = st.success if error is None and not problems else st.warning
    # The lines quote subjects, attachment names and a server's reply: shown as text.
    show(md("**Last check:** {line}", line=headline), icon=":material/inbox:")
    if error is not None:
        st.error(md("**It stopped:** {error}", error=error), icon=":material/error:")
    if problems:
        with st.expander(md("Messages that were not reports ({n:,})", n=len(problems))):
            st.code(data("\n".join(problems)), language=None, wrap_lines=True)


def _mailbox_caption(mailbox: IntakeMailbox) -> None:
    st.caption(
        md(
            "Reads {folder!c} of {user!c} on {where!c} ({security}); files reports in "
            "{archive!c}, the rest in {invalid!c}. Password {password}. {ca}",
            folder=mailbox.folder,
            user=mailbox.username,
            where=f"{mailbox.host}:{mailbox.port}",
            security=_SECURITY_LABELS[mailbox.security.value],
            archive=mailbox.archive,
            invalid=mailbox.invalid,
            password=mailbox.password_hint,
            ca="Trusts a private CA." if mailbox.private_ca else "",
        )
    )


def _check_now(store: Store, reports: ReportStore) -> None:
    bar = st.progress(0.0, text="Connecting to the mailbox…")

    def moved(done: int, total: int) -> None:
        bar.progress(
            done / total, text=md("{done:,} of {total:,} messages", done=done, total=total)
        )

    try:
        # The run, its counts and any error that stopped it are kept: "Last check" shows them.
        store.intake.check_now(reports, progress=moved)
    except (AdminError, DiagnosticsError) as exc:  # no mailbox, no key, no right to check
        _flash("error", str(exc))
    st.rerun()


def _form(store: Store, mailbox: IntakeMailbox | None) -> None:
    saved_ca = store.intake.private_ca() if mailbox is not None else None
    start: dict[str, Any] = {
        "host": mailbox.host if mailbox else "",
        "port": mailbox.port if mailbox else 993,
        "security": (mailbox.security if mailbox else ImapSecurity.TLS).value,
        "username": mailbox.username if mailbox else "",
        "folder": mailbox.folder if mailbox else "INBOX",
        "archive": mailbox.archive if mailbox else "Archive",
        "invalid": mailbox.invalid if mailbox else "Invalid",
        "max_mib": (mailbox.max_message_bytes if mailbox else DEFAULT_MAX_MESSAGE_BYTES) // MiB,
        "private_ca": saved_ca or "",
    }
    for name, value in start.items():  # what is saved, once; then what was typed
        st.session_state.setdefault(_key(name), value)
    title = "Change the report mailbox" if mailbox else "Set up the report mailbox"
    with st.form(f"{_FIELD}form", border=True):
        st.markdown(md("**{title}**", title=title))
        left, middle, right = st.columns([3, 1, 2])
        left.text_input("IMAP server", placeholder="imap.example.com", key=_key("host"))
        middle.number_input("Port", 1, 65535, key=_key("port"))
        right.selectbox(
            "Encryption",
            list(_SECURITY_LABELS),
            format_func=_SECURITY_LABELS.__getitem__,
            key=_key("security"),
        )
        left, right = st.columns(2)
        left.text_input("User name", key=_key("username"))
        if mailbox is not None:
            hint = md(
                "A password is saved ({hint}); it is never shown. Leave this blank to keep it, or "
                "type a new one to replace it.",
                hint=mailbox.password_hint,
            )
        else:
            hint = md("Kept encrypted, like SMTP passwords, and never shown again.")
        right.text_input(
            "Replace the password" if mailbox is not None else "Password",
            type="password",
            help=hint,
            autocomplete="new-password",
            key=_password_key(),
        )
        if mailbox is not None:
            right.caption(md("Password saved: {hint}.", hint=mailbox.password_hint))
        a, b, c, d = st.columns(4)
        a.text_input("Folder to read", key=_key("folder"))
        b.text_input("Archive folder", key=_key("archive"))
        c.text_input("Folder for what is not a report", key=_key("invalid"))
        d.number_input("Largest message (MiB)", 1, 1024, key=_key("max_mib"))
        st.text_area(
            "Private CA (PEM), only if the server's certificate is signed by one",
            placeholder="-----BEGIN CERTIFICATE-----",
            help="The server's certificate is always verified; this adds a CA to the ones trusted.",
            key=_key("private_ca"),
        )
        st.form_submit_button("Save the mailbox", type="primary", on_click=_save, args=(store,))


def _key(name: str) -> str:
    return f"{_FIELD}{name}"


def _password_key() -> str:
    # A new key after each save: a typed password never stays in the field or the session.
    return f"{_FIELD}password_{st.session_state.get(_ROUND, 0)}"


def _save(store: Store) -> None:
    # A callback runs before the next run draws the form, so the typed password is taken out of
    # the session here; the other fields keep what was typed, to be corrected after an error.
    password = str(st.session_state.pop(_password_key(), "") or "")
    st.session_state[_ROUND] = st.session_state.get(_ROUND, 0) + 1
    values = {name: st.session_state.get(_key(name)) for name in _FORM_FIELDS}
    try:
        store.intake.save_mailbox(mailbox_form_settings({**values, "password": password}))
    except (AdminError, DiagnosticsError) as exc:
        _flash("error", str(exc))
    else:
        _flash("success", "The report mailbox is saved.")


def _flash(kind: str, words: str) -> None:
    # Plain outcome words only: never a password (the store's messages are scrubbed of it).
    st.session_state[_FLASH] = (kind, words)


def _show_flash() -> None:
    kind, words = st.session_state.pop(_FLASH, ("", ""))
    if not words:
        return
    show = {"error": st.error, "warning": st.warning}.get(kind, st.success)
    show(text(words), icon=":material/task_alt:" if kind == "success" else ":material/warning:")
