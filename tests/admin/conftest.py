"""Fixtures for the admin tests: a fresh database per test, on SQLite and on PostgreSQL.

PostgreSQL: TEST_POSTGRES_URL, default postgresql+psycopg2://postgres@127.0.0.1:5432/test (trust auth).
Each test gets its own schema (search_path set in the URL), dropped afterwards, so xdist workers never
see each other's rows. Where no server answers, the PostgreSQL variants skip and say so.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import OperationalError

from admin import Store

POSTGRES_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test"
)
_reachable: dict[str, str | None] = {}


def _postgres_problem() -> str | None:
    """None when PostgreSQL answers, else why not (asked once per worker)."""
    if "answer" not in _reachable:
        engine = create_engine(POSTGRES_URL, connect_args={"connect_timeout": 3})
        try:
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            _reachable["answer"] = None
        except OperationalError as exc:
            first = (str(exc.orig).strip().splitlines() or ["no answer"])[0]
            _reachable["answer"] = first
        finally:
            engine.dispose()
    return _reachable["answer"]


@pytest.fixture(autouse=True)
def _no_ambient_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    """The tests say which database and key they use; the machine's environment must not."""
    monkeypatch.delenv("DESK_SECRET_KEY", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)


@pytest.fixture
def postgres_url() -> Iterator[URL]:
    """A URL whose connections live in a fresh schema of the test database, dropped afterwards."""
    problem = _postgres_problem()
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


@pytest.fixture
def make_store(db_url: URL, tmp_path: Path) -> Iterator[Callable[..., Store]]:
    """Factory: `make_store(**kwargs)` opens a Store on this test's database; all closed afterwards."""
    opened: list[Store] = []

    def open_store(**kwargs: Any) -> Store:
        kwargs.setdefault("key_file", tmp_path / "keys" / "secret.key")
        store = Store(db_url, **kwargs)
        opened.append(store)
        return store

    yield open_store
    for store in opened:
        store.close()


@pytest.fixture
def store(make_store: Callable[..., Store]) -> Store:
    return make_store()
