"""SMTP settings: how an account's mail goes out, its custom connections, and who changed what."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from admin import Account, AdminError, Connection, Plan, RouteMode, Store
from desk.markdown import data, md, plain, table, text
from desk.resources import current_actor, store_or_stop
from desk.routing import through_the_router
from desk.widgets import account_picker, finding_cards
from diagnostics import DiagnosticsError, Finding, Severity, providers
from diagnostics.smtp import Security, SmtpSettings, lint, preset, presets

through_the_router()  # before anything is drawn: see desk/routing.py

st.title("SMTP settings")
st.caption(
    "How this account's webmail and API mail go out, the custom SMTP connections it relays "
    "through, and every change made to them."
)

NEW = 0  # the editor's choice for "a new connection"
CUSTOM = ""  # the preset for a host that is not in the catalogue
DEFAULT_REGION = "us-east-1"
# The catalogue's presets; managed sending is not among them (it is "Use managed sending").
PRESETS = {p.key: p for p in presets()}
SECURITY_LABELS = {
    Security.STARTTLS.value: "STARTTLS (upgrade on 587, 2525 or 25)",
    Security.TLS.value: "Implicit TLS (TLS from the first byte, 465)",
    Security.NONE.value: "None (no encryption)",
}
_FIELDS = (
    "preset",
    "region",
    "label",
    "host",
    "port",
    "security",
    "username",
    "password",
    "sender",
)


# -- messages left by a button for the next run ----------------------------------------------------


def _flash(slot: str, kind: str, text: str) -> None:
    # Plain outcome words only: never a setting's password.
    st.session_state[f"smtp_flash_{slot}"] = (kind, text)


def _show_flash(slot: str) -> None:
    # The words quote labels and the store's messages: shown as text.
    kind, words = st.session_state.pop(f"smtp_flash_{slot}", ("", ""))
    if kind == "error":
        st.error(text(words), icon=":material/warning:")
    elif kind == "success":
        st.success(text(words), icon=":material/check_circle:")


# -- the editor's fields ---------------------------------------------------------------------------


def _key(prefix: str, name: str) -> str:
    return f"{prefix}{name}"


def _preset_of(host: str) -> tuple[str, str]:
    """The catalogue entry (and SES region) a saved host belongs to."""
    found = providers.match_host(host)
    if found is None or found.key not in PRESETS:
        return CUSTOM, DEFAULT_REGION
    return found.key, providers.ses_region(host) or DEFAULT_REGION


def _seed(prefix: str, conn: Connection | None) -> None:
    """Give the editor's widgets their starting values, once: what is saved, or an empty form."""
    if conn is None:
        start: dict[str, Any] = {
            "preset": CUSTOM,
            "region": DEFAULT_REGION,
            "label": "",
            "host": "",
            "port": 587,
            "security": Security.STARTTLS.value,
            "username": "",
            "sender": "",
        }
    else:
        preset, region = _preset_of(conn.host)
        start = {
            "preset": preset,
            "region": region,
            "label": conn.label,
            "host": conn.host,
            "port": conn.port,
            "security": conn.security.value,
            "username": conn.username,
            "sender": conn.from_address,
        }
    start["password"] = ""  # a saved password is never put back into a field
    for name, value in start.items():
        st.session_state.setdefault(_key(prefix, name), value)


def _apply_preset(prefix: str) -> None:
    """Fill host, port and security from the chosen provider (and SES region)."""
    key = st.session_state[_key(prefix, "preset")]
    if key == CUSTOM:
        return
    region = st.session_state[_key(prefix, "region")] if PRESETS[key].regions else None
    chosen = preset(key, region=region)
    st.session_state[_key(prefix, "host")] = chosen.host
    st.session_state[_key(prefix, "port")] = chosen.port
    st.session_state[_key(prefix, "security")] = chosen.security.value
    if not st.session_state[_key(prefix, "label")]:
        st.session_state[_key(prefix, "label")] = chosen.name


def _settings(prefix: str, password: str) -> SmtpSettings:
    """The form's values as settings; raises InvalidInput (a DiagnosticsError) for a bad field."""
    state = st.session_state
    return SmtpSettings(
        host=state[_key(prefix, "host")],
        port=int(state[_key(prefix, "port")]),
        security=state[_key(prefix, "security")],
        username=state[_key(prefix, "username")],
        password=password,
        from_address=state[_key(prefix, "sender")],
    )


