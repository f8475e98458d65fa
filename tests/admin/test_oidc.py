"""OpenID Connect identities (admin.oidc) and the binding of desk users to a provider's account
(admin.users), on SQLite and PostgreSQL; `python -m admin users unbind-oidc`. The whole flow against
a real provider is tests/e2e/test_oidc.py; the page's side, tests/pages/test_auth_oidc.py."""

from __future__ import annotations

import getpass
import json
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import URL

from admin import AdminInputError, AuditAction, PermissionDenied, Principal, Role, Store
from admin.authentication import OidcOutcome
from admin.database import make_engine, resolve_url
from admin.inputs import clean_name
from admin.migrate import upgrade
from admin.oidc import (
    OidcIdentity,
    OidcPolicy,
    OidcRefusal,
    RefusalReason,
    oidc_identity,
    shown_address,
)
from admin.passwords import Hasher
from diagnostics.config import DeskConfig
from diagnostics.secret import Secret

PASSWORD = "correct horse battery staple 71"
ISSUER = "https://login.microsoftonline.com/3f1c0b4e-0000-4000-8000-5a1e5a1e5a1e/v2.0"
DANA = "dana@bluebird.example"
KELVIN_KIM = "\u212aim@bluebird.example"  # a Kelvin sign: lower-cased, it reads kim@…
NO_TRUST = OidcPolicy()


def claims(**given: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"iss": ISSUER, "sub": "dana-1", "email": DANA, "email_verified": True}
    return {k: v for k, v in (base | given).items() if v is not None}


# -- which claims make an identity (pure) ---------------------------------------------------------


@pytest.mark.parametrize("flag", [True, "true", " TRUE "])
def test_a_verified_address_is_an_identity(flag: object) -> None:
    assert oidc_identity(claims(email_verified=flag), NO_TRUST) == OidcIdentity(
        DANA, ISSUER, "dana-1"
    )


@pytest.mark.parametrize("flag", [None, False, "false", "", "yes", 1, 0, [True]])
def test_an_address_not_said_to_be_verified_is_refused(flag: object) -> None:
    found = oidc_identity(claims(email_verified=flag), NO_TRUST)
    assert found == OidcRefusal(RefusalReason.UNVERIFIED, DANA)
    assert "has not said it verified this address" in found.message


def test_a_trusted_issuer_may_leave_the_claim_out_but_not_deny_it() -> None:
    config = DeskConfig.from_env({"DESK_OIDC_TRUSTED_ISSUERS": f" {ISSUER} ,, https://x.example"})
    trusting = OidcPolicy.from_config(config.auth)
    assert trusting.trusted_issuers == {ISSUER, "https://x.example"}
    assert isinstance(oidc_identity(claims(email_verified=None), trusting), OidcIdentity)
    for flag in (False, "false", "maybe"):
        refused = oidc_identity(claims(email_verified=flag), trusting)
        assert isinstance(refused, OidcRefusal)
        assert refused.reason is RefusalReason.UNVERIFIED
    # Exact values only: no prefix, no other case, no trailing slash.
    for near in (ISSUER + "/", ISSUER.upper(), ISSUER.removesuffix("/v2.0")):
        refused = oidc_identity(claims(iss=near, email_verified=None), trusting)
        assert isinstance(refused, OidcRefusal), near
    assert OidcPolicy.from_config(DeskConfig().auth) == NO_TRUST


def test_a_non_ascii_address_is_refused_before_any_folding_even_when_verified() -> None:
    trusting = OidcPolicy(frozenset({ISSUER}))
    for address in (KELVIN_KIM, "dana@bluebird.exampl\u0435", "dana\u200b@bluebird.example"):
        found = oidc_identity(claims(email=address), trusting)
        assert isinstance(found, OidcRefusal)
        assert found.reason is RefusalReason.NOT_ASCII
        assert found.shown is not None
        assert found.shown.isascii()
    refused = oidc_identity(claims(email=KELVIN_KIM), trusting)
    assert isinstance(refused, OidcRefusal)
    assert refused.shown == "\\u212aim@bluebird.example"  # visible, never "kim@…"
    assert "outside plain ASCII" in refused.message


