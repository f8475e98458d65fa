"""desk.bounded_checks: the DNS work a page waits for gives up on time, with None, and the look-ups
left behind do not hold the caller; against a real loopback nameserver that answers, or that holds
every answer back, and a real (temporary SQLite) report store."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from admin.diagnosis import explain_within
from desk.bounded_checks import check_health
from diagnostics.dmarc import ReportStore
from diagnostics.dns import Resolver
from tests.pages.test_dmarc_reports import SMALL
from tests.support.nameserver import LoopbackNameserver

DOMAIN = "bluebird-bakery.example"
ZONE = {
    DOMAIN: {"TXT": "v=spf1 include:spf.trekmail.net -all", "MX": f"10 mx.{DOMAIN}."},
    f"mx.{DOMAIN}": {"A": "192.0.2.25"},
    f"_dmarc.{DOMAIN}": {"TXT": f"v=DMARC1; p=none; rua=mailto:dmarc@{DOMAIN}"},
}
StartServer = Callable[..., LoopbackNameserver]


def resolver_of(server: LoopbackNameserver, timeout: float) -> Resolver:
    return Resolver([server.host], port=server.port, timeout=timeout)


@pytest.fixture
def reports(tmp_path: Path) -> Iterator[ReportStore]:
    store = ReportStore(f"sqlite:///{tmp_path / 'reports.sqlite'}")
    assert store.import_paths(SMALL).ok
    yield store
    store.close()


def test_the_health_check_answers_within_the_limit(nameserver: StartServer) -> None:
    health = check_health(DOMAIN, [], resolver_of(nameserver(ZONE), 2.0), timeout=20.0)
    assert health is not None
    assert health.domain == DOMAIN


def test_a_silent_nameserver_costs_the_limit_not_the_resolvers_timeouts(
    nameserver: StartServer,
) -> None:
    slow = nameserver(ZONE, delay=3.0)
    started = time.monotonic()
    assert check_health(DOMAIN, ["sendgrid"], resolver_of(slow, 5.0), timeout=0.3) is None
    assert time.monotonic() - started < 2.5


def test_explaining_gives_up_on_time_and_answers_when_dns_does(
    reports: ReportStore, nameserver: StartServer
) -> None:
    records = reports.verdicts("example.com", None, None)
    assert not records.empty
    started = time.monotonic()
    assert explain_within(records, resolver_of(nameserver({}, delay=3.0), 5.0), 0.3) is None
    assert time.monotonic() - started < 2.5
    found = explain_within(records, resolver_of(nameserver({}), 2.0), 30.0)
    assert found is not None
    assert {d.domain for d in found} == {"example.com"}


async def test_the_bounded_checks_work_with_an_event_loop_running(
    reports: ReportStore, nameserver: StartServer
) -> None:
    # Through the library's bridge, as from a notebook or an async host: asyncio.run would refuse.
    server = nameserver(ZONE)
    health = check_health(DOMAIN, [], resolver_of(server, 2.0), timeout=20.0)
    assert health is not None
    assert health.mx.summary == f"10 mx.{DOMAIN}"
    slow = nameserver(ZONE, delay=3.0)
    started = time.monotonic()
    assert check_health(DOMAIN, [], resolver_of(slow, 5.0), timeout=0.3) is None
    assert time.monotonic() - started < 2.5
    records = reports.verdicts("example.com", None, None)
    assert explain_within(records, resolver_of(server, 2.0), 30.0) is not None
