"""Fixtures for the admin tests: a fresh database per test, on SQLite and on PostgreSQL.

The databases themselves (db_url, postgres_url) come from tests/support/databases.py; the machine's
DESK_* variables are cleared for every test by tests/conftest.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import URL

from admin import Store
from admin.cli import main
from diagnostics.config import DatabaseConfig, DeskConfig

# The password the CLI tests' commands read with --password-env DESK_TEST_PASSWORD.
CLI_PASSWORD = "cli test password 4242"


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


@pytest.fixture
def config(db_url: URL, tmp_path: Path) -> DeskConfig:
    """The configuration the CLI is given: this test's database, its data folder."""
    url = db_url.render_as_string(hide_password=False)
    return DeskConfig(database=DatabaseConfig(url, data_dir=tmp_path / "data"))


@pytest.fixture
def database(config: DeskConfig, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    """The database the CLI opens, and a store on it to look at the result. The password the
    commands read with --password-env is in the environment, as an operator would put it."""
    monkeypatch.setenv("DESK_TEST_PASSWORD", CLI_PASSWORD)
    with Store.from_config(config) as store:
        yield store


@pytest.fixture
def cli(config: DeskConfig) -> Callable[..., int]:
    """main(argv) with this test's configuration, as `python -m admin` reads it from its own."""
    return partial(main, config=config)
