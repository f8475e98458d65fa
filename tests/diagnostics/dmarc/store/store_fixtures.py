"""Fixtures for the report store tests: a fresh database per test, on SQLite and on PostgreSQL.

The databases themselves (db_url, postgres_url) come from tests/support/databases.py. Import the fixtures into a test module
with `from tests.diagnostics.dmarc.store.store_fixtures import *`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy.engine import URL

from diagnostics.dmarc.store import ReportStore

__all__ = ["make_store", "store"]


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