def _forget(prefix: str) -> None:
    for name in _FIELDS:
        st.session_state.pop(_key(prefix, name), None)


# -- what the buttons do (callbacks: they run before the page is drawn again) ----------------------


def _goes_live(account: Account, connection_id: int) -> bool:
    """A new connection becomes the live route when none is active (the store's rule, as on the
    platform; Nano included, since its mail is paused until then)."""
    return connection_id == NEW and account.route.connection_id is None


def _errors(settings: SmtpSettings) -> list[Finding]:
    return [f for f in lint(settings) if f.severity is Severity.ERROR]


def _save(store: Store, account: Account, connection_id: int, prefix: str) -> None:
    password_key = _key(prefix, "password")
    account_id = account.id
    not_live = ""
    try:
        settings = _settings(prefix, st.session_state[password_key])
        label = st.session_state[_key(prefix, "label")].strip()
        if connection_id == NEW:
            # A new connection whose settings show errors does not become the live route
            # untested unless that is confirmed (issue 12, finding 9); the plan rules are the
            # store's, unchanged: a paid plan keeps managed sending, Nano stays paused.
            activate: bool | None = None
            confirmed = st.session_state.get(_key(prefix, "confirm_live"), False)
            if _goes_live(account, connection_id) and _errors(settings) and not confirmed:
                if not account.plan.has_managed_sending:
                    _flash(
                        "editor",
                        "error",
                        "Not saved: these settings have errors and saving would make them the "
                        "live route at once. Fix them, or tick the box to make them live anyway.",
                    )
                    return
                activate = False
                not_live = (
                    " It is not the live route yet: its settings have errors. Run a test on the "
                    "Test mail page, then press Make active."
                )
            saved = store.add_connection(
                account_id, settings, label, activate=activate, actor=current_actor()
            )
            _forget(prefix)
            st.session_state[f"smtp_edit_{account_id}"] = saved.id
            verb = "Added"
        else:
            # An empty password field keeps the saved password (the store's rule).
            saved = store.update_connection(
                connection_id, settings, label=label or None, actor=current_actor()
            )
            verb = "Saved"
    except (AdminError, DiagnosticsError) as exc:
        _flash("editor", "error", f"Not saved: {exc}")
        return
    finally:
        # The typed password leaves the session as soon as the button has used it.
        if password_key in st.session_state:
            st.session_state[password_key] = ""
    route = store.outbound_route(account_id)
    _flash(
        "editor",
        "success",
        f"{verb} “{saved.label}”; password {saved.password_hint}. {route.reason}{not_live}",
    )


def _delete(store: Store, account_id: int, connection: Connection, prefix: str) -> None:
    try:
        store.delete_connection(connection.id, actor=current_actor())
    except AdminError as exc:
        _flash("editor", "error", f"Not deleted: {exc}")
        return
    _forget(prefix)
    st.session_state.pop(f"smtp_edit_{account_id}", None)
    # The route box above says what the deletion did to the account's mail.
    _flash("route", "success", f"Deleted the connection “{connection.label}”.")


def _activate(store: Store, connection_id: int) -> None:
    try:
        route = store.activate(connection_id, actor=current_actor())
    except AdminError as exc:
        _flash("editor", "error", f"Not activated: {exc}")
        return
    _flash("editor", "success", route.reason)


def _use_managed(store: Store, account_id: int) -> None:
    try:
        route = store.use_managed(account_id, actor=current_actor())
    except AdminError as exc:
        # PlanRuleError on Nano: its message says why and what to do instead.
        _flash("route", "error", str(exc))
        return
    _flash("route", "success", route.reason)


# -- the page ---------------------------------------------------------------------------------------


