"""Sample data for the embedded default: realistic situations, once, and never over real data."""

from __future__ import annotations

from admin import AuditAction, Plan, RouteMode, Store, ensure_sample_data
from admin.sample import ACTOR


def test_sample_data_shows_the_common_situations(store: Store) -> None:
    assert ensure_sample_data(store) is True
    accounts = {a.name: a for a in store.list_accounts()}
    assert len(accounts) >= 4
    plans = {a.plan for a in accounts.values()}
    assert plans == set(Plan)
    modes = {a.route.mode for a in accounts.values()}
    assert modes == {RouteMode.CUSTOM, RouteMode.MANAGED, RouteMode.PAUSED}

    nano_sendgrid = [
        c
        for a in accounts.values()
        if a.plan is Plan.NANO
        for c in store.list_connections(a.id)
        if c.host == "smtp.sendgrid.net"
    ]
    assert nano_sendgrid
    assert nano_sendgrid[0].active
    assert nano_sendgrid[0].username != "apikey"  # the mistake support should find

    ses = [
        store.connection_settings(c.id)
        for a in accounts.values()
        if a.plan is Plan.AGENCY
        for c in store.list_connections(a.id)
        if c.host.endswith(".amazonaws.com")
    ]
    assert ses
    assert len(ses[0].secret) == 44  # the shape of an SES SMTP password (fake)
    paused = [a for a in accounts.values() if a.route.mode is RouteMode.PAUSED]
    assert any("was deleted" in a.route.reason for a in paused)
    assert {e.actor for e in store.audit_log(limit=1000)} == {ACTOR}


def test_sample_data_is_loaded_once(store: Store) -> None:
    assert ensure_sample_data(store)
    names = [a.name for a in store.list_accounts()]
    entries = len(store.audit_log(limit=1000))
    assert ensure_sample_data(store) is False
    assert [a.name for a in store.list_accounts()] == names
    assert len(store.audit_log(limit=1000)) == entries


def test_sample_data_never_mixes_into_real_data(store: Store) -> None:
    real = store.create_account("Real Customer", "pro", actor="alice@desk")
    assert ensure_sample_data(store) is False
    assert store.list_accounts() == [store.get_account(real.id)]
    assert all(e.action is AuditAction.ACCOUNT_CREATED for e in store.audit_log())
