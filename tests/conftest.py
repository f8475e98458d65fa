"""Fixtures shared by every test: real servers on loopback, never the internet."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from tests.support.nameserver import LoopbackNameserver

DATA = Path(__file__).parent / "data"

# db_url / postgres_url: the store tests' SQLite and PostgreSQL databases, for every package.
pytest_plugins = ["tests.support.databases", "tests.support.dovecot"]


@pytest.fixture
def nameserver() -> Iterator[Callable[..., LoopbackNameserver]]:
    """Factory: `nameserver(zone_data, delay=0.0)` starts a loopback nameserver for this test."""
    started: list[LoopbackNameserver] = []

    def start(
        zone: Mapping[str, Any] | str | Path | None = None, **kwargs: Any
    ) -> LoopbackNameserver:
        server = LoopbackNameserver(zone, **kwargs)
        server.start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
