"""The OpenSPF RFC 7208 test suite (tests/data/spf/, see SOURCE.md there), every case against
check_host through a real loopback nameserver serving that scenario's zone data.

One nameserver a scenario, started on first use and kept for the module; each case gets a fresh
resolver (its own cache) with a short timeout, so the TIMEOUT cases cost a fraction of a second.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from diagnostics.spf import check_host, check_host_async
from tests.support.nameserver import LoopbackNameserver, zone_from_entries

SUITE = Path(__file__).parents[2] / "data" / "spf" / "rfc7208-tests.yml"
DNS_TIMEOUT = 0.3


def _load() -> list[dict[str, Any]]:
    with SUITE.open(encoding="utf-8") as handle:
        return [doc for doc in yaml.safe_load_all(handle) if doc]


SCENARIOS = _load()


def _cases() -> Iterator[Any]:
    seen: set[str] = set()
    for index, scenario in enumerate(SCENARIOS):
        for name, case in scenario["tests"].items():
            case_id = name if name not in seen else f"{name}-{index}"
            seen.add(case_id)
            yield pytest.param(index, case, id=case_id)


CASES = list(_cases())


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[int, LoopbackNameserver]]:
    started: dict[int, LoopbackNameserver] = {}

    class Lazy(dict[int, LoopbackNameserver]):
        def __missing__(self, index: int) -> LoopbackNameserver:
            server = LoopbackNameserver(zone_from_entries(SCENARIOS[index]["zonedata"]))
            server.start()
            started[index] = server
            self[index] = server
            return server

    yield Lazy()
    for server in started.values():
        server.stop()


def _expected(case: dict[str, Any]) -> list[str]:
    result = case["result"]
    return [str(r) for r in result] if isinstance(result, list) else [str(result)]


def test_suite_has_every_case() -> None:
    assert len(CASES) == 203


@pytest.mark.parametrize(("scenario", "case"), CASES)
def test_rfc7208(
    scenario: int, case: dict[str, Any], servers: dict[int, LoopbackNameserver]
) -> None:
    resolver = servers[scenario].resolver(timeout=DNS_TIMEOUT)
    outcome = check_host(
        str(case["host"]),
        str(case.get("mailfrom") or ""),
        str(case.get("helo") or ""),
        resolver=resolver,
    )
    assert outcome.result in _expected(case), outcome.format_trace()
    if "explanation" in case and outcome.result == "fail":
        wanted = case["explanation"]
        if wanted == "DEFAULT":
            assert outcome.explanation is None, outcome.format_trace()
        else:
            assert outcome.explanation == wanted, outcome.format_trace()


# The async driver feeds the same engine; a sample across mechanisms, limits and explanations
# shows it gives the same answers as the sync one.
ASYNC_SAMPLE = {
    "include-fail",
    "mx-multi-ip1",
    "ptr-match-implicit",
    "mech-over-limit",
    "void-over-limit",
    "p-macro-ip4-valid",
    "redirect-cancels-prior-exp",
    "txttimeout",
}


@pytest.mark.parametrize(("scenario", "case"), [c for c in CASES if c.id in ASYNC_SAMPLE])
async def test_rfc7208_async(
    scenario: int, case: dict[str, Any], servers: dict[int, LoopbackNameserver]
) -> None:
    resolver = servers[scenario].resolver(timeout=DNS_TIMEOUT)
    outcome = await check_host_async(
        str(case["host"]),
        str(case.get("mailfrom") or ""),
        str(case.get("helo") or ""),
        resolver=resolver,
    )
    assert outcome.result in _expected(case), outcome.format_trace()
    if case.get("explanation") not in (None, "DEFAULT") and outcome.result == "fail":
        assert outcome.explanation == case["explanation"]