@pytest.mark.parametrize(
    ("given", "reason"),
    [
        ({"sub": None}, RefusalReason.NO_ACCOUNT),
        ({"iss": None}, RefusalReason.NO_ACCOUNT),
        ({"sub": ""}, RefusalReason.NO_ACCOUNT),
        ({"sub": 42}, RefusalReason.NO_ACCOUNT),
        ({"sub": "s" * 256}, RefusalReason.NO_ACCOUNT),
        ({"email": None}, RefusalReason.NO_ADDRESS),
        ({"email": "  "}, RefusalReason.NO_ADDRESS),
        ({"email": ["dana@bluebird.example"]}, RefusalReason.NO_ADDRESS),
    ],
)
def test_a_token_without_its_account_or_address_is_refused(
    given: dict[str, Any], reason: RefusalReason
) -> None:
    found = oidc_identity(claims(**given), OidcPolicy(frozenset({ISSUER})))
    assert isinstance(found, OidcRefusal)
    assert found.reason is reason
    assert found.message  # plain words for the person


def test_a_shown_address_makes_every_unusual_character_visible() -> None:
    assert shown_address("dana@bluebird.example") == DANA
    assert shown_address("a\u202eevil@x.example") == "a\\u202eevil@x.example"  # RTL override
    assert shown_address("a\tb\x1b@x") == "a\\tb\\x1b@x"
    assert len(shown_address("x" * 500)) == 200


def test_a_user_name_is_never_folded_from_non_ascii() -> None:
    assert clean_name(" Kim@Bluebird.Example ") == "kim@bluebird.example"
    with pytest.raises(AdminInputError, match="plain ASCII"):
        clean_name(KELVIN_KIM)


# -- binding a desk user to the provider's account -------------------------------------------------


@pytest.fixture
def store(make_store: Callable[..., Store]) -> Store:
    opened = make_store(password_hasher=Hasher(fast=True))
    opened.users.add_user(DANA, "support", Secret(PASSWORD))
    opened.users.add_user("kim@bluebird.example", "admin", Secret(PASSWORD))
    return opened


def identity(subject: str = "dana-1", issuer: str = ISSUER, email: str = DANA) -> OidcIdentity:
    return OidcIdentity(email, issuer, subject)


def test_the_first_sign_in_binds_the_user_and_another_account_is_refused(store: Store) -> None:
    first = store.users.oidc_principal(identity())
    assert (first.outcome, first.principal, first.bound) == (
        OidcOutcome.OK,
        Principal(DANA, Role.SUPPORT),
        True,
    )
    again = store.users.oidc_principal(identity(email="Dana@Bluebird.example"))
    assert (again.ok, again.bound) == (True, False)

    for other in (identity("dana-2"), identity(issuer="https://evil.example")):
        refused = store.users.oidc_principal(other)
        assert refused.outcome is OidcOutcome.OTHER_ACCOUNT
        assert refused.principal is None
    assert store.users.get_user(DANA).oidc_subject == "dana-1"

    [bound] = [e for e in store.audit_log() if e.action is AuditAction.USER_CHANGED]
    assert bound.actor == DANA
    assert bound.before is not None
    assert bound.after is not None
    assert (bound.before["oidc_subject"], bound.after["oidc_subject"]) == (None, "dana-1")
    assert bound.after["oidc_issuer"] == ISSUER


def test_unknown_disabled_and_non_ascii_names_are_no_one(store: Store) -> None:
    assert store.users.oidc_principal(identity(email="eve@x.example")).outcome is (
        OidcOutcome.NO_USER
    )
    # Even handed an identity with a Kelvin sign (admin.oidc refuses it first), kim is not found.
    assert store.users.oidc_principal(identity(email=KELVIN_KIM)).outcome is OidcOutcome.NO_USER
    assert store.users.get_user("kim@bluebird.example").oidc_subject is None
    store.users.set_disabled(DANA)
    assert store.users.oidc_principal(identity()).outcome is OidcOutcome.DISABLED
    assert store.users.get_user(DANA).oidc_subject is None  # a disabled user is not bound


