"""Sign-ins, sign-outs, lock-outs, the first admin and `python -m admin users` in the audit log, on
SQLite and PostgreSQL: each entry names the user, and no entry holds a password, typed or stored."""

from __future__ import annotations

import getpass
import json
from collections.abc import Callable
from datetime import timedelta

import pytest

from admin import AuditAction, AuditEntry, Store
from admin.authentication import UNKNOWN_NAME
from admin.passwords import Hasher
from admin.signin import SessionPolicy, SessionStatus, SignInOutcome, ThrottlePolicy
from diagnostics.secret import Secret
from tests.admin.conftest import CLI_PASSWORD
from tests.admin.test_users import Clock

PASSWORD = "correct horse battery staple 71"
WRONG = "Tr0ub4dor&3-but-longer"
# What a person types into the name field by mistake: it must never reach the audit log.
PASSWORD_AS_NAME = "hunter2-my-real-password"
CLIENT = "203.0.113.9"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(make_store: Callable[..., Store], clock: Clock) -> Store:
    return make_store(clock=clock, password_hasher=Hasher(fast=True))


def entries(store: Store, action: AuditAction | None = None) -> list[AuditEntry]:
    found = store.audit_log(limit=1000)
    return [e for e in found if action is None or e.action is action]


def no_password_in(store: Store, *secrets: str) -> None:
    for entry in entries(store):
        written = (
            f"{entry.actor} {entry.summary} {json.dumps(entry.before)} {json.dumps(entry.after)}"
        )
        for secret in secrets:
            assert secret not in written, entry


def test_a_sign_in_is_audited_under_the_users_name_with_the_client(store: Store) -> None:
    store.users.add_user("dana", "support", Secret(PASSWORD))
    assert store.users.sign_in("Dana", Secret(PASSWORD), client_key=CLIENT).ok
    [entry] = entries(store, AuditAction.SIGNED_IN)
    assert entry.actor == "dana"
    assert entry.summary == f"dana signed in (support) from {CLIENT}."
    assert entry.after == {"client": CLIENT}
    no_password_in(store, PASSWORD)


def test_a_failed_sign_in_names_the_user_tried_but_never_the_typed_password(store: Store) -> None:
    store.users.add_user("dana", "support", Secret(PASSWORD))
    result = store.users.sign_in("dana", Secret(WRONG), client_key=CLIENT)
    assert result.outcome is SignInOutcome.WRONG
    [entry] = entries(store, AuditAction.SIGN_IN_FAILED)
    assert entry.actor == "dana"
    assert "dana" in entry.summary
    assert CLIENT in entry.summary
    assert entry.after is not None
    assert entry.after["name"] == "dana"
    assert entry.after["known_user"] is True
    assert entry.after["client"] == CLIENT
    assert entries(store, AuditAction.SIGNED_IN) == []
    no_password_in(store, WRONG, PASSWORD)


def test_a_name_that_is_no_user_is_audited_by_its_length_only(store: Store) -> None:
    store.users.add_user("dana", "support", Secret(PASSWORD))
    store.users.sign_in(PASSWORD_AS_NAME, Secret(WRONG))
    [entry] = entries(store, AuditAction.SIGN_IN_FAILED)
    assert entry.actor == UNKNOWN_NAME
    assert f"{len(PASSWORD_AS_NAME)} characters" in entry.summary
    assert entry.after is not None
    assert entry.after["known_user"] is False
    assert entry.after["name_length"] == len(PASSWORD_AS_NAME)

    not_a_name = "My Password 1!"  # not even shaped like a user name
    store.users.sign_in(not_a_name, Secret(WRONG))
    newest = entries(store, AuditAction.SIGN_IN_FAILED)[0]
    assert newest.actor == UNKNOWN_NAME
    assert newest.after is not None
    assert newest.after["name_length"] == len(not_a_name)
    no_password_in(store, PASSWORD_AS_NAME, not_a_name, "my password", WRONG)


def test_a_disabled_user_with_the_right_password_is_audited_as_refused(store: Store) -> None:
    store.users.add_user("root", "admin", Secret(PASSWORD))
    store.users.add_user("dana", "support", Secret(PASSWORD))
    store.users.set_disabled("dana")
    assert store.users.sign_in("dana", Secret(PASSWORD)).outcome is SignInOutcome.DISABLED
    [entry] = entries(store, AuditAction.SIGN_IN_FAILED)
    assert entry.actor == "dana"
    assert "disabled" in entry.summary
    no_password_in(store, PASSWORD)


