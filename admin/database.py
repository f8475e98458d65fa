"""Where the admin store's database is and how to connect to it.

The library owns the rules (diagnostics.database) so that the admin store and the library's report
store always open the same database with the same per-backend settings; this
module only turns the library's errors into admin's and makes the embedded folder private.

Embedded default: a SQLite file, desk.sqlite in the data folder (data/ under the project root unless
the configuration's DESK_DATA_DIR moves it), created on first run. An explicit URL (DATABASE_URL in
the configuration) selects another database, e.g. postgresql+psycopg2://user@host/db for a team.

The engine raises admin's own StoreUnavailable and StoreBusy for a database that does not answer or
stays locked (diagnostics.database decides which errors those are), so every call of the store and
of its users says so in plain words, and callers catch one family of errors.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.engine import URL

from admin.errors import AdminInputError, StoreBusy, StoreUnavailable
from diagnostics.database import (
    BUSY_MESSAGE,
    DEFAULT_DATA_DIR,
    UNAVAILABLE_MESSAGE,
    WRITE,
    Fault,
    database_url,
    default_sqlite_path,
    display_url,
    embedded_sqlite_url,
    open_engine,
)
from diagnostics.errors import InvalidInput

__all__ = ["WRITE", "default_sqlite", "display_url", "make_engine", "resolve_url"]


def default_sqlite(data_dir: Path = DEFAULT_DATA_DIR) -> Path:
    """The embedded database file in `data_dir`."""
    return default_sqlite_path(data_dir)


def resolve_url(url: str | URL | None = None, *, data_dir: Path = DEFAULT_DATA_DIR) -> URL:
    """`url`, else the embedded SQLite file in `data_dir` (its folder created, owner only)."""
    try:
        parsed = database_url(embedded_sqlite_url(data_dir) if url is None else url)
    except InvalidInput as exc:
        raise AdminInputError(str(exc)) from None
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        # The embedded folder also holds the secret key file: nobody else may list it.
        folder = Path(str(parsed.database)).parent
        folder.mkdir(mode=0o700 if folder == data_dir else 0o777, parents=True, exist_ok=True)
    return parsed


def store_error(fault: Fault) -> StoreUnavailable:
    """Admin's exception for a database fault, with the library's plain message."""
    if fault is Fault.BUSY:
        return StoreBusy(BUSY_MESSAGE)
    return StoreUnavailable(UNAVAILABLE_MESSAGE)


def make_engine(url: URL, *, echo: bool = False, busy_timeout: float | None = None) -> Engine:
    engine = open_engine(url, errors=store_error, busy_timeout=busy_timeout)
    engine.echo = echo
    return engine
