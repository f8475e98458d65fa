"""The databases the store tests run on: an SQLite file, and a fresh schema of the PostgreSQL test
database (TEST_POSTGRES_URL, default postgresql+psycopg2://postgres@127.0.0.1:5432/test, trust auth).

Each test gets its own schema (search_path set in the URL), dropped afterwards, so xdist workers never
see each other's rows. Where no server answers, the PostgreSQL variants skip and say why.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import OperationalError

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
