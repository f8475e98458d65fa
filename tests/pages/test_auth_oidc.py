"""The OIDC side of the sign-in gate (DESK_AUTH=oidc) without a browser: AppTest sets what st.user
says, as Streamlit's identity cookie would, and the real store underneath records what happened.
The whole flow against a real identity provider is tests/e2e/test_oidc.py."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from streamlit import config as st_config
from streamlit.runtime.secrets import secrets_singleton
from streamlit.testing.v1 import AppTest

import admin
from admin.records import AuditAction, AuditEntry
from diagnostics.config import AuthConfig, AuthMode
from diagnostics.secret import Secret
from tests.pages.conftest import Configure
from tests.pages.untrusted import live, markdown_of, rendered

APP = str(Path(__file__).resolve().parents[2] / "app.py")
DANA = "dana@bluebird.example"
KIM = "kim@bluebird.example"  # an admin
ISSUED = int(time.time()) - 60  # an ID token's iat: signed in at the provider a minute ago
HOUR = 3600
ISSUER = "https://id.bluebird.example"
# What every ID token of the provider says about its account; tests add the rest.
ACCOUNT = {"iss": ISSUER, "sub": "dana-account-1", "email_verified": True}
OIDC = AuthConfig(mode=AuthMode.OIDC)  # DESK_AUTH=oidc


@pytest.fixture
def store(configure: Configure) -> Iterator[admin.Store]:
    """The app's database (a fresh SQLite file, its own key) with Dana, a support user."""
    config = configure(secret_key=Secret(admin.generate_key()), auth=OIDC)
    opened = admin.Store.from_config(config)
    opened.users.add_user(DANA, "support", Secret(secrets.token_urlsafe(18)))
    yield opened
    opened.close()


def signed_in(claims: dict[str, Any]) -> AppTest:
    """A browser session whose identity cookie holds `claims` (a fresh session: a reload, a tab),
    on top of the provider's account claims (ACCOUNT) unless `claims` says otherwise; a claim set
    to None is left out."""
    at = AppTest.from_file(APP, default_timeout=30)
    given = {**ACCOUNT, **claims}
    at.user = {"is_logged_in": True, **{k: v for k, v in given.items() if v is not None}}
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def captions(at: AppTest) -> list[str]:
    """The sidebar's captions as a person reads them (the signed-in name is shown as text)."""
    return [rendered(c.value) for c in at.sidebar.caption]


def entries(store: admin.Store, action: AuditAction) -> list[AuditEntry]:
    return [e for e in store.audit_log(limit=100) if e.action is action]


def test_a_sign_in_is_audited_once_whatever_the_reloads(store: admin.Store) -> None:
    at = signed_in({"email": DANA, "iat": ISSUED})
    assert f"Signed in as **{DANA}** (support)" in captions(at)
    at.run()  # a rerun of the same session
    signed_in({"email": DANA, "iat": ISSUED})  # a reload: a new session, the same cookie
    [entry] = entries(store, AuditAction.SIGNED_IN)
    assert entry.actor == DANA
    assert entry.summary == f"{DANA} signed in (support) through the identity provider."

    signed_in({"email": DANA, "iat": ISSUED + 30})  # signed in again at the provider
    assert len(entries(store, AuditAction.SIGNED_IN)) == 2


def test_sign_out_is_audited_and_ends_the_identity(store: admin.Store) -> None:
    at = signed_in({"email": DANA, "iat": ISSUED})
    at.button(key="desk_sign_out").click().run()
    assert not at.exception, [e.value for e in at.exception]
    [entry] = entries(store, AuditAction.SIGNED_OUT)
    assert (entry.actor, entry.summary) == (DANA, f"{DANA} signed out.")
    assert [b.label for b in at.button] == ["Sign in with your identity provider"]


def test_an_address_without_a_desk_user_is_refused_and_not_audited_as_a_sign_in(
    store: admin.Store,
) -> None:
    at = signed_in({"email": "eve@elsewhere.example", "iat": ISSUED})
    assert "eve@elsewhere.example has no access to the desk" in rendered(at.error[0].value)
    assert [t.value for t in at.title] == ["Deliverability desk"]
    assert entries(store, AuditAction.SIGNED_IN) == []


@pytest.mark.parametrize("flag", [False, "false", None, "", "yes", 1])
def test_an_address_the_provider_has_not_verified_is_refused(
    store: admin.Store, flag: object
) -> None:
    """None: no email_verified claim at all, as a provider that lets anyone type an address sends
    (multi-tenant Entra ID, "nOAuth"): not the provider's word, but nobody's."""
    at = signed_in({"email": DANA, "email_verified": flag, "iat": ISSUED})
    assert "has not said it verified this address" in rendered(at.error[0].value)
    assert "Signed in as" not in " ".join(captions(at))
    assert entries(store, AuditAction.SIGNED_IN) == []


@pytest.mark.parametrize("flag", [True, "true", "True"])
def test_a_verified_address_signs_in(store: admin.Store, flag: object) -> None:
    at = signed_in({"email": DANA, "email_verified": flag, "iat": ISSUED})
    assert not at.error
    assert f"Signed in as **{DANA}** (support)" in captions(at)


