"""Fixtures for the intake tests: a report store per test, and a fresh mailbox on the shared Dovecot
(tests/support/dovecot.py) with the settings that reach it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from diagnostics.dmarc import ReportStore
from diagnostics.intake import MailboxSettings
from diagnostics.secret import Secret
from tests.support.dovecot import Dovecot


@pytest.fixture
def database(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'desk.sqlite'}"


@pytest.fixture
def report_store(database: str) -> Iterator[ReportStore]:
    store = ReportStore(database)
    yield store
    store.close()


class Mailbox:
    """One user's mailbox on the test Dovecot, and settings that reach it."""

    def __init__(self, server: Dovecot) -> None:
        self.server = server
        self.user, self.password = server.add_user()

    def settings(self, **kwargs: Any) -> MailboxSettings:
        kwargs.setdefault("cafile", str(self.server.ca_file))
        kwargs.setdefault("timeout", 10.0)
        return MailboxSettings.from_address(
            f"127.0.0.1:{kwargs.pop('port', self.server.port)}",
            username=self.user,
            password=Secret(kwargs.pop("password", self.password)),
            **kwargs,
        )

    def append(self, messages: list[bytes], folder: str = "INBOX") -> None:
        self.server.append(self.user, messages, folder)

    def count(self, folder: str) -> int:
        return self.server.count(self.user, folder)

    def folders(self) -> dict[str, int]:
        return {name: self.count(name) for name in ("INBOX", "Archive", "Invalid")}


@pytest.fixture
def mailbox(dovecot: Dovecot) -> Mailbox:
    return Mailbox(dovecot)


@pytest.fixture
def stored(report_store: ReportStore) -> Callable[[], list[str]]:
    """The report ids in the store, sorted: what was stored, and how often."""

    def ids() -> list[str]:
        return sorted(str(r) for r in report_store.reports()["report_id"])

    return ids
