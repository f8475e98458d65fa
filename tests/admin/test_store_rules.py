"""The platform's rules through the store, on SQLite and PostgreSQL: plans, routing, connections."""

from __future__ import annotations

import pytest

from admin import (
    AdminInputError,
    NotFound,
    Plan,
    PlanRuleError,
    RouteMode,
    Store,
)
from diagnostics.secret import Secret
from diagnostics.smtp.settings import Security
from tests.admin.settings_samples import SENDGRID_KEY, SES_PASSWORD, mailgun, sendgrid, ses

PAID = ["starter", "pro", "agency"]


def test_a_new_nano_account_is_paused(store: Store) -> None:
    account = store.create_account("Bluebird Bakery", "nano")
    assert account.plan is Plan.NANO
    route = store.outbound_route(account.id)
    assert route.mode is RouteMode.PAUSED
    assert route.connection_id is None
    assert "Nano plan has no managed sending" in route.reason


@pytest.mark.parametrize("plan", PAID)
def test_a_new_paid_account_sends_managed(store: Store, plan: str) -> None:
    account = store.create_account("Northwind Legal", plan)
    assert store.outbound_route(account.id).mode is RouteMode.MANAGED
    assert store.get_account(account.id).route == store.outbound_route(account.id)


def test_create_account_validates_name_and_plan(store: Store) -> None:
    with pytest.raises(AdminInputError, match="plan must be one of"):
        store.create_account("X", "enterprise")
    with pytest.raises(AdminInputError, match="empty"):
        store.create_account("   ", "pro")
    assert store.list_accounts() == []
    assert store.audit_log() == []


def test_nano_sends_through_its_first_connection(store: Store) -> None:
    account = store.create_account("Bluebird Bakery", "nano")
    conn = store.add_connection(account.id, sendgrid(), label="SendGrid")
    assert conn.active
    route = store.outbound_route(account.id)
    assert (route.mode, route.connection_id) == (RouteMode.CUSTOM, conn.id)
    assert "SendGrid" in route.reason


def test_nano_cannot_choose_managed_and_nothing_changes(store: Store) -> None:
    account = store.create_account("Bluebird Bakery", "nano")
    conn = store.add_connection(account.id, sendgrid())
    entries = len(store.audit_log(account.id))
    with pytest.raises(PlanRuleError, match="Nano plan has no managed sending") as caught:
        store.use_managed(account.id, actor="alice@desk")
    assert isinstance(caught.value, ValueError)
    assert store.outbound_route(account.id).connection_id == conn.id
    assert len(store.audit_log(account.id)) == entries
    # Also refused while paused, with no connection at all.
    paused = store.create_account("Cedar Studio", "nano")
    with pytest.raises(PlanRuleError):
        store.use_managed(paused.id)
    assert store.outbound_route(paused.id).mode is RouteMode.PAUSED


def test_deleting_the_last_connection_pauses_nano_with_the_reason(store: Store) -> None:
    account = store.create_account("Bluebird Bakery", "nano")
    conn = store.add_connection(account.id, sendgrid(), label="SendGrid main")
    route = store.delete_connection(conn.id, actor="bob@desk")
    assert route.mode is RouteMode.PAUSED
    assert route.connection_id is None
    assert "last custom connection (“SendGrid main”) was deleted" in route.reason
    assert store.outbound_route(account.id) == route
    assert store.list_connections(account.id) == []


@pytest.mark.parametrize("plan", PAID)
def test_deleting_the_last_connection_switches_a_paid_plan_to_managed(
    store: Store, plan: str
) -> None:
    account = store.create_account("Harbor & Pine", plan)
    conn = store.add_connection(account.id, ses(), label="SES")
    assert store.outbound_route(account.id).mode is RouteMode.CUSTOM
    route = store.delete_connection(conn.id)
    assert route.mode is RouteMode.MANAGED
    assert "switched back to managed sending" in route.reason
    assert "“SES”" in route.reason