def test_a_lock_out_is_audited_when_it_starts_and_tries_while_locked_are_not(
    store: Store, clock: Clock
) -> None:
    store.users.add_user("dana", "support", Secret(PASSWORD))
    free = ThrottlePolicy().free_tries
    for _ in range(free):
        store.users.sign_in("dana", Secret(WRONG))
    [lock] = entries(store, AuditAction.SIGN_IN_LOCKED)
    assert lock.actor == "dana"
    assert lock.after is not None
    assert (lock.after["locked"], lock.after["failures"]) == ("name", free)
    assert lock.after["seconds"] == ThrottlePolicy().first_lock.total_seconds()
    assert f"after {free} failed tries" in lock.summary
    assert len(entries(store, AuditAction.SIGN_IN_FAILED)) == free

    before = len(entries(store))
    for _ in range(5):  # hammering a locked name checks no password and writes nothing
        assert store.users.sign_in("dana", Secret(WRONG)).outcome is SignInOutcome.LOCKED
    assert len(entries(store)) == before

    clock.advance(seconds=3)
    store.users.sign_in("dana", Secret(WRONG))  # the next failure doubles the lock
    longer = entries(store, AuditAction.SIGN_IN_LOCKED)[0]
    assert longer.after is not None
    assert longer.after["failures"] == free + 1
    assert longer.after["seconds"] == 2 * ThrottlePolicy().first_lock.total_seconds()
    no_password_in(store, WRONG, PASSWORD)


def test_a_client_guessing_names_is_locked_and_the_lock_names_the_client(store: Store) -> None:
    for n in range(ThrottlePolicy().free_tries):
        store.users.sign_in(f"guess-{n}", Secret(WRONG), client_key=CLIENT)
    [lock] = entries(store, AuditAction.SIGN_IN_LOCKED)
    assert lock.after is not None
    assert lock.after["locked"] == "client"
    assert lock.after["client"] == CLIENT
    assert f"the client {CLIENT}" in lock.summary
    assert "guess-" not in lock.summary + json.dumps(lock.after)  # names no user has stay out


def test_sign_out_is_audited_once(store: Store) -> None:
    store.users.add_user("dana", "support", Secret(PASSWORD))
    token = store.users.sign_in("dana", Secret(PASSWORD)).session_token
    store.users.end(token)
    store.users.end(token)  # a stale tab signing out again ends nothing
    [entry] = entries(store, AuditAction.SIGNED_OUT)
    assert (entry.actor, entry.summary) == ("dana", "dana signed out.")
    assert not store.users.resume(token).ok


def test_an_expired_session_is_audited_as_expired_not_as_a_sign_out(
    make_store: Callable[..., Store], clock: Clock
) -> None:
    store = make_store(
        clock=clock,
        password_hasher=Hasher(fast=True),
        sessions=SessionPolicy(idle=timedelta(minutes=30)),
    )
    store.users.add_user("dana", "support", Secret(PASSWORD))
    token = store.users.sign_in("dana", Secret(PASSWORD)).session_token
    clock.advance(minutes=31)
    assert store.users.resume(token).status is SessionStatus.EXPIRED
    [entry] = entries(store, AuditAction.SESSION_EXPIRED)
    assert entry.actor == "dana"
    assert entries(store, AuditAction.SIGNED_OUT) == []


def test_the_first_admin_is_audited_under_their_own_name(store: Store) -> None:
    store.users.add_first_admin("Owner", Secret(PASSWORD))
    [entry] = entries(store, AuditAction.USER_ADDED)
    assert entry.actor == "owner"
    assert "first admin" in entry.summary
    assert entry.after == {"name": "owner", "role": "admin", "disabled": False}
    no_password_in(store, PASSWORD)


def test_every_cli_change_is_audited_under_the_login_name_without_the_password(
    database: Store, cli: Callable[..., int], capsys: pytest.CaptureFixture[str]
) -> None:
    login = f"cli:{getpass.getuser()}"
    env = ["--password-env", "DESK_TEST_PASSWORD"]
    commands = [
        (["users", "add", "dana", "--role", "support", *env], AuditAction.USER_ADDED, "Added"),
        (["users", "set-role", "dana", "analyst"], AuditAction.USER_CHANGED, "role"),
        (["users", "disable", "dana"], AuditAction.USER_CHANGED, "Disabled"),
        (["users", "enable", "dana"], AuditAction.USER_CHANGED, "Enabled"),
        (["users", "set-password", "dana", *env], AuditAction.USER_CHANGED, "password"),
    ]
    for argv, action, word in commands:
        assert cli(argv) == 0, capsys.readouterr().err
        newest = database.audit_log(limit=1)[0]
        assert (newest.actor, newest.action) == (login, action), argv
        assert word in newest.summary, argv
        assert "dana" in newest.summary, argv
    assert cli(["users", "list"]) == 0  # a read: no entry
    assert len(database.audit_log(limit=100)) == len(commands)
    no_password_in(database, CLI_PASSWORD)
