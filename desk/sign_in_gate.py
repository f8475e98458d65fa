"""The sign-in gate: who is using the app, the sign-in form, the first admin's form and sign-out.

How people sign in (DESK_AUTH in the app's configuration, desk.configuration, and what "listens on
loopback" means) is desk._sign_in_mode; the
OpenID Connect side is desk._oidc_sign_in; the pages a role may see, desk.page_access; the screens
that stand alone (the sign-in form, a refusal) are drawn by desk._standalone_screens.

Only an opaque session id lives in st.session_state (the database keeps its hash,
admin.authentication); the password field is cleared as soon as the form is submitted; nothing goes
into query params.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import streamlit as st
from streamlit.navigation.page import StreamlitPage

from admin import AdminError, Principal, Store, StoreUnavailable
from admin.access import LOCAL_ADMIN
from admin.signin import SessionStatus
from desk._oidc_sign_in import oidc_sign_out, oidc_user
from desk._sign_in_mode import AUTH_VARIABLE, AuthMode, ModeRefusal, choose_mode, is_loopback
from desk._standalone_screens import (
    forget_outcome,
    only_screen,
    show_outcome,
    stop_with,
    tell_outcome,
)
from desk.configuration import app_config
from desk.markdown import Markdown, md, text
from diagnostics.secret import Secret

SESSION_KEY = "desk_session"  # the opaque session id: the only sign-in fact kept in the session
_FORM = "desk_sign_in"
# Widget keys, not passwords. Each attempt gets new keys (a round number): the browser keeps what
# was typed in a field whose key stays, however the session's copy is emptied.
_ROUND_KEY = "desk_sign_in_round"
_FIELDS = ("name", "password", "again")


def bound_locally() -> bool:
    """True when the server is configured to listen on loopback only (`is_loopback`)."""
    return is_loopback(st.get_option("server.address"))


def _listening_on() -> Markdown:
    """Where the server listens, in words, for the refusal of DESK_AUTH=none."""
    address = st.get_option("server.address")
    if not isinstance(address, str) or not address.strip():
        return md("every interface (server.address is not set)")
    return md("{address} (server.address)", address=address.strip())


def auth_mode(store: Store, url_paths: Sequence[str] = ()) -> AuthMode:
    """The way people sign in (desk._sign_in_mode); a misconfiguration stops the run with a message
    (at any of `url_paths`, the app's page addresses: see `only_screen`)."""
    chosen = choose_mode(
        app_config(url_paths).auth.mode,
        loopback=bound_locally(),
        unattended=lambda: store.backend == "sqlite" and not store.users.has_users(),
    )
    if chosen is ModeRefusal.OPEN_WITHOUT_SIGN_IN:
        stop_with(
            md(
                "{env}=none (no sign-in) is only allowed when the server listens on loopback "
                "alone, and this one listens on {where}: anyone who reaches it would be "
                "admin. Start it with `--server.address localhost`, or sign people in with "
                "{env}=local or oidc (README, Users and sign-in).",
                env=AUTH_VARIABLE,
                where=_listening_on(),
            ),
            url_paths,
        )
    return chosen


def current_user(store: Store, url_paths: Sequence[str] = ()) -> Principal:
    """The signed-in user; without one, the sign-in form and the end of this run. The form answers
    at each of `url_paths` (the app's page addresses), so a link to a page survives the sign-in."""
    mode = auth_mode(store, url_paths)
    if mode is AuthMode.NONE:
        return LOCAL_ADMIN
    if mode is AuthMode.OIDC:
        return oidc_user(store, url_paths)
    check = store.users.resume(st.session_state.get(SESSION_KEY))
    if check.ok and check.principal is not None:
        return check.principal
    st.session_state.pop(SESSION_KEY, None)
    notice = check.message if check.status is SessionStatus.EXPIRED else None
    only_screen(lambda: _sign_in_page(store, notice), url_paths)


def sign_in_gate(store: Store, pages: Mapping[str, Sequence[StreamlitPage]]) -> Principal:
    """For the router: the signed-in user (or stop at the sign-in form, at any of the addresses of
    `pages`) and the sidebar's sign-out."""
    user = current_user(store, [p.url_path for group in pages.values() for p in group])
    with st.sidebar:
        if user is LOCAL_ADMIN:
            st.caption("No sign-in: single user on this machine (local admin).")
        else:
            st.caption(md("Signed in as **{name}** ({role})", name=user.name, role=user.role.value))
            st.button("Sign out", key="desk_sign_out", on_click=_sign_out, args=(store, user))
    return user


def _sign_out(store: Store, user: Principal) -> None:
    if app_config().auth.mode is AuthMode.OIDC:
        oidc_sign_out(store, user)
        return
    token = st.session_state.pop(SESSION_KEY, None)  # signed out here whatever the database says
    try:
        store.users.end(token)
    except StoreUnavailable:
        # A callback runs before app.py's own handling (desk.database_faults): said under the form.
        tell_outcome(
            md(
                "Signed out. The database did not answer, so the session it keeps for you ends "
                "on its own when it expires."
            )
        )


def _sign_in_page(store: Store, notice: str | None) -> None:
    # Asked before anything is drawn: a database that does not answer is then the screen's only
    # message (desk.database_faults), not a second title under this one.
    first_run = not store.users.has_users()
    st.title("Deliverability desk")
    if notice:
        st.info(notice, icon=":material/schedule:")
    if first_run:
        _first_admin_form(store)
        return
    st.subheader("Sign in")
    with st.form(_FORM):
        st.text_input("Name", key=_field("name"), autocomplete="username")
        st.text_input(
            "Password", type="password", key=_field("password"), autocomplete="current-password"
        )
        st.form_submit_button("Sign in", type="primary", on_click=_submit_sign_in, args=(store,))
    show_outcome()


def _submit_sign_in(store: Store) -> None:
    # A callback runs before the widgets of the next run exist, so the password can be taken out
    # of the session here: it is never in st.session_state after this function.
    name, password, _ = _take_fields()
    try:
        result = store.users.sign_in(name, password, client_key=_client_key())
    except StoreUnavailable as exc:  # down or busy: said under the form, as a wrong password is
        _remember(False, text(exc), None)
        return
    _remember(result.ok, text(result.message), result.session_token)


def _first_admin_form(store: Store) -> None:
    if not (bound_locally() and store.backend == "sqlite"):
        st.warning(
            "No users yet. Create the first admin on the server: "
            "`python -m admin users add NAME --role admin`.",
            icon=":material/person_add:",
        )
        return
    st.subheader("Create the first admin")
    st.caption("No users yet. The first admin can then add others with `python -m admin users`.")
    with st.form("desk_first_admin"):
        st.text_input("Name", key=_field("name"), autocomplete="username")
        st.text_input(
            "Password", type="password", key=_field("password"), autocomplete="new-password"
        )
        st.text_input(
            "Password again", type="password", key=_field("again"), autocomplete="new-password"
        )
        st.form_submit_button(
            "Create admin and sign in", type="primary", on_click=_submit_first_admin, args=(store,)
        )
    show_outcome()


def _submit_first_admin(store: Store) -> None:
    name, password, again = _take_fields()
    if not (bound_locally() and store.backend == "sqlite"):
        # Only drawn on loopback; a submission from a form drawn before a restart on another
        # address must not make its sender admin either.
        _remember(
            False, md("Create the first admin on the server: `python -m admin users add`."), None
        )
        return
    if password != again:
        _remember(False, md("The two passwords differ."), None)
        return
    try:
        store.users.add_first_admin(name, password)
    except AdminError as exc:
        _remember(False, text(exc), None)
        return
    try:
        result = store.users.sign_in(name, password, client_key=_client_key())
    except StoreUnavailable as exc:
        _remember(False, text(exc), None)
        return
    _remember(result.ok, text(result.message), result.session_token)


def _field(name: str) -> str:
    return f"desk_sign_in_{name}_{st.session_state.get(_ROUND_KEY, 0)}"


def _take_fields() -> tuple[str, Secret, Secret]:
    """What the form held (the passwords as Secrets), taken out of the session; the next run
    draws the form with new, empty widgets."""
    taken = [str(st.session_state.pop(_field(f), "") or "") for f in _FIELDS]
    st.session_state[_ROUND_KEY] = st.session_state.get(_ROUND_KEY, 0) + 1
    return taken[0], Secret(taken[1]), Secret(taken[2])


def _remember(ok: bool, message: Markdown, token: Secret | None) -> None:
    if ok and token is not None:
        st.session_state[SESSION_KEY] = token.reveal()
        forget_outcome()
    else:
        tell_outcome(message)


def _client_key() -> str | None:
    # The sign-in throttle also counts failures per client address, when Streamlit knows it.
    address = getattr(st.context, "ip_address", None)
    return address if isinstance(address, str) and address else None


__all__ = [
    "SESSION_KEY",
    "auth_mode",
    "bound_locally",
    "current_user",
    "sign_in_gate",
]
