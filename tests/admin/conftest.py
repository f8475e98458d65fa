"""Fixtures for the admin tests: a fresh database per test, on SQLite and on PostgreSQL.

The databases themselves (db_url, postgres_url) come from tests/support/databases.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import URL

from admin import Store


@pytest.fixture(autouse=True)
def _no_ambient_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    """The tests say which database and key they use; the machine's environment must not."""
    monkeypatch.delenv("DESK_SECRET_KEY", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)


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
