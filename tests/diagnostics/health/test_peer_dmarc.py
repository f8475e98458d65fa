"""The peer suites' DMARC look-up cases (checkdmarc's and mailauth's, tests/data/peer-suites), asked
of the health check: its DMARC part is the DMARC check itself, so it must agree with the peer (or
the ruling) exactly as `check_dmarc` does in tests/diagnostics/test_peer_suites.py."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest

from diagnostics.dmarc.record import check_dmarc
from diagnostics.health import check_domain
from tests.support.peer_suites import (
    DNS_TIMEOUT,
    Agreement,
    Runner,
    Vector,
    dmarc_observed,
    judge,
    load,
    pytest_param,
)

VECTORS = [v for v in load() if v.area == "dmarc-lookup"]
_HEALTH_TIMEOUT = 1.0
pytestmark = pytest.mark.xdist_group("peer_suites")


@pytest.fixture(scope="module")
def runner() -> Iterator[Runner]:
    with Runner() as started:
        yield started


def test_the_cases_are_here() -> None:
    assert {v.suite for v in VECTORS} == {"domainaware-checkdmarc", "postalsys-mailauth"}
    assert len(VECTORS) == 36


@pytest.mark.parametrize("vector", [pytest_param(v) for v in VECTORS])
def test_the_health_checks_dmarc_part_agrees(vector: Vector, runner: Runner) -> None:
    server = runner.server(vector)
    domain = str(vector.case["domain"])
    alone = check_dmarc(domain, resolver=server.resolver(timeout=DNS_TIMEOUT, cache=False))
    # The health check asks some twenty questions at once: on a loaded machine one of them may
    # wait longer than the suite's 0.3 s, which would be a timeout the case is not about.
    health = check_domain(
        domain, platform=None, resolver=server.resolver(timeout=_HEALTH_TIMEOUT, cache=False)
    )
    assert health.dmarc_check == alone
    # How many queries DMARC took is not the health check's to say (it asks more): left out.
    wanted = dataclasses.replace(
        vector, expect={k: v for k, v in vector.expect.items() if k != "queries"}
    )
    check = judge(wanted, dmarc_observed(health.dmarc_check))
    assert check.agreement in (Agreement.PEER, Agreement.RULING), check.detail