def test_a_trusted_issuer_needs_no_email_verified_claim_but_false_still_refuses(
    store: admin.Store, configure: Configure
) -> None:
    # DESK_OIDC_TRUSTED_ISSUERS="https://other.example, ISSUER"
    configure(auth=replace(OIDC, trusted_issuers=frozenset({"https://other.example", ISSUER})))
    at = signed_in({"email": DANA, "email_verified": None, "iat": ISSUED})
    assert not at.error
    assert f"Signed in as **{DANA}** (support)" in captions(at)
    at = signed_in({"email": DANA, "email_verified": False, "iat": ISSUED + 1})
    assert "has not said it verified this address" in rendered(at.error[0].value)

    # Only the exact issuer: another one (even a longer URL) needs the claim.
    at = signed_in(
        {"email": DANA, "email_verified": None, "iss": f"{ISSUER}/tenant", "iat": ISSUED + 2}
    )
    assert "has not said it verified this address" in rendered(at.error[0].value)


def test_a_kelvin_sign_never_becomes_a_k(store: admin.Store) -> None:
    """ "\u212aim@…" is another address at the provider; lower-cased it would read "kim@…"."""
    store.users.add_user(KIM, "admin", Secret(secrets.token_urlsafe(18)))
    at = signed_in({"email": "\u212aim@bluebird.example", "iat": ISSUED})
    [error] = at.error
    assert "outside plain ASCII" in rendered(error.value)
    assert "\\u212aim@bluebird.example" in rendered(
        error.value
    )  # named, with the sign made visible
    assert "Signed in as" not in " ".join(captions(at))
    assert entries(store, AuditAction.SIGNED_IN) == []
    assert failures(store) == [
        (
            "\\u212aim@bluebird.example",
            "Failed sign-in through the identity provider as \\u212aim@bluebird.example: "
            "the address is not plain ASCII.",
        )
    ]
    [kim] = [u for u in store.users.list_users() if u.name == KIM]
    assert kim.oidc_subject is None  # and kim's account was not bound to the impostor


def test_a_token_without_its_account_is_refused(store: admin.Store) -> None:
    at = signed_in({"email": DANA, "sub": None, "iat": ISSUED})
    assert "names no account" in rendered(at.error[0].value)
    assert entries(store, AuditAction.SIGNED_IN) == []


def test_a_user_is_bound_to_the_first_account_and_another_one_is_refused(
    store: admin.Store,
) -> None:
    at = signed_in({"email": DANA, "iat": ISSUED})
    assert f"Signed in as **{DANA}** (support)" in captions(at)
    dana = store.users.get_user(DANA)
    assert (dana.oidc_issuer, dana.oidc_subject) == (ISSUER, "dana-account-1")

    # Another account of the same provider (or another tenant) with Dana's verified address.
    for _ in range(2):  # a reload is the same refused sign-in: audited once
        at = signed_in({"email": DANA, "sub": "someone-else", "iat": ISSUED + 5})
        [error] = at.error
        assert "signs in to the desk through another account" in rendered(error.value)
        assert "python -m admin users unbind-oidc" in rendered(error.value)
        assert "Signed in as" not in " ".join(captions(at))
        assert "Overview" not in [t.value for t in at.title]
    at = signed_in({"email": DANA, "iss": "https://id.other.example", "iat": ISSUED + 6})
    assert "through another account" in rendered(at.error[0].value)
    refused = entries(store, AuditAction.SIGN_IN_FAILED)
    assert [e.after["subject"] for e in refused if e.after] == ["dana-account-1", "someone-else"]
    assert refused[-1].summary == (
        f"Failed sign-in through the identity provider as {DANA}: "
        "the desk user is bound to another account at the identity provider."
    )

    # The first account still signs in; once an admin clears the binding the next one binds.
    signed_in({"email": DANA, "iat": ISSUED + 7})
    store.users.unbind_oidc(DANA)
    at = signed_in({"email": DANA, "sub": "someone-else", "iat": ISSUED + 8})
    assert f"Signed in as **{DANA}** (support)" in captions(at)
    assert store.users.get_user(DANA).oidc_subject == "someone-else"


def test_an_address_from_the_provider_is_shown_as_text(store: admin.Store) -> None:
    """Markdown in a claimed address (an image that would make the browser fetch a URL) is shown
    as the characters it is."""
    address = "![x](http://198.51.100.9/p.png)@evil.example"
    at = signed_in({"email": address, "iat": ISSUED})
    [error] = at.error
    assert f"{address} has no access to the desk" in rendered(error.value)
    assert [live(source, "198.51.100.9") for source in markdown_of(at)] == [
        [] for _ in markdown_of(at)
    ]


