"""Every role against every store action, on SQLite and PostgreSQL: the store itself refuses."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from admin import AuditAction, PermissionDenied, Principal, Role, Store
from admin.access import GRANTS, Permission
from admin.passwords import Hasher
from diagnostics.secret import Secret
from tests.admin.settings_samples import SENDGRID_KEY, mailgun, sendgrid

ADMIN, SUPPORT, ANALYST = Role.ADMIN, Role.SUPPORT, Role.ANALYST


@dataclass
class Ids:
    account: int
    connection: int
    spare: int  # a second connection, for the actions that delete or activate


Action = Callable[[Store, Ids], Any]

# action -> the roles the store lets do it
MATRIX: dict[str, tuple[Action, set[Role]]] = {
    "list accounts": (lambda s, i: s.list_accounts(), {ADMIN, SUPPORT, ANALYST}),
    "get account": (lambda s, i: s.get_account(i.account), {ADMIN, SUPPORT, ANALYST}),
    "outbound route": (lambda s, i: s.outbound_route(i.account), {ADMIN, SUPPORT, ANALYST}),
    "create account": (lambda s, i: s.create_account("New Co", "pro"), {ADMIN}),
    "change plan": (lambda s, i: s.change_plan(i.account, "agency"), {ADMIN}),
    "list connections": (lambda s, i: s.list_connections(i.account), {ADMIN, SUPPORT}),
    "get connection": (lambda s, i: s.get_connection(i.connection), {ADMIN, SUPPORT}),
    "read a saved password": (lambda s, i: s.connection_settings(i.connection), {ADMIN}),
    "settings for a probe": (
        lambda s, i: s.probe_settings(i.connection, s.principal),
        {ADMIN, SUPPORT},
    ),
    "add connection": (lambda s, i: s.add_connection(i.account, mailgun(), "MG 2"), {ADMIN}),
    "update connection": (lambda s, i: s.update_connection(i.connection, label="Renamed"), {ADMIN}),
    "activate": (lambda s, i: s.activate(i.spare), {ADMIN}),
    "use managed": (lambda s, i: s.use_managed(i.account), {ADMIN}),
    "delete connection": (lambda s, i: s.delete_connection(i.spare), {ADMIN}),
    "audit log": (lambda s, i: s.audit_log(i.account), {ADMIN, SUPPORT}),
    "record a probe": (
        lambda s, i: s.record_probe(i.account, i.connection, {"ok": True, "transcript": ""}),
        {ADMIN, SUPPORT},
    ),
    "probe history": (lambda s, i: s.probe_history(i.account), {ADMIN, SUPPORT}),
    "list users": (lambda s, i: s.users.list_users(), {ADMIN}),
    "add user": (
        lambda s, i: s.users.add_user("newbie", "analyst", Secret("a long enough password")),
        {ADMIN},
    ),
}


def fresh(store: Store) -> Ids:
    account = store.create_account("Bluebird Bakery", "pro")
    connection = store.add_connection(account.id, sendgrid(), "SendGrid")
    spare = store.add_connection(account.id, mailgun(), "Mailgun", activate=False)
    return Ids(account.id, connection.id, spare.id)


@pytest.mark.parametrize("role", list(Role), ids=str)
def test_each_role_may_do_exactly_its_actions(make_store: Callable[..., Store], role: Role) -> None:
    system = make_store(password_hasher=Hasher(fast=True))
    view = system.as_user(Principal(f"{role.value}-user", role))
    for name, (action, allowed) in MATRIX.items():
        ids = fresh(system)
        entries_before = len(system.audit_log(limit=1000))
        if role in allowed:
            action(view, ids)
        else:
            with pytest.raises(PermissionDenied) as refused:
                action(view, ids)
            assert f"{role.value}-user ({role.value}) may not" in str(refused.value), name
            assert isinstance(refused.value, PermissionError)
            # A refused write leaves no trace: no audit entry, nothing changed.
            assert len(system.audit_log(limit=1000)) == entries_before, name
            assert system.get_connection(ids.spare).label == "Mailgun"


def test_the_matrix_is_the_documented_grants() -> None:
    assert GRANTS[SUPPORT] >= {Permission.RUN_PROBES, Permission.UPLOAD_REPORTS}
    assert Permission.READ_SECRETS not in GRANTS[SUPPORT]
    assert GRANTS[ANALYST] == {Permission.VIEW_ACCOUNTS, Permission.VIEW_REPORTS}
    assert GRANTS[ADMIN] == set(Permission)


def test_a_users_writes_are_audited_under_their_name(store: Store) -> None:
    ids = fresh(store)
    dana = store.as_user(Principal("dana", ADMIN))
    dana.update_connection(ids.connection, label="SendGrid (main)")
    support = store.as_user(Principal("sam", SUPPORT))
    record = support.record_probe(ids.account, ids.connection, {"ok": True, "transcript": ""})
    assert record.actor == "sam"
    [entry] = store.audit_log(ids.account, limit=1)
    assert (entry.actor, entry.action) == ("dana", AuditAction.CONNECTION_UPDATED)


def test_a_bound_store_cannot_be_talked_into_acting_as_someone_else(store: Store) -> None:
    ids = fresh(store)
    analyst = store.as_user(Principal("ann", ANALYST))
    with pytest.raises(PermissionDenied):
        analyst.create_account("Sneaky", "pro", actor="system")
    with pytest.raises(PermissionDenied, match="ann may not act as root"):
        analyst.activate(ids.spare, actor=Principal("root", ADMIN))
    assert "ann" in repr(analyst)
    # The view shares the database: closing it leaves the store usable.
    analyst.close()
    assert store.get_account(ids.account).name == "Bluebird Bakery"


def test_support_gets_probe_settings_whose_password_never_shows(store: Store) -> None:
    ids = fresh(store)
    support = store.as_user(Principal("sam", SUPPORT))
    settings = support.probe_settings(ids.connection)
    assert settings.secret.reveal() == SENDGRID_KEY  # what the probe will send, inside the server
    shown = f"{settings!r} {settings} {settings.public_dict()}"
    assert SENDGRID_KEY not in shown
    with pytest.raises(PermissionDenied, match="may not read saved SMTP passwords"):
        support.connection_settings(ids.connection)


def test_plain_actor_names_stay_trusted_local_admins(store: Store) -> None:
    account = store.create_account("Harbor", "nano", actor="cli-user")
    assert store.principal.name == "system"
    assert store.audit_log(account.id)[0].actor == "cli-user"
