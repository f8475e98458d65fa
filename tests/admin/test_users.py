"""Local users on SQLite and PostgreSQL: argon2 hashes, throttled sign-in, expiring sessions."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL

from admin import AdminInputError, AuditAction, NotFound, PermissionDenied, Principal, Role, Store
from admin.passwords import Hasher
from admin.signin import SessionPolicy, SessionStatus, SignInOutcome, ThrottlePolicy
from diagnostics.config import DeskConfig
from diagnostics.secret import Secret

PASSWORD = "correct horse battery staple 71"
OTHER_PASSWORD = "Tr0ub4dor&3-but-longer"


class Clock:
    """The store's notion of now, moved by the test (sessions and locks are minutes long)."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class CountingHasher(Hasher):
    """A fast hasher that counts verifications, to see that an unknown name is hashed too."""

    def __init__(self) -> None:
        super().__init__(fast=True)
        self.verified: list[bool] = []

    def verify(self, password_hash: str | None, password: Secret) -> bool:
        self.verified.append(password_hash is None)
        return super().verify(password_hash, password)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def open_store(make_store: Callable[..., Store], clock: Clock) -> Callable[..., Store]:
    def open_(**kwargs: object) -> Store:
        kwargs.setdefault("password_hasher", Hasher(fast=True))
        return make_store(clock=clock, **kwargs)

    return open_


@pytest.fixture
def store(open_store: Callable[..., Store]) -> Store:
    return open_store()


def stored(db_url: URL, sql: str) -> list[tuple[object, ...]]:
    engine = create_engine(db_url)
    try:
        with engine.connect() as connection:
            return [tuple(r) for r in connection.execute(text(sql))]
    finally:
        engine.dispose()