def test_no_address_from_the_provider_becomes_a_live_link(store: admin.Store) -> None:
    """A plain address in a refusal or in the sidebar would be a live mailto: link (GitHub's
    autolinks, which Streamlit applies to text): shown as text, it is not."""
    for claims in (
        {"email": "eve@elsewhere.example"},  # no desk user
        {"email": DANA, "sub": "someone-else"},  # bound to another account, after Dana below
        {"email": DANA, "email_verified": False},  # not verified
    ):
        if claims.get("sub"):
            signed_in({"email": DANA, "iat": ISSUED})  # binds Dana to her own account first
        at = signed_in({**claims, "iat": ISSUED + 1})
        assert at.error, claims
        said = markdown_of(at)
        assert [
            s for s in said if live(s, "elsewhere.example") or live(s, "bluebird.example")
        ] == []
    at = signed_in({"email": DANA, "iat": ISSUED + 2})
    assert f"Signed in as **{DANA}** (support)" in captions(at)
    assert [s for s in markdown_of(at) if live(s, "bluebird.example")] == []


@pytest.fixture
def secrets_file(tmp_path: Path) -> Iterator[Path]:
    """A secrets.toml of the test's own as Streamlit's only one (never the repository's or ~'s);
    Streamlit's process-wide copy of the secrets is dropped before and after."""
    path = tmp_path / "secrets.toml"
    saved = st_config.get_option("secrets.files")
    st_config.set_option("secrets.files", [str(path)])
    secrets_singleton._reset()
    yield path
    st_config.set_option("secrets.files", saved)
    secrets_singleton._reset()


def test_an_incomplete_auth_section_is_said_plainly(store: admin.Store, secrets_file: Path) -> None:
    cookie_secret = secrets.token_urlsafe(24)
    secrets_file.write_text(
        "[auth]\n"
        'redirect_uri = "http://127.0.0.1:8501/oauth2callback"\n'
        f'cookie_secret = "{cookie_secret}"\n'
        'client_id = "desk"\n'
        'server_metadata_url = "http://127.0.0.1:9/.well-known/openid-configuration"\n'
    )
    at = AppTest.from_file(APP, default_timeout=30).run()
    at.button[0].click().run()
    assert not at.exception, [e.value for e in at.exception]
    [error] = at.error
    assert "not set up on this server" in rendered(error.value)
    assert "client_secret" in rendered(error.value)  # the missing key, by name
    assert cookie_secret not in repr(at.main) + repr(at.sidebar)
    assert [b.label for b in at.button] == ["Sign in with your identity provider"]


def test_a_sign_in_older_than_the_session_limit_asks_for_a_new_one(
    store: admin.Store, configure: Configure
) -> None:
    """Streamlit's identity cookie lasts 30 days; the desk keeps its own limit (12 h unless
    DESK_SESSION_MAX_HOURS says otherwise), as for local users."""
    at = signed_in({"email": DANA, "iat": ISSUED - 11 * HOUR})
    assert f"Signed in as **{DANA}** (support)" in captions(at)

    for _ in range(2):  # a reload shows the same expired sign-in: one audit entry
        at = signed_in({"email": DANA, "iat": ISSUED - 13 * HOUR})
        assert "Your session has expired: sign in again." in [i.value for i in at.info]
        assert [b.label for b in at.button] == ["Sign in with your identity provider"]
        assert "Overview" not in [t.value for t in at.title]
    [expired] = entries(store, AuditAction.SESSION_EXPIRED)
    assert (expired.actor, expired.summary) == (DANA, f"The session of {DANA} expired.")

    configure(auth=replace(OIDC, session_max=timedelta(hours=1)))  # DESK_SESSION_MAX_HOURS=1
    at = signed_in({"email": DANA, "iat": ISSUED - 2 * HOUR})
    assert "Your session has expired: sign in again." in [i.value for i in at.info]


def failures(store: admin.Store) -> list[tuple[str, str]]:
    return [(e.actor, e.summary) for e in entries(store, AuditAction.SIGN_IN_FAILED)]


def test_refusals_are_audited_once_per_sign_in(store: admin.Store) -> None:
    for _ in range(2):  # a reload of the refusal is the same refused sign-in
        signed_in({"email": "eve@elsewhere.example", "iat": ISSUED})
        signed_in({"email": DANA, "email_verified": False, "iat": ISSUED})
    assert sorted(failures(store)) == [
        (
            DANA,
            f"Failed sign-in through the identity provider as {DANA}: "
            "the identity provider has not verified the address.",
        ),
        (
            "eve@elsewhere.example",
            "Failed sign-in through the identity provider as eve@elsewhere.example: "
            "no desk user has this address.",
        ),
    ]


def test_a_disabled_user_is_told_so(store: admin.Store) -> None:
    store.users.set_disabled(DANA)
    at = signed_in({"email": DANA, "iat": ISSUED})
    assert f"{DANA} is disabled on the desk" in rendered(at.error[0].value)
    assert "Overview" not in [t.value for t in at.title]
    assert failures(store) == [
        (DANA, f"Failed sign-in through the identity provider as {DANA}: the user is disabled.")
    ]


def test_an_overlong_address_is_refused_without_a_traceback(store: admin.Store) -> None:
    at = signed_in({"email": "x" * 300 + "@example.com", "iat": ISSUED})
    assert "has no access to the desk" in rendered(at.error[0].value)
    [(actor, _)] = failures(store)
    assert actor == "x" * 200
