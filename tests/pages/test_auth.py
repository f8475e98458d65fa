"""The sign-in gate of app.py (DESK_AUTH in the app's configuration), over a real temporary SQLite
store, as people use it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from streamlit.testing.v1 import AppTest

import admin
from admin import PermissionDenied, Principal, Role
from desk.sign_in_gate import SESSION_KEY
from diagnostics.config import AuthConfig, AuthMode
from diagnostics.secret import Secret
from tests.desk.test_sign_in_mode import NOT_LOOPBACK, server_address
from tests.pages.conftest import Configure
from tests.pages.test_smtp_settings import mailgun
from tests.pages.untrusted import rendered

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
PASSWORD = "page-gate password 9173"
LOCAL = AuthConfig(mode=AuthMode.LOCAL)  # DESK_AUTH=local


@pytest.fixture
def store(configure: Configure) -> Iterator[admin.Store]:
    """The app's database (a fresh SQLite file, its own key) with an account and a connection."""
    opened = admin.Store.from_config(configure(secret_key=Secret(admin.generate_key())))
    account = opened.create_account("Bluebird Bakery", "pro")
    opened.add_connection(account.id, mailgun(), "Mailgun EU")
    yield opened
    opened.close()


def add(store: admin.Store, name: str, role: str) -> None:
    store.users.add_user(name, role, Secret(PASSWORD))


def open_app() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=30).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def sign_in(at: AppTest, name: str, password: str = PASSWORD) -> AppTest:
    at.text_input[0].input(name)
    at.text_input[1].input(password)
    at.button[0].click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def titles(at: AppTest) -> list[str]:
    return [t.value for t in at.title]


def session_values(at: AppTest) -> str:
    """Every value the session holds, widget values included."""
    state = at.session_state._state._state
    return repr({key: state[key] for key in state._keys() if key in state})


def test_local_mode_asks_for_sign_in_before_any_page(
    store: admin.Store, configure: Configure
) -> None:
    configure(auth=LOCAL)
    add(store, "dana", "support")
    at = open_app()
    assert titles(at) == ["Deliverability desk"]
    assert [b.label for b in at.button] == ["Sign in"]
    assert "Bluebird" not in repr([*at.main, *at.sidebar])
    # The navigation holds the sign-in screen alone: no page of pages/ can be opened or listed.
    with pytest.raises(ValueError, match="Could not find a navigation page") as missing:
        at.switch_page("pages/dns_check.py")
    assert ".py" not in str(missing.value).partition("Known pages:")[2]

    sign_in(at, "dana", "not the password")
    assert [e.value for e in at.error] == ["Wrong name or password."]
    # New, empty fields (new widget keys), so the browser shows no typed password either.
    assert [t.value for t in at.text_input] == ["", ""]
    assert "not the password" not in session_values(at)
    assert SESSION_KEY not in at.session_state

    sign_in(at, "Dana")
    assert "Overview" in titles(at)
    assert any("Signed in as **dana** (support)" in rendered(c.value) for c in at.sidebar.caption)
    token = at.session_state[SESSION_KEY]
    assert store.users.resume(token).ok
    shown = session_values(at)
    assert PASSWORD not in shown
    assert "not the password" not in shown


def test_failed_sign_ins_are_slowed_down(store: admin.Store, configure: Configure) -> None:
    configure(auth=LOCAL)
    add(store, "dana", "support")
    at = open_app()
    for _ in range(3):
        sign_in(at, "dana", "wrong guess number x")
    assert "Too many failed sign-ins" in at.error[0].value
    sign_in(at, "dana")
    assert "Too many failed sign-ins" in at.error[0].value
    assert SESSION_KEY not in at.session_state


def test_sign_out_ends_the_session(store: admin.Store, configure: Configure) -> None:
    configure(auth=LOCAL)
    add(store, "root", "admin")
    at = sign_in(open_app(), "root")
    token = at.session_state[SESSION_KEY]
    at.sidebar.button(key="desk_sign_out").click().run()
    assert [b.label for b in at.button] == ["Sign in"]
    assert not store.users.resume(token).ok


def test_an_analyst_sees_no_smtp_pages_and_the_store_refuses_if_forced(
    store: admin.Store, configure: Configure
) -> None:
    configure(auth=LOCAL)
    add(store, "ann", "analyst")
    add(store, "root", "admin")

    admin_at = sign_in(open_app(), "root")
    admin_at.switch_page("pages/smtp_settings.py").run()
    assert "SMTP settings" in titles(admin_at)

    at = sign_in(open_app(), "ann")
    # Not in the analyst's navigation at all: AppTest knows only the pages st.navigation got.
    with pytest.raises(ValueError, match="Could not find a navigation page") as missing:
        at.switch_page("pages/smtp_settings.py")
    known = str(missing.value).partition("Known pages:")[2]
    assert "dns_check.py" in known
    assert "smtp_settings.py" not in known
    assert "test_mail.py" not in known
    assert "Mailgun EU" not in repr([*at.main, *at.sidebar])

    # Forced: the SMTP page run straight from its file with the analyst's session.
    page = AppTest.from_file(str(ROOT / "pages" / "smtp_settings.py"), default_timeout=30)
    page.session_state[SESSION_KEY] = at.session_state[SESSION_KEY]
    page.run()
    said = [rendered(e.value) for e in page.error] + [e.value for e in page.exception]
    assert any("ann (analyst) may not see SMTP connections" in m for m in said), said
    assert "smtp.mailgun.org" not in repr([*page.main, *page.sidebar]) + repr(said)
    analyst = store.as_user(Principal("ann", Role.ANALYST))
    with pytest.raises(PermissionDenied):
        analyst.list_connections(store.list_accounts()[0].id)


