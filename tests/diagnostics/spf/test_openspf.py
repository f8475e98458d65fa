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
from tests.support.nameserver import LoopbackNameserver

SUITE = Path(__file__).parents[2] / "data" / "spf" / "rfc7208-tests.yml"
DNS_TIMEOUT = 0.3


def _load() -> list[dict[str, Any]]:
    with SUITE.open(encoding="utf-8") as handle:
        return [doc for doc in yaml.safe_load_all(handle) if doc]


SCENARIOS = _load()


def _wire(text: str) -> bytes:
    # The suite writes raw bytes as "\xEF..." escapes, which YAML reads as code points below 256.
    if all(ord(ch) < 256 for ch in text):
        return text.encode("latin-1")
    return text.encode("utf-8")


def _txt(value: Any) -> list[bytes]:
    parts = value if isinstance(value, list) else [value]
    return [_wire(str(part)) for part in parts]


def zone_of(zonedata: dict[str, list[Any]]) -> dict[str, dict[str, Any]]:
    """The suite's zone data in the loopback nameserver's dict form.

    SOURCE.md: `NONE` means no record of that type; a bare `TIMEOUT` makes every type without
    records time out; an SPF entry is also served as TXT when the name has no TXT entry (not
    even NONE) and no TIMEOUT."""
    zone: dict[str, dict[str, Any]] = {}
    for name, entries in zonedata.items():
        types: dict[str, list[Any]] = {}
        timeout = False
        for entry in entries or []:
            if entry == "TIMEOUT":
                timeout = True
                continue
            for rdtype, value in entry.items():
                values = types.setdefault(rdtype.upper(), [])
                if value == "NONE":
                    continue
                if rdtype.upper() in ("TXT", "SPF"):
                    if value == []:
                        continue  # "null text": a TXT record with no strings cannot be sent
                    values.append(_txt(value))
                else:
                    values.append(value)
        if "SPF" in types and "TXT" not in types and not timeout:
            types["TXT"] = list(types["SPF"])
        served: dict[str, Any] = {rdtype: v for rdtype, v in types.items() if v}
        if timeout:
            served["TIMEOUT"] = True
        zone[name] = served
    return zone


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
            server = LoopbackNameserver(zone_of(SCENARIOS[index]["zonedata"]))
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
