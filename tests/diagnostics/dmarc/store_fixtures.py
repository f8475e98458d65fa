"""Fixtures for the report store tests: a fresh database per test, on SQLite and on PostgreSQL.

PostgreSQL: TEST_POSTGRES_URL, default postgresql+psycopg2://postgres@127.0.0.1:5432/test. Each test
gets its own schema (search_path in the URL), dropped afterwards, so xdist workers never meet. Where
no server answers, the PostgreSQL variants skip and say why. Import the fixtures into a test module
with `from tests.diagnostics.dmarc.store_fixtures import *`.
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

from diagnostics.dmarc.store import ReportStore

__all__ = ["db_url", "make_store", "postgres_url", "store"]

POSTGRES_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test"
)
_reachable: dict[str, str | None] = {}


def _postgres_problem() -> str | None:
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
    problem = _postgres_problem()
    if problem:
        pytest.skip(f"PostgreSQL at {make_url(POSTGRES_URL)} is not reachable: {problem}")
    schema = f"dmarc_test_{uuid.uuid4().hex[:12]}"
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
def make_store(db_url: URL) -> Iterator[Callable[..., ReportStore]]:
    """Factory: `make_store(**kwargs)` opens a ReportStore on this test's database."""
    opened: list[ReportStore] = []

    def open_store(**kwargs: Any) -> ReportStore:
        opened.append(ReportStore(db_url, **kwargs))
        return opened[-1]

    yield open_store
    for one in opened:
        one.close()


@pytest.fixture
def store(make_store: Callable[..., ReportStore]) -> ReportStore:
    return make_store()
