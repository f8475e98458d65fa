"""DNS flows: the logic of a check written once, as a generator, and two thin drivers that feed it.

    Question = (name, rdtype)
    run_flow(flow, resolver) -> T                one question at a time, `Resolver.query`
    await run_flow_async(flow, resolver) -> T    `Resolver.query_async`, a batch concurrently
    together(flow_a, flow_b, ...) -> Flow        flows run side by side, their results in order

A flow never touches a socket. It yields what it needs and is sent the reply:
- a `Question` (a `(name, rdtype)` tuple) is answered with its `diagnostics.dns.Answer`;
- a batch, a list of questions and flows that do not depend on each other, is answered with a list
  in the same order: each question's Answer, each flow's result. The sync driver works through a
  batch in order; the async driver runs the whole batch at once, each flow in it at its own pace.
When the flow returns, its value is the driver's result. A test can drive a flow by hand with any
answers it likes (tests/diagnostics/spf/test_evaluate.py does).

As dnspython's `dns/resolver.py` `_Resolution` is driven by thin sync and async resolvers, and
httpx's `_auth.py` generator flow by `sync_auth_flow` and `async_auth_flow`: the rules of SPF,
DMARC, DKIM and the domain health check exist once, and a public function and its `_async` twin
differ only in the driver they pick.
"""

from __future__ import annotations

import asyncio
from collections.abc import Generator
from typing import Any, TypeVar, overload

from diagnostics.dns import Resolver

__all__ = ["Batch", "Flow", "Question", "run_flow", "run_flow_async", "together"]

_T = TypeVar("_T")
_A = TypeVar("_A")
_B = TypeVar("_B")
_C = TypeVar("_C")
_D = TypeVar("_D")

Question = tuple[str, str]
# Items of a batch: questions, and flows (any generator that follows this protocol).
Batch = list[Question] | list[Question | Generator[Any, Any, Any]]
# What a flow yields is a Question or a Batch; what it is sent back depends on which, hence Any.
# A flow that asks one question at a time can be typed precisely, Generator[Question, Answer, T],
# and is a Flow[T] as well.
Flow = Generator[Question | Batch, Any, _T]


def run_flow(flow: Flow[_T], resolver: Resolver) -> _T:
    """Answer each question of `flow` with `resolver.query`, a batch in order, until it returns."""
    try:
        step = next(flow)
        while True:
            if isinstance(step, tuple):  # a question; a batch is a list
                step = flow.send(resolver.query(*step))
            else:
                step = flow.send([_item(item, resolver) for item in step])
    except StopIteration as done:
        value: _T = done.value
        return value
    finally:
        # Stopped early (an error, a cancellation): the flow's own `finally` blocks run now, not
        # whenever the generator is collected. Closing a finished flow does nothing.
        flow.close()


async def run_flow_async(flow: Flow[_T], resolver: Resolver) -> _T:
    """`run_flow` with `await resolver.query_async`; the items of a batch run concurrently."""
    try:
        step = next(flow)
        while True:
            if isinstance(step, tuple):  # a question; a batch is a list
                step = flow.send(await resolver.query_async(*step))
            else:
                step = flow.send(await _gather([_item_async(item, resolver) for item in step]))
    except StopIteration as done:
        value: _T = done.value
        return value
    finally:
        # Stopped early (an error, a cancellation): the flow's own `finally` blocks run now, not
        # whenever the generator is collected. Closing a finished flow does nothing.
        flow.close()


@overload
def together(first: Flow[_A], second: Flow[_B], /) -> Flow[tuple[_A, _B]]: ...


@overload
def together(
    first: Flow[_A], second: Flow[_B], third: Flow[_C], fourth: Flow[_D], /
) -> Flow[tuple[_A, _B, _C, _D]]: ...


@overload
def together(*flows: Flow[_T]) -> Flow[tuple[_T, ...]]: ...


def together(*flows: Flow[Any]) -> Flow[tuple[Any, ...]]:
    """A flow that runs `flows` side by side (concurrently under the async driver) and returns
    their results in the order given: `a, b = yield from together(flow_a, flow_b)`."""
    if not flows:
        return ()
    batch: list[Question | Generator[Any, Any, Any]] = list(flows)
    results = yield batch
    return tuple(results)


def _item(item: Question | Generator[Any, Any, Any], resolver: Resolver) -> Any:
    if isinstance(item, tuple):
        return resolver.query(*item)
    return run_flow(item, resolver)


async def _item_async(item: Question | Generator[Any, Any, Any], resolver: Resolver) -> Any:
    if isinstance(item, tuple):
        return await resolver.query_async(*item)
    return await run_flow_async(item, resolver)


async def _gather(work: list[Any]) -> list[Any]:
    """Every coroutine of `work` at once, results in order. When one fails (or the whole is
    cancelled), the others are cancelled and have ended before the error goes on: no look-up keeps
    running behind the caller's back."""
    tasks = [asyncio.ensure_future(coroutine) for coroutine in work]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
