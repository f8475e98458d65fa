"""The app's admin store and the sidebar account picker, shared by the pages that work on one account.

The store is opened once per process and database (st.cache_resource): DATABASE_URL picks the
database (else the embedded SQLite file, where sample accounts are loaded on first start), and the
secret key comes from DESK_SECRET_KEY, else Streamlit's secrets, else the store's key file. Only the
chosen account's id lives in the session; never a password or the key.

`store_or_stop()` hands a page the store bound to the signed-in user (desk.sign_in_gate): every read and
write then runs with that user's role, and the audit log names them.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import streamlit as st

import admin
from admin import Account, AdminError, Plan, Principal, Store
from desk.sign_in_gate import current_user
from diagnostics.secret import Secret

KEY_ENV = "DESK_SECRET_KEY"
KEY_FILE_ENV = "DESK_SECRET_KEY_FILE"
URL_ENV = "DATABASE_URL"
DATA_DIR_ENV = "DESK_DATA_DIR"
ACCOUNT_KEY = "desk_account_id"  # the chosen account's id: an int, nothing secret
_PICKER_KEY = "desk_account_picker"


def current_actor() -> Principal:
    """The signed-in user (or "local admin" without sign-in): who the audit log names for a change
    made on a page. Without a signed-in user, shows the sign-in form and stops the run."""
    return current_user(desk_store())


def _secret_key() -> Secret | None:
    """The key from the environment or Streamlit's secrets; None lets the store use its key file."""
    from_env = os.environ.get(KEY_ENV, "").strip()
    if from_env:
        return Secret(from_env)
    # load_if_toml_exists never raises: False when there is no secrets.toml at all.
    if st.secrets.load_if_toml_exists():
        value = st.secrets.get(KEY_ENV)
        if isinstance(value, str) and value.strip():
            return Secret(value.strip())
    return None


@st.cache_resource(show_spinner="Opening the database…")
def _open_store(url: str, key_file: str, key_fingerprint: str, data_dir: str) -> Store:
    # The arguments only key the cache (another database, data folder or key is another store);
    # the key itself is read again here so that it never becomes part of a cache key.
    store = Store(
        url or None,
        secret_key=_secret_key(),
        key_file=Path(key_file) if key_file else None,
    )
    if store.is_embedded_default:
        admin.ensure_sample_data(store)
    return store


def desk_store() -> Store:
    """The process's store for the configured database; raises AdminError when it cannot open."""
    key = _secret_key()
    fingerprint = hashlib.sha256(key.reveal().encode()).hexdigest()[:16] if key else ""
    return _open_store(
        os.environ.get(URL_ENV, "").strip(),
        os.environ.get(KEY_FILE_ENV, "").strip(),
        fingerprint,
        os.environ.get(DATA_DIR_ENV, "").strip(),  # the embedded database's folder
    )


def store_or_stop() -> Store:
    """The store acting for the signed-in user, or a plain message (or the sign-in form) on the
    page and the end of this run."""
    store = open_store_or_stop()
    return store.as_user(current_user(store))


def open_store_or_stop(*, warn_key: bool = True) -> Store:
    """The process's store itself (acting for no one yet: for the router's sign-in gate). With
    `warn_key`, a warning on the page when the secret key cannot read the saved passwords."""
    try:
        store = desk_store()
    except AdminError as exc:
        st.error(f"The desk's database is not available. {exc}", icon=":material/error:")
        st.stop()
    if warn_key and not store.key_matches:
        st.warning(
            "The secret key does not match the one the saved passwords were encrypted with: "
            "saved passwords cannot be read or tested. Set DESK_SECRET_KEY to the original key.",
            icon=":material/key:",
        )
    return store


def _remember_choice() -> None:
    st.session_state[ACCOUNT_KEY] = st.session_state[_PICKER_KEY]


def account_picker(store: Store) -> Account:
    """The sidebar's account choice (kept when the admin moves between pages), or stop the run with
    a form to create the first account."""
    accounts = store.list_accounts()
    with st.sidebar:
        if accounts:
            by_id = {a.id: a for a in accounts}
            chosen = st.session_state.get(ACCOUNT_KEY)
            if chosen not in by_id:
                chosen = accounts[0].id
            # Seed the widget from the remembered id: a widget's own state is dropped on pages
            # that do not show it, the remembered id is not.
            st.session_state[_PICKER_KEY] = chosen
            st.selectbox(
                "Account",
                options=list(by_id),
                format_func=lambda i: f"{by_id[i].name} ({by_id[i].plan.display_name})",
                key=_PICKER_KEY,
                on_change=_remember_choice,
            )
            st.session_state[ACCOUNT_KEY] = chosen
        with st.expander("New account", expanded=not accounts):
            name = st.text_input("Account name", key="desk_new_account_name")
            plan = st.selectbox(
                "Plan",
                options=[p.value for p in Plan],
                format_func=lambda p: Plan(p).display_name,
                key="desk_new_account_plan",
            )
            if st.button("Create account", key="desk_new_account_create"):
                try:
                    created = store.create_account(name, plan, actor=current_actor())
                except AdminError as exc:
                    st.error(str(exc))
                else:
                    st.session_state[ACCOUNT_KEY] = created.id
                    st.rerun()
    if not accounts:
        st.info("No accounts yet: create one in the sidebar.", icon=":material/arrow_back:")
        st.stop()
    return by_id[st.session_state[ACCOUNT_KEY]]
