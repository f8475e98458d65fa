"""Where the database is and how to connect to it: the URL, the engine, and per-backend settings.

Embedded default: a SQLite file, data/desk.sqlite under the project root (DESK_DATA_DIR moves the
folder), created on first run. DATABASE_URL (or an explicit URL) selects another database, e.g.
postgresql+psycopg2://user@host/db for a team.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.engine import URL
from sqlalchemy.exc import ArgumentError
from sqlalchemy.pool import StaticPool

from admin.errors import AdminInputError

URL_ENV = "DATABASE_URL"
DATA_DIR_ENV = "DESK_DATA_DIR"
PROJECT_ROOT = Path(__file__).resolve().parent.parent

# Write transactions carry this execution option; on SQLite they start with BEGIN IMMEDIATE.
WRITE = "desk_write"


def data_dir() -> Path:
    """The embedded default's folder: $DESK_DATA_DIR, else data/ under the project root."""
    configured = os.environ.get(DATA_DIR_ENV, "").strip()
    return Path(configured) if configured else PROJECT_ROOT / "data"


def default_sqlite() -> Path:
    return data_dir() / "desk.sqlite"


def resolve_url(url: str | URL | None = None) -> URL:
    """`url`, else $DATABASE_URL, else the embedded SQLite file (its folder created if missing)."""
    text = url if url is not None else os.environ.get(URL_ENV, "").strip() or None
    if text is None:
        data_dir().mkdir(mode=0o700, parents=True, exist_ok=True)
        return URL.create("sqlite", database=str(default_sqlite()))
    if isinstance(text, str) and text.startswith("postgres://"):
        text = "postgresql://" + text.removeprefix("postgres://")  # the Heroku-style spelling
    try:
        parsed = make_url(text)
    except ArgumentError:
        raise AdminInputError("The database URL is not a URL SQLAlchemy can read.") from None
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise AdminInputError(
            f"The database must be SQLite or PostgreSQL, not {parsed.get_backend_name()!r}."
        )
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    return parsed


def make_engine(url: URL, *, echo: bool = False) -> Engine:
    if url.get_backend_name() == "sqlite":
        return _sqlite_engine(url, echo=echo)
    return create_engine(url, echo=echo, pool_pre_ping=True)


def _sqlite_engine(url: URL, *, echo: bool) -> Engine:
    kwargs: dict[str, Any] = {"connect_args": {"timeout": 30}}
    if url.database in (None, "", ":memory:"):
        # One shared connection, or every checkout would see its own empty database.
        kwargs.update(poolclass=StaticPool, connect_args={"check_same_thread": False})
    engine = create_engine(url, echo=echo, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event below emit BEGIN itself (the sqlite3 module's own
        # transaction handling would start a deferred one too late to take the write lock).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA busy_timeout = 30000")
        if url.database not in (None, "", ":memory:"):
            # Pages keep reading while one session writes.
            cursor.execute("PRAGMA journal_mode = WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # A write takes the database's write lock at once, so two writers queue up instead of
        # both reading old state and one failing with "database is locked" on its first write.
        immediate = connection.get_execution_options().get(WRITE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def display_url(url: URL) -> str:
    """The URL with any password masked: for messages, logs and repr()."""
    return url.render_as_string(hide_password=True)
