"""The DNS flow drivers (diagnostics/_flow.py): the sync and the async driver give the same results
over the loopback nameserver, and the async one runs a batch concurrently, measured with the
nameserver's delay."""

from __future__ import annotations

import time
from collections.abc import Callable, Generator
from typing import Any

import pytest

from diagnostics._flow import Flow, run_flow, run_flow_async, together
from diagnostics.dkim import check_selector, check_selector_async
from diagnostics.dmarc.record import check_dmarc, check_dmarc_async
from diagnostics.dns import Answer, Status
from diagnostics.health import _health, check_domain
from diagnostics.spf import (
    analyze,
    analyze_async,
    check_host,
    check_host_async,
    recommend,
    recommend_async,
)
from tests.support.nameserver import LoopbackNameserver

Start = Callable[..., LoopbackNameserver]

ZONE: dict[str, Any] = {
    "example.com": {
        "TXT": ["v=spf1 include:spf.trekmail.net include:sendgrid.net mx -all"],
        "MX": ["10 mx.example.com"],
    },
    "mx.example.com": {"A": ["192.0.2.25"]},
    "spf.trekmail.net": {"TXT": ["v=spf1 ip4:203.0.113.0/24 -all"]},
    "sendgrid.net": {"TXT": ["v=spf1 ip4:167.89.0.0/17 ~all"]},
    "_dmarc.example.com": {
        "TXT": ["v=DMARC1; p=quarantine; rua=mailto:d@example.com,mailto:r@reports.example.net"]
    },
    "*._report._dmarc.reports.example.net": {"TXT": ["v=DMARC1"]},
    "s1._domainkey.example.com": {"CNAME": ["s1.domainkey.u1.wl1.sendgrid.net"]},
    "s1.domainkey.u1.wl1.sendgrid.net": {"TXT": ["v=DKIM1; k=rsa; p=" + "A" * 300]},
    "*.slow.example": {"A": ["192.0.2.99"], "TXT": ["v=spf1 -all"]},
}


def _walk(names: list[str]) -> Flow[list[str]]:
    """A flow asking its names one after the other: what a chain of includes does."""
    seen: list[str] = []
    for name in names:
        answer: Answer = yield (name, "A")
        seen.append(f"{name}={','.join(answer.records) or answer.status.value}")
    return seen


def _composed() -> Flow[tuple[Any, ...]]:
    """One question, then a batch of questions and flows, then two flows side by side."""
    first: Answer = yield ("example.com", "MX")
    batch: list[Any] = yield [
        ("mx.example.com", "A"),
        _walk(["a.slow.example", "nothere.example.com"]),
        ("example.com", "TXT"),
    ]
    pair = yield from together(_walk(["b.slow.example"]), _walk(["c.slow.example"]))
    return first, batch, pair


async def test_sync_and_async_drivers_give_the_same_results(nameserver: Start) -> None:
    server = nameserver(ZONE)
    flows: list[Callable[[], Flow[Any]]] = [_composed, lambda: _walk(["x.slow.example"])]
    for make in flows:
        in_turn = run_flow(make(), server.resolver())
        at_once = await run_flow_async(make(), server.resolver())
        assert in_turn == at_once
    first, batch, pair = run_flow(_composed(), server.resolver())
    assert first.mx == [(10, "mx.example.com")]
    assert batch[0].records == ("192.0.2.25",)
    assert batch[1] == ["a.slow.example=192.0.2.99", "nothere.example.com=nxdomain"]
    assert batch[2].status is Status.OK
    assert pair == (["b.slow.example=192.0.2.99"], ["c.slow.example=192.0.2.99"])


