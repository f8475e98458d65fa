"""A sign-in through OpenID Connect in the audit log once, however many browser sessions show it
(admin.authentication: `audit_oidc_sign_in`, `audit_oidc_refusal`, `audit_oidc_session_expired`),
checked in the database on SQLite and PostgreSQL. The page's side is tests/pages/test_auth_oidc.py."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from admin import AuditAction, AuditEntry, Principal, Role, Store

DANA = Principal("dana@bluebird.example", Role.SUPPORT)
ISSUED = 1_790_000_000  # an ID token's iat


def entries(store: Store, action: AuditAction) -> list[AuditEntry]:
    return [e for e in store.audit_log(limit=10_000) if e.action is action]


def test_a_sign_in_is_audited_once_per_token(store: Store) -> None:
    assert store.users.audit_oidc_sign_in(DANA, ISSUED)
    assert not store.users.audit_oidc_sign_in(DANA, ISSUED)  # a reload, a new tab
    [entry] = entries(store, AuditAction.SIGNED_IN)
    assert (entry.actor, entry.summary) == (
        DANA.name,
        f"{DANA.name} signed in (support) through the identity provider.",
    )
    assert entry.after == {"via": "openid connect", "token_issued_at": ISSUED}

    assert store.users.audit_oidc_sign_in(DANA, ISSUED + 30)  # signed in again at the provider
    other = Principal("kim@bluebird.example", Role.ADMIN)
    assert store.users.audit_oidc_sign_in(other, ISSUED)  # someone else, the same second
    assert len(entries(store, AuditAction.SIGNED_IN)) == 3


def test_a_token_without_an_issue_time_cannot_be_told_apart_and_is_audited_each_time(
    store: Store,
) -> None:
    assert store.users.audit_oidc_sign_in(DANA, None)
    assert store.users.audit_oidc_sign_in(DANA, None)
    assert len(entries(store, AuditAction.SIGNED_IN)) == 2


def test_the_entry_is_found_however_far_back_it_is(store: Store) -> None:
    """The page used to look through the newest 200 entries only: a busy log made it write the
    same sign-in again."""
    assert store.users.audit_oidc_sign_in(DANA, ISSUED)
    for n in range(250):
        store.audit_event(AuditAction.REPORTS_IMPORTED, f"Import {n}.")
    assert not store.users.audit_oidc_sign_in(DANA, ISSUED)
    assert len(entries(store, AuditAction.SIGNED_IN)) == 1


def test_a_refusal_is_audited_once_per_token_and_account(store: Store) -> None:
    refused = {"issuer": "https://id.example", "subject": "someone-else"}
    for _ in range(2):
        store.users.audit_oidc_refusal(DANA.name, "bound to another account", ISSUED, refused)
    # Another account refused for the same address and token time is another refusal.
    store.users.audit_oidc_refusal(
        DANA.name, "bound to another account", ISSUED, refused | {"subject": "a-third"}
    )
    store.users.audit_oidc_refusal(None, "the identity provider gave no address", ISSUED)
    store.users.audit_oidc_refusal(None, "the identity provider gave no address", ISSUED)
    failed = entries(store, AuditAction.SIGN_IN_FAILED)
    assert [(e.actor, (e.after or {}).get("subject")) for e in failed] == [
        ("(no address)", None),
        (DANA.name, "a-third"),
        (DANA.name, "someone-else"),
    ]  # newest first
    assert failed[0].summary == (
        "Failed sign-in through the identity provider as an account without an address: "
        "the identity provider gave no address."
    )
    assert failed[-1].summary == (
        f"Failed sign-in through the identity provider as {DANA.name}: bound to another account."
    )


def test_an_expired_sign_in_and_a_sign_out_read_as_a_local_users(store: Store) -> None:
    assert store.users.audit_oidc_session_expired(DANA, ISSUED)
    assert not store.users.audit_oidc_session_expired(DANA, ISSUED)
    store.users.audit_oidc_sign_out(DANA)
    [expired] = entries(store, AuditAction.SESSION_EXPIRED)
    [signed_out] = entries(store, AuditAction.SIGNED_OUT)
    assert expired.summary == f"The session of {DANA.name} expired."
    assert signed_out.summary == f"{DANA.name} signed out."
    assert signed_out.actor == DANA.name


def test_browser_sessions_at_once_write_one_entry(make_store: Callable[..., Store]) -> None:
    stores = [make_store() for _ in range(6)]
    start = threading.Barrier(len(stores))

    def sign_in(store: Store) -> bool:
        start.wait()
        return store.users.audit_oidc_sign_in(DANA, ISSUED)

    with ThreadPoolExecutor(len(stores)) as pool:
        written = list(pool.map(sign_in, stores))
    assert written.count(True) == 1, written
    assert len(entries(stores[0], AuditAction.SIGNED_IN)) == 1
