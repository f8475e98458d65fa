"""The stored support queue (issue 16), on SQLite and PostgreSQL: refreshed from each sample
account's diagnosis (admin.diagnosis) against a loopback nameserver, ranked, filtered by plan,
kind and provider; a test, a connection change or an import marks a row for the next refresh;
analysts read it and refresh nothing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from admin import PermissionDenied, Principal, Role, Store, ensure_sample_data
from admin.diagnosis import diagnose_account
from admin.queue_refresh import (
    mark_new_reports,
    refresh_account,
    refresh_accounts,
    refresh_reported,
    save_diagnosis,
)
from admin.reports import import_reports
from admin.troubles import TroubleKind
from diagnostics.dmarc import ReportStore
from tests.admin.settings_samples import sendgrid
from tests.admin.test_diagnosis import NOW, ZONE, reports
from tests.support.nameserver import LoopbackNameserver
from tests.support.trend_reports import aggregate_xml

__all__ = ["reports"]  # the fixture: the sample accounts' demo reports, as test_diagnosis has them


@pytest.fixture
def refresh(
    store: Store, reports: ReportStore, nameserver: Callable[..., LoopbackNameserver]
) -> Callable[..., Any]:
    assert ensure_sample_data(store)
    server = nameserver(ZONE)

    def run(ids: list[int] | None = None, on: Store | None = None) -> Any:
        target = on or store
        return refresh_accounts(
            target,
            target.queue.to_refresh() if ids is None else ids,
            report_store=reports,
            resolver=server.resolver(),
            now=NOW,
        )

    return run


def by_name(store: Store) -> dict[str, Any]:
    return {e.account_name: e for e in store.queue.entries(everyone=True)}


def test_every_account_refreshed_ranked_with_one_plain_line(
    store: Store, refresh: Callable[..., Any]
) -> None:
    assert store.queue.counts()["missing"] == 5
    refresh()
    assert store.queue.to_refresh() == []
    ranked = store.queue.entries()
    # Paused Nano first; then the two with a lint error and the provider missing from SPF.
    assert next(e.account_name for e in ranked) == "Cedar Studio"
    assert ranked[0].kinds == (TroubleKind.NANO_PAUSED,)
    assert ranked[0].line.startswith("Outbound mail is paused: the last custom connection")
    entries = by_name(store)
    assert entries["Bluebird Bakery"].kinds == (
        TroubleKind.PROVIDER_MISSING_FROM_SPF,
        TroubleKind.CONNECTION_LINT,
    )
    assert entries["Bluebird Bakery"].line == (
        "bluebird-bakery.example's SPF record does not authorize TrekMail managed sending "
        "(include:spf.trekmail.net), so its mail fails SPF. (and 1 other problem)"
    )
    assert entries["Lumen Fitness"].kinds[1] is TroubleKind.CONNECTION_LINT
    assert "IAM secret key" in entries["Lumen Fitness"].troubles[1].line
    assert entries["Northwind Legal"].score == 0
    assert "Northwind Legal" not in {e.account_name for e in ranked}
    for entry in entries.values():
        assert "_" not in entry.line  # plain words; codes stay in kinds and --json


def test_filters_by_plan_kind_and_provider(store: Store, refresh: Callable[..., Any]) -> None:
    refresh()
    assert {e.account_name for e in store.queue.entries(plan="nano")} == {
        "Cedar Studio",
        "Bluebird Bakery",
    }
    lint = store.queue.entries(kind="connection_lint")
    assert {e.account_name for e in lint} == {"Bluebird Bakery", "Lumen Fitness"}
    assert [
        e.account_name for e in store.queue.entries(provider="ses", kind="connection_lint")
    ] == ["Lumen Fitness"]
    assert [e.account_name for e in store.queue.entries(provider="")] == ["Cedar Studio"]
    plans, providers = store.queue.facets()
    assert "nano" in plans
    assert providers == ["sendgrid", "ses"]
    assert store.queue.entries(limit=1)[0].account_name == "Cedar Studio"


def test_a_failed_test_marks_the_row_and_the_refresh_ranks_it(
    store: Store, refresh: Callable[..., Any]
) -> None:
    refresh()
    bakery = next(a for a in store.list_accounts() if a.name == "Bluebird Bakery")
    (conn,) = store.list_connections(bakery.id)
    store.record_probe(
        bakery.id,
        conn.id,
        {"ok": False, "symptom": "auth_failed", "stage": "auth", "duration": 0.2},
    )
    assert store.queue.to_refresh() == [bakery.id]
    assert store.queue.entry(bakery.id).stale  # type: ignore[union-attr]
    refresh()
    entry = store.queue.entry(bakery.id)
    assert entry is not None
    assert not entry.stale
    assert entry.kinds[0] is TroubleKind.CONNECTION_FAILING
    assert entry.score == 80 + 50 + 30
    # A change to the account marks it too.
    store.change_plan(bakery.id, "pro")
    assert store.queue.to_refresh() == [bakery.id]


def test_an_import_marks_the_accounts_of_its_domains(
    store: Store, reports: ReportStore, refresh: Callable[..., Any]
) -> None:
    refresh()
    admin_user = Principal("dana", Role.ADMIN)
    xml = aggregate_xml(
        "lumenfitness.example", NOW - dt.timedelta(days=1), [("192.0.2.1", 5, True)], report_id="q"
    )
    import_reports(store.as_user(admin_user), admin_user, reports, [xml])
    lumen = next(a for a in store.list_accounts() if a.name == "Lumen Fitness")
    assert store.queue.to_refresh() == [lumen.id]


def test_reports_stored_by_any_way_mark_their_accounts_at_the_next_refresh(
    store: Store, reports: ReportStore, refresh: Callable[..., Any]
) -> None:
    refresh()
    assert mark_new_reports(store, reports) == 0  # the first look notes where reports stand
    # Stored without admin.reports (the report mailbox, the CLI, the receiver).
    xml = aggregate_xml(
        "bluebird-bakery.example",
        NOW - dt.timedelta(days=1),
        [("192.0.2.9", 4, True)],
        report_id="z",
    )
    reports.import_files([xml])
    assert mark_new_reports(store, reports) == 1
    bakery = next(a for a in store.list_accounts() if a.name == "Bluebird Bakery")
    assert store.queue.to_refresh() == [bakery.id]
    assert mark_new_reports(store, reports) == 0


def test_analysts_read_the_queue_and_refresh_nothing(
    store: Store, reports: ReportStore, refresh: Callable[..., Any], nameserver: Any
) -> None:
    refresh()
    analyst = store.as_user(Principal("ana", Role.ANALYST))
    assert next(e.account_name for e in analyst.queue.entries()) == "Cedar Studio"
    assert analyst.queue.rules()[TroubleKind.NO_REPORTS].threshold("days") == 7
    first = store.list_accounts()[0]
    with pytest.raises(PermissionDenied):
        refresh_account(
            analyst, first.id, report_store=reports, resolver=nameserver(ZONE).resolver()
        )
    # Nothing in a row is a connection's setting or secret.
    for entry in analyst.queue.entries(everyone=True):
        text = repr(entry.to_dict())
        assert "smtp." not in text
        assert "SG." not in text


def test_a_diagnosis_already_got_saves_the_row_as_a_refresh_would(
    store: Store, reports: ReportStore, refresh: Callable[..., Any], nameserver: Any
) -> None:
    """The Overview's path: the row is saved from the diagnosis it has just got, no second one."""
    refresh()
    bakery = next(a for a in store.list_accounts() if a.name == "Bluebird Bakery")
    before = store.queue.entry(bakery.id)
    assert before is not None
    assert TroubleKind.CONNECTION_FAILING not in before.kinds
    (conn,) = store.list_connections(bakery.id)
    store.record_probe(
        bakery.id,
        conn.id,
        {"ok": False, "symptom": "auth_failed", "stage": "auth", "duration": 0.2},
    )
    found = diagnose_account(
        store, bakery.id, report_store=reports, resolver=nameserver(ZONE).resolver(), now=NOW
    )
    entry = save_diagnosis(store, found, report_store=reports)
    assert not entry.stale
    assert entry.kinds[0] is TroubleKind.CONNECTION_FAILING
    assert entry.refreshed_at >= before.refreshed_at
    assert store.queue.entry(bakery.id) == entry
    assert store.queue.to_refresh() == []