async def test_the_library_checks_are_one_flow_with_two_drivers(nameserver: Start) -> None:
    """Each public check and its _async twin drive one flow: the same result, the same questions."""
    server = nameserver(ZONE)
    pairs: list[tuple[Callable[..., Any], Callable[..., Any], tuple[Any, ...], dict[str, Any]]] = [
        (check_host, check_host_async, ("167.89.1.1", "a@example.com"), {}),
        (analyze, analyze_async, ("example.com",), {}),
        (recommend, recommend_async, ("example.com", ["sendgrid", "mailgun"]), {}),
        (check_dmarc, check_dmarc_async, ("example.com",), {}),
        (
            check_selector,
            check_selector_async,
            ("example.com", "s1"),
            {"expected_cname": r"s1\.domainkey\.u\d+\.wl\d+\.sendgrid\.net"},
        ),
    ]
    for sync, async_twin, args, kwargs in pairs:
        before = len(server.queries)
        in_turn = sync(*args, resolver=server.resolver(), **kwargs)
        asked_in_turn = sorted(server.queries[before:])
        before = len(server.queries)
        at_once = await async_twin(*args, resolver=server.resolver(), **kwargs)
        asked_at_once = sorted(server.queries[before:])
        assert in_turn == at_once, sync.__name__
        assert asked_in_turn == asked_at_once, sync.__name__
        assert asked_in_turn, sync.__name__


def test_the_health_check_is_one_flow_of_the_parts_flows(nameserver: Start) -> None:
    # check_domain runs it on the async driver (through the bridge); the sync driver agrees.
    server = nameserver(ZONE)
    at_once = check_domain("example.com", providers=["sendgrid"], resolver=server.resolver())
    flow = _health("example.com", ["trekmail", "sendgrid"], {}, "trekmail", {})
    assert run_flow(flow, server.resolver()).to_dict() == at_once.to_dict()


async def test_a_batch_runs_concurrently_in_the_async_driver(nameserver: Start) -> None:
    delay = 0.3
    server = nameserver(ZONE, delay=delay)

    def eight() -> Flow[list[Answer]]:
        answers: list[Answer] = yield [(f"h{i}.slow.example", "A") for i in range(8)]
        return answers

    started = time.monotonic()
    answers = await run_flow_async(eight(), server.resolver())
    spent = time.monotonic() - started
    assert [a.records for a in answers] == [("192.0.2.99",)] * 8
    assert spent < 4 * delay  # one after the other: 8 x 0.3 s

    # Flows in a batch each go at their own pace: four chains of two look-ups take two delays.
    chains = [_walk([f"c{i}a.slow.example", f"c{i}b.slow.example"]) for i in range(4)]
    started = time.monotonic()
    results = await run_flow_async(together(*chains), server.resolver())
    spent = time.monotonic() - started
    assert all(len(chain) == 2 for chain in results)
    assert spent < 5 * delay  # one after the other: 8 x 0.3 s


async def test_dkim_asks_the_cname_and_the_key_at_once(nameserver: Start) -> None:
    delay = 0.5
    server = nameserver(ZONE, delay=delay)
    started = time.monotonic()
    check = await check_selector_async("example.com", "s1", resolver=server.resolver())
    assert time.monotonic() - started < 1.8 * delay  # in turn: two delays
    assert check.key is not None


async def test_a_failing_item_cancels_the_rest_of_its_batch(nameserver: Start) -> None:
    server = nameserver({"dead.example": {"A": "TIMEOUT"}})
    closed: list[str] = []

    def waits() -> Flow[Answer]:
        try:
            answer: Answer = yield ("dead.example", "A")
            return answer
        finally:
            closed.append("waits")

    def fails() -> Generator[Any, Any, None]:
        yield ("nothere.example", "A")
        raise ValueError("a rule broke")

    started = time.monotonic()
    with pytest.raises(ValueError, match="a rule broke"):
        await run_flow_async(together(waits(), fails()), server.resolver(timeout=5.0))
    assert closed == ["waits"]  # cancelled, its flow closed: not left waiting 5 s for DNS
    assert time.monotonic() - started < 2.0


def test_a_flow_can_be_driven_by_hand_without_any_resolver() -> None:
    answers = {("a.example", "A"): Answer("a.example", "A", Status.OK, ("192.0.2.1",))}
    flow = _walk(["a.example"])
    question = next(flow)
    with pytest.raises(StopIteration) as done:
        flow.send(answers[question])
    assert done.value.value == ["a.example=192.0.2.1"]