def route_section(store: Store, account: Account, count: int) -> None:
    route = store.outbound_route(account.id)
    plan, mode, total = st.columns(3)
    plan.metric("Plan", account.plan.display_name)
    mode.metric("Outbound route", route.mode.value.capitalize())
    total.metric("Custom connections", count)
    if route.mode is RouteMode.PAUSED:
        # The reason already starts "Outbound mail is paused: …".
        st.error(text(route.reason), icon=":material/pause_circle:")
    elif route.mode is RouteMode.MANAGED:
        st.info(
            md("**Managed sending.** {reason}", reason=route.reason),
            icon=":material/outgoing_mail:",
        )
    else:
        st.success(md("**Custom SMTP.** {reason}", reason=route.reason), icon=":material/cable:")
    if route.mode is not RouteMode.MANAGED:
        nano = account.plan is Plan.NANO
        st.button(
            "Use managed sending",
            key="smtp_use_managed",
            on_click=_use_managed,
            args=(store, account.id),
            disabled=nano,
            help=(
                "The Nano plan has no managed sending: keep a custom connection, or upgrade."
                if nano
                else "Send through managed TrekMail SMTP; the connections stay saved."
            ),
        )
    _show_flash("route")


def connections_table(connections: list[Connection]) -> None:
    if not connections:
        st.info("No custom SMTP connection yet: add one below.", icon=":material/cable:")
        return
    shown = pd.DataFrame(
        [
            {
                "active": c.active,
                "label": c.label,
                "host": c.host,
                "port": c.port,
                "security": c.security.value,
                "username": c.username,
                "password": c.password_hint,
                "from": c.from_address,
                "updated": c.updated_at,
            }
            for c in connections
        ]
    )
    st.dataframe(
        table(shown),
        hide_index=True,
        width="stretch",
        column_config={"active": st.column_config.CheckboxColumn("active", width="small")},
    )


def editor(store: Store, account: Account, connections: list[Connection]) -> None:
    by_id = {c.id: c for c in connections}
    choice_key = f"smtp_edit_{account.id}"
    if st.session_state.get(choice_key) not in (NEW, *by_id):
        active = account.route.connection_id
        st.session_state[choice_key] = active if active in by_id else NEW
    chosen = st.selectbox(
        "Connection",
        options=[NEW, *by_id],
        format_func=lambda i: "+ New connection" if i == NEW else plain(by_id[i].label),
        key=choice_key,
    )
    conn = by_id.get(chosen)
    prefix = f"smtp_{account.id}_{chosen}_"
    _seed(prefix, conn)

    left, right = st.columns(2)
    with left:
        picked = st.selectbox(
            "Provider preset",
            options=[CUSTOM, *PRESETS],
            format_func=lambda k: "Other / custom host" if k == CUSTOM else PRESETS[k].name,
            key=_key(prefix, "preset"),
            on_change=_apply_preset,
            args=(prefix,),
            help="Fills in the provider's host, port and security.",
        )
        if PRESETS.get(picked) is not None and PRESETS[picked].regions:
            st.selectbox(
                "Region",
                options=list(PRESETS[picked].regions),
                key=_key(prefix, "region"),
                on_change=_apply_preset,
                args=(prefix,),
                help="SES SMTP credentials work only in the region they were created for.",
            )
        st.text_input("Label", key=_key(prefix, "label"), placeholder="e.g. SendGrid")
        st.text_input("Host", key=_key(prefix, "host"), placeholder="smtp.example.com")
        st.number_input("Port", min_value=1, max_value=65535, step=1, key=_key(prefix, "port"))
        st.selectbox(
            "Security",
            options=list(SECURITY_LABELS),
            format_func=SECURITY_LABELS.__getitem__,
            key=_key(prefix, "security"),
        )
    hints = PRESETS.get(picked)
    with right:
        st.text_input(
            "Username",
            key=_key(prefix, "username"),
            help=md("{name}: {hint}", name=hints.name, hint=hints.username_hint) if hints else None,
        )
        # The hint ("set, ends in …1234") is all a page ever shows of a saved password.
        keep = f"{conn.password_hint}: leave empty to keep it" if conn is not None else ""
        st.text_input(
            "Password or API key",
            type="password",
            key=_key(prefix, "password"),
            placeholder=keep,
            help=md("{name}: {hint}", name=hints.name, hint=hints.secret_hint) if hints else None,
        )
        if conn is not None:
            st.caption(md("Saved password: {hint}.", hint=conn.password_hint))
        st.text_input(
            "From address (for test mail)",
            key=_key(prefix, "sender"),
            placeholder="orders@example.com",
        )

    st.markdown("**What the settings say before connecting**")
    errors = lint_section(store, prefix, conn)
    if errors and _goes_live(account, chosen):
        # Saving would make it the live route at once (no connection is active): said, and
        # asked, before it happens. A test first is the better way.
        st.warning(
            "Saving makes this connection the live route at once, and its settings have the "
            "errors above. Fix them first; or save it, run a test on the Test mail page, and "
            "make it active once it works.",
            icon=":material/science:",
        )
        st.checkbox(
            "Make it the live route now, despite the errors",
            key=_key(prefix, "confirm_live"),
        )

    buttons = st.columns(3 if conn is not None else 1)
    buttons[0].button(
        "Save connection" if conn is not None else "Add connection",
        type="primary",
        key=_key(prefix, "save"),
        on_click=_save,
        args=(store, account, chosen, prefix),
    )
    if conn is not None:
        buttons[1].button(
            "Make active",
            key=_key(prefix, "activate"),
            disabled=conn.active,
            on_click=_activate,
            args=(store, conn.id),
            help="This connection is the active one." if conn.active else None,
        )
        with buttons[2]:
            delete_control(store, account, conn, len(connections), prefix)
    _show_flash("editor")