def test_an_analysts_diagnosis_never_overwrites_the_row(
    store: Store, reports: ReportStore, refresh: Callable[..., Any], nameserver: Any
) -> None:
    """Without the connections, the row would lose their troubles: refused, whoever saves."""
    refresh()
    lumen = next(a for a in store.list_accounts() if a.name == "Lumen Fitness")
    before = store.queue.entry(lumen.id)
    assert before is not None
    assert TroubleKind.CONNECTION_LINT in before.kinds
    analyst = store.as_user(Principal("ana", Role.ANALYST))
    found = diagnose_account(
        analyst, lumen.id, report_store=reports, resolver=nameserver(ZONE).resolver(), now=NOW
    )
    assert not found.connections_visible
    for saver in (analyst, store):
        with pytest.raises(PermissionDenied):
            save_diagnosis(saver, found, report_store=reports)
    assert store.queue.entry(lumen.id) == before


def test_after_an_import_its_domains_marked_accounts_are_refreshed_at_most_a_limit(
    store: Store, reports: ReportStore, refresh: Callable[..., Any], nameserver: Any
) -> None:
    domains = ("lumenfitness.example", "bluebird-bakery.example")
    # Two weeks ago both domains' mail came from one known sender, passing.
    reports.import_files(
        [
            aggregate_xml(d, NOW - dt.timedelta(days=14), [("192.0.2.1", 500, True)], report_id=d)
            for d in domains
        ]
    )
    refresh()
    assert mark_new_reports(store, reports) == 0  # the first look notes where reports stand
    accounts = {a.name: a.id for a in store.list_accounts()}
    lumen, bakery = accounts["Lumen Fitness"], accounts["Bluebird Bakery"]
    before = {i: store.queue.entry(i) for i in (lumen, bakery)}
    assert TroubleKind.UNKNOWN_SENDERS not in before[lumen].kinds  # type: ignore[union-attr]
    since = reports.report_mark()
    # A new sender failing DMARC with most of this week's mail of both domains.
    admin_user = Principal("dana", Role.ADMIN)
    for domain in domains:
        xml = aggregate_xml(
            domain, NOW - dt.timedelta(days=1), [("192.0.2.77", 5000, False)], report_id="new"
        )
        import_reports(store.as_user(admin_user), admin_user, reports, [xml])
    assert sorted(store.queue.to_refresh()) == sorted([lumen, bakery])

    def entries() -> list[Any]:
        return refresh_reported(
            store, reports, since=since, resolver=nameserver(ZONE).resolver(), limit=1, now=NOW
        )

    (first,) = entries()
    assert first.account_id == min(lumen, bakery)
    assert not first.stale
    assert TroubleKind.UNKNOWN_SENDERS in first.kinds
    # The rest stay marked for the page, the command line and the alert run.
    assert store.queue.to_refresh() == [max(lumen, bakery)]
    (second,) = entries()
    assert TroubleKind.UNKNOWN_SENDERS in second.kinds
    assert store.queue.to_refresh() == []
    assert entries() == []


