"""Fixtures shared by every test: real servers on loopback, never the internet."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from tests.support.nameserver import LoopbackNameserver

DATA = Path(__file__).parent / "data"

# db_url / postgres_url: the store tests' SQLite and PostgreSQL databases, for every package.
pytest_plugins = ["tests.support.databases", "tests.support.dovecot"]


@pytest.fixture(autouse=True)
def _no_desk_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees the developer's desk configuration (as httpx's tests/conftest.py clears its
    proxies): a test that configures the desk builds a DeskConfig and passes it in, and one that
    starts a real process (the CLI, a server) gives it an environment of its own."""
    for name in list(os.environ):
        if name.startswith("DESK_") or name == "DATABASE_URL":
            monkeypatch.delenv(name)


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