def lint_section(store: Store, prefix: str, conn: Connection | None) -> list[Finding]:
    """The lint of what is typed now: runs on every change of a field, no network. Returns its
    errors."""
    if not st.session_state[_key(prefix, "host")].strip():
        st.info(
            "Pick a provider or enter a host to see what the settings say.", icon=":material/edit:"
        )
        return []
    typed = st.session_state[_key(prefix, "password")]
    password = typed
    if not typed and conn is not None:
        # An empty field keeps the saved password, so judge that one (in memory, never shown).
        try:
            password = store.probe_settings(conn.id).secret.reveal()  # support may lint too
        except AdminError:
            password = ""
    try:
        settings = _settings(prefix, password)
    except DiagnosticsError as exc:
        st.warning(text(exc), icon=":material/warning:")
        return []
    found = lint(settings)
    finding_cards(found)
    return [f for f in found if f.severity is Severity.ERROR]


def delete_control(
    store: Store, account: Account, conn: Connection, count: int, prefix: str
) -> None:
    if count == 1:
        after = (
            "outbound mail pauses (the Nano plan has no managed sending)"
            if not account.plan.has_managed_sending
            else "the account switches to managed sending"
        )
        st.caption(md("This is the last connection: after deleting it, {after}.", after=after))
    elif conn.active:
        st.caption("The newest remaining connection takes over.")
    sure = st.checkbox("Yes, delete it", key=_key(prefix, "confirm"))
    st.button(
        "Delete connection",
        key=_key(prefix, "delete"),
        disabled=not sure,
        on_click=_delete,
        args=(store, account.id, conn, prefix),
    )


def audit_section(store: Store, account: Account) -> None:
    entries = store.audit_log(account.id, limit=100)
    if not entries:
        st.caption("No changes yet.")
        return
    shown = pd.DataFrame(
        [
            {
                "when": e.at,
                "who": e.actor,
                "what": e.action.value.replace("_", " "),
                "summary": e.summary,
            }
            for e in entries
        ]
    )
    st.dataframe(table(shown), hide_index=True, width="stretch")
    with st.expander("Before and after of one change"):
        by_id = {e.id: e for e in entries}
        picked = st.selectbox(
            "Change",
            options=list(by_id),
            format_func=lambda i: plain(
                f"{by_id[i].at:%Y-%m-%d %H:%M:%S} · {by_id[i].summary[:80]}"
            ),
            key="smtp_audit_entry",
        )
        before, after = st.columns(2)
        before.caption("Before")
        before.json(data(by_id[picked].before or {}))
        after.caption("After")
        after.json(data(by_id[picked].after or {}))


store = store_or_stop()
account = account_picker(store)
try:
    connections = store.list_connections(account.id)
    route_section(store, account, len(connections))
    st.subheader("Connections")
    connections_table(connections)
    editor(store, account, connections)
    st.subheader("Audit log")
    audit_section(store, account)
except (AdminError, DiagnosticsError) as exc:
    st.error(text(exc), icon=":material/warning:")