@pytest.mark.parametrize("plan", ["nano", "pro"])
def test_deleting_the_active_one_of_several_hands_over_to_the_newest(
    store: Store, plan: str
) -> None:
    account = store.create_account("Harbor & Pine", plan)
    first = store.add_connection(account.id, ses(), label="SES")
    second = store.add_connection(account.id, mailgun(), label="Mailgun", activate=False)
    third = store.add_connection(account.id, sendgrid(), label="SendGrid", activate=False)
    assert store.outbound_route(account.id).connection_id == first.id
    route = store.delete_connection(first.id)
    assert (route.mode, route.connection_id) == (RouteMode.CUSTOM, third.id)
    assert "“SES” was deleted" in route.reason
    # Deleting an inactive one changes nothing.
    assert store.delete_connection(second.id) == route
    assert [c.id for c in store.list_connections(account.id)] == [third.id]


def test_a_paid_plan_switches_between_managed_and_custom_at_will(store: Store) -> None:
    account = store.create_account("Northwind Legal", "pro")
    ses_conn = store.add_connection(account.id, ses(), label="SES")
    mg_conn = store.add_connection(account.id, mailgun(), label="Mailgun")
    assert not mg_conn.active  # the account already had an active connection
    assert store.outbound_route(account.id).connection_id == ses_conn.id

    route = store.use_managed(account.id)
    assert (route.mode, route.connection_id) == (RouteMode.MANAGED, None)
    assert "an admin chose managed sending" in route.reason
    assert [c.active for c in store.list_connections(account.id)] == [False, False]

    route = store.activate(mg_conn.id)
    assert (route.mode, route.connection_id) == (RouteMode.CUSTOM, mg_conn.id)
    route = store.activate(ses_conn.id)
    assert route.connection_id == ses_conn.id
    assert store.use_managed(account.id).mode is RouteMode.MANAGED
    # Saving a connection while on managed makes it active, as "Bring your own SMTP" does;
    # activate=False keeps managed sending.
    kept = store.add_connection(account.id, sendgrid(), activate=False)
    assert not kept.active
    assert store.outbound_route(account.id).mode is RouteMode.MANAGED
    taken = store.add_connection(account.id, sendgrid())
    assert store.outbound_route(account.id).connection_id == taken.id


def test_nano_activates_a_connection_even_when_asked_not_to_while_paused(store: Store) -> None:
    account = store.create_account("Bluebird Bakery", "nano")
    conn = store.add_connection(account.id, sendgrid(), activate=False)
    assert conn.active
    assert store.outbound_route(account.id).mode is RouteMode.CUSTOM


def test_changing_plans_keeps_the_rules(store: Store) -> None:
    account = store.create_account("Cedar Studio", "nano")
    assert store.outbound_route(account.id).mode is RouteMode.PAUSED
    upgraded = store.change_plan(account.id, "starter", actor="carol@desk")
    assert upgraded.plan is Plan.STARTER
    assert upgraded.route.mode is RouteMode.MANAGED
    assert "moved to the Starter plan" in upgraded.route.reason
    conn = store.add_connection(account.id, sendgrid(), activate=False)
    # Back to Nano while on managed: the saved connection takes over rather than pausing mail.
    down = store.change_plan(account.id, "nano")
    assert (down.route.mode, down.route.connection_id) == (RouteMode.CUSTOM, conn.id)
    store.delete_connection(conn.id)
    assert store.outbound_route(account.id).mode is RouteMode.PAUSED
    other = store.create_account("Empty", "pro")
    assert store.change_plan(other.id, "nano").route.mode is RouteMode.PAUSED
    # The same plan again is no change and no audit entry.
    entries = len(store.audit_log(other.id))
    store.change_plan(other.id, "nano")
    assert len(store.audit_log(other.id)) == entries


def test_unknown_ids_raise_not_found(store: Store) -> None:
    account = store.create_account("Real", "pro")
    calls = [
        lambda: store.get_account(999),
        lambda: store.outbound_route(999),
        lambda: store.list_connections(999),
        lambda: store.add_connection(999, sendgrid()),
        lambda: store.use_managed(999),
        lambda: store.change_plan(999, "pro"),
        lambda: store.activate(999),
        lambda: store.delete_connection(999),
        lambda: store.update_connection(999, label="x"),
        lambda: store.connection_settings(999),
        lambda: store.get_connection(999),
        lambda: store.record_probe(999, None, {"ok": True}),
    ]
    for call in calls:
        with pytest.raises(NotFound) as caught:
            call()
        assert isinstance(caught.value, LookupError)
        assert "999" in str(caught.value)
    assert store.outbound_route(account.id).mode is RouteMode.MANAGED


