"""The app's configuration in the page tests: each test hands the app a DeskConfig of its own
(desk.configuration.use_config), never the environment.

Unless a test says more, the app runs on a fresh SQLite file under the test's tmp_path (not the
embedded default: no samples), with its data folder and key file there too, and asks a loopback
nameserver that knows no names (every answer a fast NXDOMAIN), never the machine's resolver.
`configure(section=..., ...)` changes sections of that configuration for the rest of the test and
returns it, e.g. `configure(auth=AuthConfig(mode=AuthMode.LOCAL))`; `configure()` returns it as it is.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from desk.configuration import use_config
from diagnostics.config import DatabaseConfig, DeskConfig, DnsConfig

Configure = Callable[..., DeskConfig]


@pytest.fixture(autouse=True)
def configure(tmp_path: Path, nameserver: Any) -> Iterator[Configure]:
    current = DeskConfig(
        database=DatabaseConfig(f"sqlite:///{tmp_path / 'desk.sqlite'}", tmp_path / "data"),
        dns=DnsConfig(nameserver({}).address, timeout=1.0),
    )
    with ExitStack() as stack:

        def change(**sections: Any) -> DeskConfig:
            nonlocal current
            current = replace(current, **sections)
            stack.enter_context(use_config(current))
            return current

        change()
        yield change