def test_an_account_never_diagnosed_is_refreshed_after_an_import_for_its_domain(
    store: Store, reports: ReportStore, refresh: Callable[..., Any], nameserver: Any
) -> None:
    """A new account has no queue row to mark: the import for its domain refreshes it all the
    same, so its first row holds the reports just imported. An account sending from another
    domain is left for the page's upkeep."""
    # Two weeks ago the domain's mail came from one known sender, passing.
    reports.import_files(
        [
            aggregate_xml(
                "orchard.example",
                NOW - dt.timedelta(days=14),
                [("192.0.2.1", 500, True)],
                report_id="old",
            )
        ]
    )
    refresh()
    mark_new_reports(store, reports)  # the first look notes where reports stand
    fresh = store.create_account("Orchard Fresh", "Nano")
    store.add_connection(fresh.id, replace(sendgrid(), from_address="news@orchard.example"))
    other = store.create_account("Quiet Quarry", "Nano")
    store.add_connection(other.id, replace(sendgrid(), from_address="hi@quarry.example"))
    assert store.queue.entry(fresh.id) is None
    since = reports.report_mark()
    # A new sender failing DMARC with most of this week's mail.
    admin_user = Principal("dana", Role.ADMIN)
    xml = aggregate_xml(
        "orchard.example", NOW - dt.timedelta(days=1), [("192.0.2.77", 5000, False)], report_id="o"
    )
    import_reports(store.as_user(admin_user), admin_user, reports, [xml])
    assert store.queue.to_refresh(domains=["orchard.example"]) == [fresh.id]
    found = refresh_reported(
        store, reports, since=since, resolver=nameserver(ZONE).resolver(), now=NOW
    )
    assert [entry.account_id for entry in found] == [fresh.id]
    entry = store.queue.entry(fresh.id)
    assert entry is not None
    assert entry.domain == "orchard.example"
    assert TroubleKind.UNKNOWN_SENDERS in entry.kinds  # from the report just imported
    assert store.queue.entry(other.id) is None
