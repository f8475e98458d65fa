"""Pages never ask the machine's resolver in tests: unless a test points DESK_NAMESERVER at its own
loopback nameserver, the pages get one that knows no names (every answer a fast NXDOMAIN)."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _empty_nameserver(nameserver, monkeypatch):
    monkeypatch.setenv("DESK_NAMESERVER", nameserver({}).address)
    monkeypatch.setenv("DESK_DNS_TIMEOUT", "1")
