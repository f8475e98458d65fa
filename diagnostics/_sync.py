"""The one bridge from synchronous code to asyncio: `run_sync(coro_factory, *, timeout=None)`.

The sync twin of an async function (`probe` of `probe_async`, `enrich` of `enrich_async`,
`check_domain` of `check_domain_async`) is `run_sync(lambda: twin_async(...))`. It works wherever
synchronous code runs:
- in a thread without an event loop (a script, the CLI, a Streamlit page's script thread): the
  coroutine runs on a fresh loop in the calling thread, as `asyncio.run` does;
- in a thread whose loop is running (a notebook cell, an async test): a loop cannot be nested, so
  the coroutine runs on a loop of its own in a worker thread while the caller waits.
Exceptions reach the caller as raised, of their own type.

`timeout` bounds the whole run: when it passes, the work is cancelled (its pending look-ups and
connections are closed, `finally` blocks run) and TimeoutError is raised. Synchronous work the
coroutine handed to a thread (`asyncio.to_thread`) cannot be cancelled: it is left to end on its
own, bounded by its own time limits, and its result is dropped; the caller does not wait for it.

It takes a factory rather than a coroutine so that the coroutine is made on the loop that runs
it, and never made at all when nothing runs it. No other module of the library starts an event
loop or a thread to call async code, nor does the app (tests/diagnostics/test_sync.py checks).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from diagnostics.errors import InvalidInput

__all__ = ["run_sync"]

_T = TypeVar("_T")


def run_sync(coro_factory: Callable[[], Awaitable[_T]], *, timeout: float | None = None) -> _T:
    """Run `coro_factory()` to completion and return its result; TimeoutError (after cancelling
    the work) when it takes longer than `timeout` seconds."""
    if timeout is not None and timeout <= 0:
        raise InvalidInput("The time limit must be a positive number of seconds.")
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return _run(coro_factory, timeout)
    # A loop already runs in this thread and asyncio refuses to nest one: a worker thread gets a
    # loop of its own, and this thread waits (it could not go on before the result is there).
    with ThreadPoolExecutor(1, thread_name_prefix="diagnostics-run-sync") as worker:
        return worker.submit(_run, coro_factory, timeout).result()


def _run(coro_factory: Callable[[], Awaitable[_T]], timeout: float | None) -> _T:
    """`asyncio.run` of the work under `timeout`, except that threads the work left behind are not
    waited for (asyncio.run joins the default executor's threads; closing the loop does not)."""
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        return loop.run_until_complete(_bounded(coro_factory, timeout))
    finally:
        try:
            _cancel_remaining(loop)
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            asyncio.set_event_loop(None)
            loop.close()


async def _bounded(coro_factory: Callable[[], Awaitable[_T]], timeout: float | None) -> _T:
    if timeout is None:
        return await coro_factory()
    return await asyncio.wait_for(coro_factory(), timeout)


def _cancel_remaining(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel the tasks the work started and did not wait for, and let them finish cancelling."""
    tasks = asyncio.all_tasks(loop)
    if not tasks:
        return
    for task in tasks:
        task.cancel()
    loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
