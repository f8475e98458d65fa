"""The app's configuration: one DeskConfig (diagnostics.config), read from the environment once per
server process, at its first run, and handed to everything a page opens (desk.resources: the stores,
the resolver; the sign-in gate; the limits of checks, uploads and connection tests).

    config = app_config()          # in a page, or in desk's own code

app.py asks first (`app_config(url_paths)`): a malformed variable is then the app's only screen,
naming each bad variable and what it accepts, on every run until the server is restarted with it
fixed. The server keeps running and says so; no page runs on a default put in its place.

Tests hand the app a configuration of their own (`use_config`, a context manager) instead of
patching the environment: AppTest runs the scripts in the test's own process.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from desk._standalone_screens import stop_with
from desk.markdown import joined, md
from diagnostics.config import ConfigError, DeskConfig

_lock = threading.Lock()
_read: DeskConfig | ConfigError | None = None  # what the environment said, at the first run
_given: DeskConfig | ConfigError | None = None  # a test's own (use_config)


def _configuration() -> DeskConfig | ConfigError:
    global _read
    if _given is not None:
        return _given
    with _lock:
        if _read is None:
            try:
                _read = DeskConfig.from_env(os.environ)
            except ConfigError as exc:
                _read = exc
        return _read


def app_config(url_paths: Sequence[str] = ()) -> DeskConfig:
    """The app's configuration. A malformed one is said as the only screen, at any of `url_paths`
    (the app's page addresses: see desk._standalone_screens.only_screen), and ends the run."""
    found = _configuration()
    if isinstance(found, ConfigError):
        problems = joined((md("- {problem}", problem=p) for p in found.problems), "\n")
        stop_with(
            md(
                "The desk cannot start: its configuration needs fixing (README, Configuration). "
                "Set these environment variables right and restart it:\n\n{problems}",
                problems=problems,
            ),
            url_paths,
        )
    return found


@contextmanager
def use_config(config: DeskConfig | ConfigError) -> Iterator[None]:
    """Every run of the app in this process uses `config` (or says this ConfigError) until the
    block ends: how tests configure the app, instead of patching the environment."""
    global _given
    before, _given = _given, config
    try:
        yield
    finally:
        _given = before


__all__ = ["app_config", "use_config"]