def test_two_first_sign_ins_at_once_bind_one_account(
    make_store: Callable[..., Store], store: Store
) -> None:
    stores = [make_store(password_hasher=Hasher(fast=True)) for _ in range(6)]
    barrier = threading.Barrier(len(stores))

    def sign_in(n: int) -> OidcOutcome:
        barrier.wait()
        return stores[n].users.oidc_principal(identity(f"account-{n}")).outcome

    with ThreadPoolExecutor(len(stores)) as pool:
        outcomes = list(pool.map(sign_in, range(len(stores))))
    assert outcomes.count(OidcOutcome.OK) == 1
    assert outcomes.count(OidcOutcome.OTHER_ACCOUNT) == len(stores) - 1
    winner = outcomes.index(OidcOutcome.OK)
    assert store.users.get_user(DANA).oidc_subject == f"account-{winner}"


def test_only_an_admin_clears_a_binding_and_it_is_audited(store: Store) -> None:
    store.users.oidc_principal(identity())
    support = store.as_user(Principal(DANA, Role.SUPPORT))
    with pytest.raises(PermissionDenied):
        support.users.unbind_oidc(DANA)
    cleared = store.users.unbind_oidc(DANA, actor="root")
    assert (cleared.oidc_issuer, cleared.oidc_subject) == (None, None)
    newest = store.audit_log(limit=1)[0]
    assert (newest.actor, newest.action) == ("root", AuditAction.USER_CHANGED)
    assert newest.summary.startswith(f"Cleared the identity provider account of {DANA}")
    assert newest.before is not None
    assert newest.before["oidc_subject"] == "dana-1"
    # The next account to sign in is bound.
    assert store.users.oidc_principal(identity("dana-2")).bound
    # Clearing an unbound user changes nothing and writes nothing.
    count = len(store.audit_log())
    store.users.unbind_oidc("kim@bluebird.example")
    assert len(store.audit_log()) == count


def test_cli_unbind_oidc(
    database: Store, cli: Callable[..., int], capsys: pytest.CaptureFixture[str]
) -> None:
    database.users.add_user(DANA, "support", Secret(PASSWORD))
    database.users.oidc_principal(identity())
    assert cli(["users", "list", "--json"]) == 0
    [listed] = json.loads(capsys.readouterr().out)
    assert (listed["oidc_issuer"], listed["oidc_subject"]) == (ISSUER, "dana-1")
    assert cli(["users", "list"]) == 0
    assert "bound to an identity provider account" in capsys.readouterr().out

    assert cli(["users", "unbind-oidc", DANA]) == 0
    assert "no longer bound" in capsys.readouterr().out
    assert database.users.get_user(DANA).oidc_subject is None
    newest = database.audit_log(limit=1)[0]
    assert newest.actor == f"cli:{getpass.getuser()}"
    assert cli(["users", "unbind-oidc", DANA]) == 0
    assert "nothing changed" in capsys.readouterr().out
    assert cli(["users", "unbind-oidc", "nobody@x.example"]) == 1
    assert "No user named" in capsys.readouterr().err


def test_an_upgrade_keeps_users_and_leaves_them_unbound(
    db_url: URL, make_store: Callable[..., Store]
) -> None:
    engine = make_engine(resolve_url(db_url))
    now = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    try:
        upgrade(engine, "0003_users")
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO users (name, role, password_hash, disabled, created_at, "
                    "updated_at) VALUES (:name, 'admin', 'x', :no, :now, :now)"
                ),
                {
                    "name": DANA,
                    "no": False,
                    "now": now.replace(tzinfo=None)
                    if db_url.get_backend_name() == "sqlite"
                    else now,
                },
            )
    finally:
        engine.dispose()
    store = make_store()
    assert store.users.get_user(DANA).oidc_subject is None
    assert store.users.oidc_principal(identity()).bound
