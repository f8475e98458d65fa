"""The databases the store tests run on: an SQLite file, and a fresh schema of the PostgreSQL test
database (TEST_POSTGRES_URL, default postgresql+psycopg2://postgres@127.0.0.1:5432/test, trust auth).

Each test gets its own schema (search_path set in the URL), dropped afterwards, so xdist workers never
see each other's rows. Where no server answers, the PostgreSQL variants skip and say why.

For a database that fails under a running program: `postgres_proxy` puts a loopback TCP proxy
(tests/support/tcpproxy.py) in front of the server, to cut and restore; `backend_killed_on` ends,
with pg_terminate_backend from a second connection, the backend of the first query that waits for
a table, which the helper holds locked meanwhile: a connection killed in the middle of a page.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import OperationalError

from tests.support.tcpproxy import TcpProxy

POSTGRES_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test"
)
_reachable: dict[str, str | None] = {}


def postgres_problem() -> str | None:
    """None when PostgreSQL answers, else why not (asked once per worker)."""
    if "answer" not in _reachable:
        engine = create_engine(POSTGRES_URL, connect_args={"connect_timeout": 3})
        try:
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            _reachable["answer"] = None
        except OperationalError as exc:
            _reachable["answer"] = (str(exc.orig).strip().splitlines() or ["no answer"])[0]
        finally:
            engine.dispose()
    return _reachable["answer"]


@pytest.fixture
def postgres_url() -> Iterator[URL]:
    """A URL whose connections live in a fresh schema of the test database, dropped afterwards."""
    problem = postgres_problem()
    if problem:
        pytest.skip(
            f"PostgreSQL at {make_url(POSTGRES_URL).render_as_string()} is not reachable: {problem}"
        )
    schema = f"desk_test_{uuid.uuid4().hex[:12]}"
    admin_engine = create_engine(POSTGRES_URL)
    with admin_engine.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield make_url(POSTGRES_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    finally:
        with admin_engine.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin_engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> URL:
    """The same test on an SQLite file and on a PostgreSQL schema."""
    if request.param == "sqlite":
        return URL.create("sqlite", database=str(tmp_path / "db" / "desk.sqlite"))
    url: URL = request.getfixturevalue("postgres_url")
    return url


@dataclass
class ProxiedPostgres:
    """`url` reaches this test's schema through `proxy`; `direct` reaches it without."""

    proxy: TcpProxy
    url: URL
    direct: URL


@pytest.fixture
def postgres_proxy(postgres_url: URL) -> Iterator[ProxiedPostgres]:
    target = (postgres_url.host or "127.0.0.1", postgres_url.port or 5432)
    proxy = TcpProxy(target)
    proxy.start()
    try:
        yield ProxiedPostgres(
            proxy, postgres_url.set(host="127.0.0.1", port=proxy.port), postgres_url
        )
    finally:
        proxy.stop()


@dataclass
class Killed:
    """What `backend_killed_on` did: the process ids of the backends it ended."""

    pids: list[int] = field(default_factory=list)


@contextmanager
def backend_killed_on(url: URL, table: str, *, within: float = 60.0) -> Iterator[Killed]:
    """While the block runs, `table` (in the schema of `url`) is locked by a second connection, and
    the first backend found waiting for it is ended with pg_terminate_backend; then the lock goes.
    The block should make the program under test read `table`."""
    engine = create_engine(url)
    holder = engine.connect()
    holder.begin()
    holder.execute(text(f'LOCK TABLE "{table}" IN ACCESS EXCLUSIVE MODE'))
    killed = Killed()
    stop = threading.Event()

    def watch() -> None:
        waiting = text("SELECT pid FROM pg_locks WHERE NOT granted AND relation = to_regclass(:t)")
        with engine.connect() as watcher:
            deadline = time.monotonic() + within
            while not stop.is_set() and time.monotonic() < deadline:
                pids = watcher.execute(waiting, {"t": table}).scalars().all()
                watcher.rollback()
                if pids:
                    for pid in pids:
                        watcher.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid})
                    watcher.commit()
                    killed.pids.extend(pids)
                    break
                stop.wait(0.02)  # pg_locks has nothing to wait on: asked again shortly
        holder.rollback()  # the lock goes once the waiting backend is gone (or never came)

    watcher_thread = threading.Thread(target=watch, daemon=True)
    watcher_thread.start()
    try:
        yield killed
    finally:
        stop.set()
        watcher_thread.join(within)
        holder.close()
        engine.dispose()