def test_a_password_is_kept_only_as_an_argon2id_hash(
    store: Store, db_url: URL, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    user = store.users.add_user("Dana", "support", Secret(PASSWORD))
    assert (user.name, user.role, user.disabled) == ("dana", Role.SUPPORT, False)
    assert PASSWORD not in repr(user)

    [(password_hash,)] = stored(db_url, "SELECT password_hash FROM users")
    assert isinstance(password_hash, str)
    assert password_hash.startswith("$argon2id$")
    assert PASSWORD not in password_hash
    result = store.users.sign_in("DANA", Secret(PASSWORD))
    assert result.ok, result.message
    dumped = " ".join(
        str(row)
        for table in ("users", "audit_log")
        for row in stored(db_url, f"SELECT * FROM {table}")
    )
    assert PASSWORD not in dumped
    assert PASSWORD not in caplog.text
    assert PASSWORD not in repr(result)


def test_the_default_hasher_uses_the_rfc_9106_low_memory_parameters() -> None:
    made = Hasher().hash(Secret(PASSWORD))
    assert made.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert Hasher().verify(made, Secret(PASSWORD))
    assert not Hasher().verify(made, Secret(OTHER_PASSWORD))


def test_a_weaker_hash_is_upgraded_at_the_next_sign_in(
    open_store: Callable[..., Store], db_url: URL
) -> None:
    weak = open_store()
    weak.users.add_user("erin", "analyst", Secret(PASSWORD))
    strong = open_store(password_hasher=Hasher())
    assert strong.users.sign_in("erin", Secret(PASSWORD)).ok
    [(password_hash,)] = stored(db_url, "SELECT password_hash FROM users")
    assert "m=65536,t=3,p=4" in str(password_hash)


def test_names_and_passwords_are_checked_in_plain_words(store: Store) -> None:
    with pytest.raises(AdminInputError, match="at least 10 characters"):
        store.users.add_user("dana", "support", Secret("short"))
    with pytest.raises(AdminInputError, match="Unknown role 'owner'"):
        store.users.add_user("dana", "owner", Secret(PASSWORD))
    with pytest.raises(AdminInputError, match="user name"):
        store.users.add_user("dana smith", "support", Secret(PASSWORD))
    store.users.add_user("dana", "support", Secret(PASSWORD))
    with pytest.raises(AdminInputError, match="already exists"):
        store.users.add_user("Dana", "admin", Secret(PASSWORD))
    with pytest.raises(NotFound):
        store.users.set_role("nobody", "admin")


def test_wrong_password_and_unknown_name_look_the_same_and_both_cost_a_hash(
    open_store: Callable[..., Store],
) -> None:
    hasher = CountingHasher()
    store = open_store(password_hasher=hasher)
    store.users.add_user("dana", "support", Secret(PASSWORD))
    wrong = store.users.sign_in("dana", Secret(OTHER_PASSWORD))
    unknown = store.users.sign_in("mallory", Secret(OTHER_PASSWORD))
    assert (wrong.outcome, wrong.message) == (unknown.outcome, unknown.message)
    assert wrong.outcome is SignInOutcome.WRONG
    assert wrong.principal is None
    assert wrong.session_token is None
    # one verification each: against dana's hash, then against the dummy for the unknown name
    assert hasher.verified == [False, True]


def test_failed_tries_lock_the_name_for_a_doubling_time_across_stores(
    open_store: Callable[..., Store], clock: Clock
) -> None:
    store = open_store()
    store.users.add_user("dana", "support", Secret(PASSWORD))
    policy = ThrottlePolicy()
    for _ in range(policy.free_tries - 1):
        assert store.users.sign_in("dana", Secret(OTHER_PASSWORD)).retry_after is None
    third = store.users.sign_in("dana", Secret(OTHER_PASSWORD))
    assert third.retry_after == policy.first_lock.total_seconds()
    assert "Too many failed sign-ins" in third.message

    # Another process (another Store on the same database) sees the lock; even the right password
    # is refused without being checked while it lasts.
    other = open_store()
    locked = other.users.sign_in("dana", Secret(PASSWORD))
    assert locked.outcome is SignInOutcome.LOCKED
    assert locked.session_token is None

    clock.advance(seconds=policy.first_lock.total_seconds() + 0.5)
    fourth = other.users.sign_in("dana", Secret(OTHER_PASSWORD))
    assert fourth.retry_after == 2 * policy.first_lock.total_seconds()
    clock.advance(seconds=fourth.retry_after + 0.5)
    fifth = store.users.sign_in("dana", Secret(OTHER_PASSWORD))
    assert fifth.retry_after == 4 * policy.first_lock.total_seconds()
    clock.advance(seconds=fifth.retry_after + 0.5)

    assert store.users.sign_in("dana", Secret(PASSWORD)).ok
    # A success starts the count again.
    assert store.users.sign_in("dana", Secret(OTHER_PASSWORD)).retry_after is None


def test_the_lock_grows_to_its_cap_and_old_failures_are_forgotten(
    store: Store, clock: Clock
) -> None:
    policy = ThrottlePolicy()
    waits = []
    for _ in range(20):
        result = store.users.sign_in("ghost", Secret(OTHER_PASSWORD))
        waits.append(result.retry_after or 0.0)
        clock.advance(seconds=(result.retry_after or 0) + 1)
    assert max(waits) == policy.max_lock.total_seconds()
    assert waits == sorted(waits)
    clock.advance(seconds=policy.forget_after.total_seconds() + 1)
    assert store.users.sign_in("ghost", Secret(OTHER_PASSWORD)).retry_after is None


def test_a_client_guessing_many_names_is_locked_but_others_are_not(store: Store) -> None:
    store.users.add_user("dana", "support", Secret(PASSWORD))
    for name in ("alice", "bob", "carol"):
        store.users.sign_in(name, Secret(OTHER_PASSWORD), client_key="198.51.100.7")
    locked = store.users.sign_in("dana", Secret(PASSWORD), client_key="198.51.100.7")
    assert locked.outcome is SignInOutcome.LOCKED
    assert store.users.sign_in("dana", Secret(PASSWORD), client_key="203.0.113.9").ok


ATTACKER = "198.51.100.7"
OWNER = "203.0.113.9"


def test_guesses_from_one_client_never_lock_the_owner_out_from_another(
    store: Store, clock: Clock
) -> None:
    """Issue 10, finding 6: a hundred wrong passwords for alice from one address lock that address,
    not alice: her right password from her own machine signs in at once."""
    store.users.add_user("alice", "admin", Secret(PASSWORD))
    policy = ThrottlePolicy()
    waited = 0.0
    for _ in range(100):  # each a real failure: the attacker waits out every lock but the last
        clock.advance(seconds=waited)
        result = store.users.sign_in("alice", Secret(OTHER_PASSWORD), client_key=ATTACKER)
        assert result.outcome is SignInOutcome.WRONG
        waited = (result.retry_after or 0) + 1
    assert result.retry_after == policy.max_lock.total_seconds()  # locked now, for 15 minutes

    owner = store.users.sign_in("alice", Secret(PASSWORD), client_key=OWNER)
    assert owner.ok, owner.message
    assert owner.retry_after is None
    # The attacker's address stays locked, for alice and for any other name, right password or not.
    assert store.users.sign_in("alice", Secret(PASSWORD), client_key=ATTACKER).outcome is (
        SignInOutcome.LOCKED
    )
    assert store.users.sign_in("bob", Secret(PASSWORD), client_key=ATTACKER).outcome is (
        SignInOutcome.LOCKED
    )

    log = store.audit_log(limit=1000)
    failed = [e for e in log if e.action is AuditAction.SIGN_IN_FAILED]
    assert len(failed) == 100
    assert {(e.actor, (e.after or {}).get("client")) for e in failed} == {("alice", ATTACKER)}
    locks = [e for e in log if e.action is AuditAction.SIGN_IN_LOCKED]
    assert locks
    assert {(e.after or {}).get("client") for e in locks} == {ATTACKER}
    [signed_in] = [e for e in log if e.action is AuditAction.SIGNED_IN]
    assert (signed_in.actor, (signed_in.after or {}).get("client")) == ("alice", OWNER)


def test_a_name_guessed_from_many_clients_slows_those_clients_only(
    store: Store, clock: Clock
) -> None:
    """Guesses spread over many addresses (each below its own limit) slow down every address that
    has failed for the name, for a short bounded time; an address that has not failed is not."""
    store.users.add_user("alice", "admin", Secret(PASSWORD))
    policy = ThrottlePolicy()
    waits = []
    for n in range(40):
        client = f"198.51.100.{n}"
        first = store.users.sign_in("alice", Secret(OTHER_PASSWORD), client_key=client)
        assert first.outcome is SignInOutcome.WRONG  # a new address is never refused unseen
        waits.append(first.retry_after or 0.0)
        if first.retry_after:
            # That address, having failed, waits; even its right password is not checked.
            again = store.users.sign_in("alice", Secret(PASSWORD), client_key=client)
            assert again.outcome is SignInOutcome.LOCKED
            assert again.retry_after is not None
            assert again.retry_after <= policy.name_max_delay.total_seconds()
        clock.advance(seconds=1)
    assert waits[: policy.free_tries - 1] == [0.0] * (policy.free_tries - 1)
    assert max(waits) == policy.name_max_delay.total_seconds()  # slowed, within its bound
    assert waits == sorted(waits)
    slowed = [
        e
        for e in store.audit_log(limit=1000)
        if e.action is AuditAction.SIGN_IN_LOCKED and "name_failures" in (e.after or {})
    ]
    assert len(slowed) == 40 - (policy.free_tries - 1)  # every slowed address, said so
    assert slowed[0].summary == (
        "Sign-in locked for 30 seconds for the name alice from the client 198.51.100.39 "
        "after 1 failed try; the name has 40 failed tries from all clients."
    )
    # The owner, from an address that has not failed, signs in at once, and that clears the
    # name's count: the next address to fail is not slowed by the guesses before.
    assert store.users.sign_in("alice", Secret(PASSWORD), client_key=OWNER).ok
    after = store.users.sign_in("alice", Secret(OTHER_PASSWORD), client_key="198.51.100.99")
    assert after.retry_after is None


def test_a_session_expires_when_idle_and_after_its_absolute_lifetime(
    store: Store, clock: Clock, db_url: URL
) -> None:
    store.users.add_user("dana", "support", Secret(PASSWORD))
    signed = store.users.sign_in("dana", Secret(PASSWORD))
    assert signed.session_token is not None
    token = signed.session_token
    assert token.reveal() not in repr(signed)
    [(kept,)] = stored(db_url, "SELECT token_hash FROM user_sessions")
    assert kept != token.reveal()
    assert token.reveal() not in str(stored(db_url, "SELECT * FROM user_sessions"))

    check = store.users.resume(token)
    assert check.ok
    assert check.principal is not None
    assert (check.principal.name, check.principal.role) == ("dana", Role.SUPPORT)

    # Used every 20 minutes, it lives until the absolute limit (12 hours) and no longer.
    for _ in range(35):
        clock.advance(minutes=20)
        assert store.users.resume(token).ok
    clock.advance(minutes=21)  # 12 h 01 min after sign-in, 21 min after the last use
    assert store.users.resume(token).status is SessionStatus.EXPIRED
    assert store.users.resume(token).status is SessionStatus.UNKNOWN

    again = store.users.sign_in("dana", Secret(PASSWORD)).session_token
    clock.advance(minutes=31)
    expired = store.users.resume(again)
    assert expired.status is SessionStatus.EXPIRED
    assert "expired" in expired.message


def test_sign_out_disable_and_new_password_end_sessions_and_role_changes_apply_at_once(
    store: Store,
) -> None:
    store.users.add_user("root", "admin", Secret(PASSWORD))
    store.users.add_user("dana", "support", Secret(PASSWORD))
    first = store.users.sign_in("dana", Secret(PASSWORD)).session_token
    second = store.users.sign_in("dana", Secret(PASSWORD)).session_token
    store.users.end(first)
    assert store.users.resume(first).status is SessionStatus.UNKNOWN

    store.users.set_role("dana", "analyst", actor="root")
    check = store.users.resume(second)
    assert check.principal is not None
    assert check.principal.role is Role.ANALYST

    store.users.set_password("dana", Secret(OTHER_PASSWORD))
    assert not store.users.resume(second).ok
    assert not store.users.sign_in("dana", Secret(PASSWORD)).ok
    third = store.users.sign_in("dana", Secret(OTHER_PASSWORD)).session_token

    store.users.set_disabled("dana")
    assert not store.users.resume(third).ok
    refused = store.users.sign_in("dana", Secret(OTHER_PASSWORD))
    assert refused.outcome is SignInOutcome.DISABLED
    store.users.set_disabled("dana", False)
    assert store.users.sign_in("dana", Secret(OTHER_PASSWORD)).ok


def test_the_last_enabled_admin_cannot_be_demoted_or_disabled(store: Store) -> None:
    store.users.add_user("root", "admin", Secret(PASSWORD))
    with pytest.raises(PermissionDenied, match="last enabled admin"):
        store.users.set_role("root", "support")
    with pytest.raises(PermissionDenied, match="last enabled admin"):
        store.users.set_disabled("root")
    store.users.add_user("second", "admin", Secret(PASSWORD))
    assert store.users.set_disabled("root").disabled


def test_the_first_admin_can_be_created_once_only(store: Store) -> None:
    assert not store.users.has_users()
    first = store.users.add_first_admin("owner", Secret(PASSWORD))
    assert first.role is Role.ADMIN
    assert store.users.has_users()
    with pytest.raises(PermissionDenied, match="already exist"):
        store.users.add_first_admin("intruder", Secret(PASSWORD))
    assert [u.name for u in store.users.list_users()] == ["owner"]


def test_user_changes_are_in_the_audit_log_under_who_made_them(store: Store) -> None:
    store.users.add_user("root", "admin", Secret(PASSWORD))
    root = store.users.get_user("root").principal
    as_root = store.as_user(root)
    as_root.users.add_user("dana", "support", Secret(PASSWORD))
    as_root.users.set_role("dana", "analyst")
    entries = store.audit_log(limit=5)
    assert [e.actor for e in entries[:2]] == ["root", "root"]
    assert "analyst" in entries[0].summary
    assert entries[0].after == {"name": "dana", "role": "analyst", "disabled": False}


def test_only_admins_manage_users(store: Store) -> None:
    store.users.add_user("root", "admin", Secret(PASSWORD))
    store.users.add_user("dana", "support", Secret(PASSWORD))
    for role in ("support", "analyst"):
        view = store.as_user(Principal("dana", Role(role)))
        with pytest.raises(PermissionDenied, match="may not add, change or disable users"):
            view.users.add_user("eve", "admin", Secret(PASSWORD))
        with pytest.raises(PermissionDenied):
            view.users.set_role("dana", "admin", actor="system")
        with pytest.raises(PermissionDenied):
            view.users.list_users()
    assert [u.name for u in store.users.list_users()] == ["dana", "root"]


def test_concurrent_failures_all_count(open_store: Callable[..., Store], db_url: URL) -> None:
    """Eight processes' worth of stores failing at once for one new name: no failure is lost and
    none of them errors (the first-failure insert races are absorbed)."""
    stores = [open_store() for _ in range(8)]
    barrier = threading.Barrier(len(stores))

    def fail(store: Store) -> SignInOutcome:
        barrier.wait()
        return store.users.sign_in("target", Secret(OTHER_PASSWORD)).outcome

    with ThreadPoolExecutor(len(stores)) as pool:
        outcomes = list(pool.map(fail, stores))
    [(failures,)] = stored(
        db_url, "SELECT failures FROM sign_in_throttle WHERE key = 'user:target'"
    )
    locked = outcomes.count(SignInOutcome.LOCKED)
    # Every try either counted as a failure or found the name already locked.
    assert failures + locked == len(stores)
    assert failures >= ThrottlePolicy().free_tries


def test_stale_sessions_and_old_failures_are_swept(store: Store, clock: Clock, db_url: URL) -> None:
    store.users.add_user("dana", "support", Secret(PASSWORD))
    store.users.sign_in("dana", Secret(PASSWORD))  # a browser that never comes back
    store.users.sign_in("guess-1", Secret(OTHER_PASSWORD))
    clock.advance(hours=2)
    store.users.sign_in("guess-2", Secret(OTHER_PASSWORD))
    store.users.sign_in("dana", Secret(PASSWORD))
    # The name's count from every client and its count from this (unknown) client.
    assert sorted(stored(db_url, "SELECT key FROM sign_in_throttle")) == [
        ("name:guess-2",),
        ("user:guess-2",),
    ]
    assert len(stored(db_url, "SELECT token_hash FROM user_sessions")) == 1


def test_session_limits_come_from_the_configuration() -> None:
    # A malformed DESK_SESSION_IDLE_MINUTES is refused where it is read: tests/diagnostics/test_config.py.
    default = SessionPolicy()
    assert SessionPolicy.from_config(DeskConfig().auth) == default
    assert (default.idle, default.absolute) == (timedelta(minutes=30), timedelta(hours=12))
    config = DeskConfig.from_env({"DESK_SESSION_IDLE_MINUTES": "5", "DESK_SESSION_MAX_HOURS": "1"})
    set_ = SessionPolicy.from_config(config.auth)
    assert (set_.idle, set_.absolute) == (timedelta(minutes=5), timedelta(hours=1))