def test_support_can_open_the_test_mail_page_but_cannot_edit_settings(
    store: admin.Store, configure: Configure
) -> None:
    configure(auth=LOCAL)
    add(store, "sam", "support")
    at = sign_in(open_app(), "sam")
    at.switch_page("pages/test_mail.py").run()
    assert "Test mail" in titles(at)
    assert not at.exception


def test_the_first_admin_is_created_on_localhost_when_there_are_no_users(
    store: admin.Store, configure: Configure
) -> None:
    configure(auth=LOCAL)
    at = open_app()
    assert "Create the first admin" in [s.value for s in at.subheader]
    at.text_input[0].input("owner")
    at.text_input[1].input(PASSWORD)
    at.text_input[2].input(PASSWORD + "?")
    at.button[0].click().run()
    assert "differ" in at.error[0].value
    assert not store.users.has_users()

    at.text_input[0].input("owner")
    at.text_input[1].input(PASSWORD)
    at.text_input[2].input(PASSWORD)
    at.button[0].click().run()
    assert "Overview" in titles(at)
    assert [u.role for u in store.users.list_users()] == [Role.ADMIN]
    assert PASSWORD not in session_values(at)


def test_default_mode_needs_no_sign_in_only_without_users(store: admin.Store) -> None:
    at = open_app()
    assert "Overview" in titles(at)
    assert any("local admin" in c.value for c in at.sidebar.caption)
    add(store, "root", "admin")
    at = open_app()
    assert [b.label for b in at.button] == ["Sign in"]


@pytest.mark.parametrize("address", NOT_LOOPBACK[:6])
def test_no_sign_in_is_refused_when_the_server_is_reachable_from_elsewhere(
    store: admin.Store, configure: Configure, address: str | None
) -> None:
    with server_address(address):
        configure(auth=AuthConfig(mode=AuthMode.NONE))
        at = open_app()
        [refusal] = at.error
        assert "DESK_AUTH=none" in rendered(refusal.value)
        assert "--server.address localhost" in rendered(refusal.value)
        said = "every interface" if not (address or "").strip() else f"listens on {address}"
        assert said in rendered(refusal.value)
        assert titles(at) == ["Deliverability desk"]  # that message, and no page
        assert not any("local admin" in c.value for c in at.sidebar.caption)
        configure(auth=AuthConfig())
        at = open_app()  # unset: local sign-in, and no first-admin form off localhost
        assert "python -m admin users add" in at.warning[0].value
        assert "Create the first admin" not in [s.value for s in at.subheader]
        assert not any("local admin" in c.value for c in at.sidebar.caption)
        assert "Overview" not in titles(at)


def test_oidc_mode_offers_the_identity_provider_and_shows_nothing_else(
    store: admin.Store, configure: Configure
) -> None:
    configure(auth=AuthConfig(mode=AuthMode.OIDC))
    at = open_app()
    assert [b.label for b in at.button] == ["Sign in with your identity provider"]
    assert "Overview" not in titles(at)


def test_support_sees_smtp_settings_and_lint_but_a_save_is_refused_in_plain_words(
    store: admin.Store, configure: Configure
) -> None:
    configure(auth=LOCAL)
    add(store, "sam", "support")
    [account] = store.list_accounts()
    [conn] = store.list_connections(account.id)
    at = sign_in(open_app(), "sam")
    at.switch_page("pages/smtp_settings.py").run()
    assert "SMTP settings" in titles(at)
    # The saved password is linted for support too (in memory; missing only if it were refused).
    assert not any("User name or password missing" in e.value for e in at.error)

    at.text_input(key=f"smtp_{account.id}_{conn.id}_label").input("Renamed by support").run()
    at.button(key=f"smtp_{account.id}_{conn.id}_save").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("sam (support) may not add, change" in rendered(e.value) for e in at.error)
    assert store.get_connection(conn.id).label == "Mailgun EU"


def test_an_expired_session_returns_to_the_sign_in_form_with_a_notice(
    store: admin.Store, configure: Configure
) -> None:
    configure(auth=LOCAL)
    add(store, "dana", "support")
    at = sign_in(open_app(), "dana")
    assert "Overview" in titles(at)
    engine = create_engine(configure().database.address)
    with engine.begin() as connection:  # an hour without use: past the idle limit
        connection.execute(
            text("UPDATE user_sessions SET last_seen_at = :then"),
            {"then": (datetime.now(UTC) - timedelta(hours=1)).replace(tzinfo=None)},
        )
    engine.dispose()
    at.run()
    assert "Your session has expired: sign in again." in [i.value for i in at.info]
    assert [b.label for b in at.button] == ["Sign in"]
    assert SESSION_KEY not in at.session_state
