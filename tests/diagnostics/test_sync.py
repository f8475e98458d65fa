"""The one sync/async bridge (diagnostics/_sync.py): from plain sync code, from inside a running
event loop (a notebook), a time limit that cancels the work, and no other module of the library or
the app starting loops or threads to call async code."""

from __future__ import annotations

import ast
import asyncio
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from diagnostics._sync import run_sync
from diagnostics.dns import Answer, Resolver
from diagnostics.enrich import enrich
from diagnostics.errors import InvalidInput
from diagnostics.health import check_domain
from tests.support.nameserver import LoopbackNameserver

Start = Callable[..., LoopbackNameserver]
ROOT = Path(__file__).resolve().parents[2]


async def _where() -> tuple[str, bool]:
    await asyncio.sleep(0)
    return threading.current_thread().name, asyncio.get_running_loop().is_running()


def test_from_plain_sync_code_it_runs_in_the_calling_thread() -> None:
    thread, running = run_sync(_where)
    assert (thread, running) == (threading.current_thread().name, True)
    with pytest.raises(RuntimeError):
        asyncio.get_running_loop()  # and leaves no loop behind


async def test_from_inside_a_running_loop_it_runs_on_a_loop_of_its_own() -> None:
    # What a notebook cell does: call the sync function while a loop runs in this thread.
    thread, _ = run_sync(_where)
    assert thread != threading.current_thread().name

    async def refuse() -> None:
        raise InvalidInput("not a domain")

    with pytest.raises(InvalidInput, match="not a domain"):  # the error, of its own type
        run_sync(refuse)


@pytest.mark.parametrize("inside_a_loop", [False, True])
def test_the_time_limit_cancels_the_work(nameserver: Start, inside_a_loop: bool) -> None:
    server = nameserver({"dead.example": {"A": "TIMEOUT"}})
    resolver = server.resolver(timeout=10.0)
    cancelled = threading.Event()

    async def ask() -> Answer:
        try:
            return await resolver.query_async("dead.example", "A")
        except asyncio.CancelledError:
            cancelled.set()
            raise

    def bounded() -> None:
        with pytest.raises(TimeoutError):
            run_sync(ask, timeout=0.3)

    started = time.monotonic()
    if inside_a_loop:

        async def cell() -> None:
            bounded()

        asyncio.run(cell())
    else:
        bounded()
    assert cancelled.is_set()  # the look-up was cancelled, not left to its 10 s
    assert time.monotonic() - started < 5.0


def test_work_handed_to_a_thread_is_not_waited_for_after_the_limit() -> None:
    # Synchronous work cannot be cancelled; the caller still gets its answer at the limit.
    release = threading.Event()
    try:
        started = time.monotonic()
        with pytest.raises(TimeoutError):
            run_sync(lambda: asyncio.to_thread(release.wait, 30), timeout=0.2)
        assert time.monotonic() - started < 5.0
    finally:
        release.set()


def test_a_limit_must_be_positive() -> None:
    with pytest.raises(InvalidInput, match="positive"):
        run_sync(_where, timeout=0)


def test_the_sync_twins_work_inside_a_running_loop(nameserver: Start) -> None:
    server = nameserver({"example.com": {"MX": ["10 mx.example.com"]}})
    resolver: Resolver = server.resolver()

    async def cell() -> tuple[int, str]:
        table = enrich(["192.0.2.1"], resolver=resolver)
        health = check_domain("example.com", resolver=resolver)
        return len(table), health.mx.summary

    assert asyncio.run(cell()) == (1, "10 mx.example.com")


# Calls that start an event loop or a thread: in the library and the app, only the bridge makes
# them (the desk's bounded work included).
SOURCES = ("diagnostics", "admin", "desk", "pages")
_STARTERS = {
    ("asyncio", "run"),
    ("asyncio", "new_event_loop"),
    ("asyncio", "Runner"),
    ("threading", "Thread"),
    ("concurrent.futures", "ThreadPoolExecutor"),
    ("ThreadPoolExecutor", None),
    (None, "run_until_complete"),
}


def _starts(node: ast.Call) -> bool:
    func = node.func
    if isinstance(func, ast.Name):
        return (func.id, None) in _STARTERS
    if isinstance(func, ast.Attribute):
        owner = ast.unparse(func.value)
        return (owner, func.attr) in _STARTERS or (None, func.attr) in _STARTERS
    return False


# Threads that run blocking I/O, never a coroutine, each named with why.
_BLOCKING_IO_THREADS = {
    # The IMAP client is synchronous: its commands run on one thread of their own so that the
    # next chunk is fetched while the store writes the last (the intake bench's pipelining).
    "diagnostics/intake/imap.py": "ThreadPoolExecutor",
}


def test_no_other_module_starts_a_loop_or_a_thread_to_call_async_code() -> None:
    found = []
    paths = [ROOT / "app.py", *(p for d in SOURCES for p in (ROOT / d).rglob("*.py"))]
    for path in sorted(paths):
        if path.name == "_sync.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and _starts(node):
                where = str(path.relative_to(ROOT))
                if _BLOCKING_IO_THREADS.get(where) == ast.unparse(node.func):
                    continue
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} {ast.unparse(node.func)}")
    assert found == []


def test_the_check_sees_a_loop_started_by_hand() -> None:
    source = "import asyncio\ndef f(c):\n    return asyncio.run(c)\n"
    calls = [n for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Call)]
    assert any(_starts(call) for call in calls)