def test_connections_are_listed_with_the_password_as_a_hint_only(store: Store) -> None:
    account = store.create_account("Bluebird Bakery", "nano")
    conn = store.add_connection(account.id, sendgrid(), label="  SendGrid   main ")
    listed = store.list_connections(account.id)
    assert listed == [conn]
    assert conn.label == "SendGrid main"
    assert conn.password_hint == f"set, ends in …{SENDGRID_KEY[-4:]}"
    assert conn.public_dict() == sendgrid().public_dict()
    assert SENDGRID_KEY not in repr(conn)
    assert store.get_connection(conn.id) == conn
    unnamed = store.add_connection(account.id, ses())
    assert unnamed.label == "email-smtp.eu-west-1.amazonaws.com:465"


def test_connection_settings_decrypt_for_the_probe(store: Store) -> None:
    account = store.create_account("Harbor & Pine", "agency")
    conn = store.add_connection(account.id, ses())
    settings = store.connection_settings(conn.id)
    assert settings == ses()
    assert settings.secret.reveal() == SES_PASSWORD
    assert settings.security is Security.TLS
    assert SES_PASSWORD not in repr(settings)


def test_update_connection_keeps_the_password_when_left_blank(store: Store) -> None:
    account = store.create_account("Harbor & Pine", "agency")
    conn = store.add_connection(account.id, ses(), label="SES")
    changed = store.update_connection(
        conn.id,
        ses(password="").with_changes(port=587, security=Security.STARTTLS),
        label="SES 587",
    )
    assert (changed.port, changed.security, changed.label) == (587, Security.STARTTLS, "SES 587")
    assert store.connection_settings(conn.id).secret.reveal() == SES_PASSWORD
    new_password = "BNewNewNewNewNewNewNewNewNewNewNewNewNewNew12"
    store.update_connection(conn.id, ses(password=new_password))
    assert store.connection_settings(conn.id).secret == Secret(new_password)
    cleared = store.update_connection(conn.id, ses(password=""), keep_password_if_empty=False)
    assert cleared.password_hint == "not set"
    assert store.connection_settings(conn.id).secret.reveal() == ""


def test_update_without_a_change_is_not_audited(store: Store) -> None:
    account = store.create_account("Harbor & Pine", "agency")
    conn = store.add_connection(account.id, ses(), label="SES")
    entries = len(store.audit_log(account.id))
    assert store.update_connection(conn.id, ses(), label="SES") == conn
    assert store.update_connection(conn.id, ses(password="")) == conn
    assert len(store.audit_log(account.id)) == entries


def test_a_connection_can_only_be_activated_for_its_own_account(store: Store) -> None:
    one = store.create_account("One", "pro")
    two = store.create_account("Two", "pro")
    conn = store.add_connection(one.id, ses())
    store.activate(conn.id)
    assert store.outbound_route(two.id).mode is RouteMode.MANAGED
    with pytest.raises(NotFound, match="does not belong"):
        store.record_probe(two.id, conn.id, {"ok": True})


def test_accounts_are_listed_by_name_with_their_routes(store: Store) -> None:
    b = store.create_account("Bluebird Bakery", "nano")
    a = store.create_account("Acme", "pro")
    store.add_connection(b.id, sendgrid())
    listed = store.list_accounts()
    assert [x.name for x in listed] == ["Acme", "Bluebird Bakery"]
    assert [x.route.mode for x in listed] == [RouteMode.MANAGED, RouteMode.CUSTOM]
    assert listed[0] == store.get_account(a.id)
    assert listed[0].created_at.tzinfo is not None


def test_deleting_an_unused_last_connection_keeps_a_chosen_managed_route(store: Store) -> None:
    account = store.create_account("Northwind Legal", "starter")
    conn = store.add_connection(account.id, ses())
    chosen = store.use_managed(account.id)
    assert store.delete_connection(conn.id) == chosen
    assert "an admin chose managed sending" in store.outbound_route(account.id).reason
