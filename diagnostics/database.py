"""An SQLAlchemy engine for the desk's database, with the settings each backend needs.

SQLite: foreign keys on, a busy timeout, WAL for a file (pages keep reading while an import writes),
and transactions begun by SQLAlchemy itself so that savepoints work and a write transaction (execution
option `desk_write`, the same one `admin/` uses) takes the write lock at once with BEGIN IMMEDIATE.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.engine import URL
from sqlalchemy.exc import ArgumentError
from sqlalchemy.pool import StaticPool

from diagnostics.errors import InvalidInput
from diagnostics.settings import default_database_url

# Write transactions carry this execution option; on SQLite they start with BEGIN IMMEDIATE.
WRITE = "desk_write"


def database_url(url: str | URL | None = None) -> URL:
    """`url`, else $DATABASE_URL, else the embedded SQLite file; only SQLite and PostgreSQL."""
    text = default_database_url() if url is None else url
    if isinstance(text, str) and text.startswith("postgres://"):
        text = "postgresql://" + text.removeprefix("postgres://")
    try:
        parsed = make_url(text)
    except ArgumentError:
        raise InvalidInput("The database URL is not a URL SQLAlchemy can read.") from None
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise InvalidInput(
            f"The database must be SQLite or PostgreSQL, not {parsed.get_backend_name()!r}."
        )
    if parsed.drivername == "postgresql":
        # SQLAlchemy 2.1 reads a bare postgresql:// as psycopg 3, which is not installed; the
        # desk ships psycopg2, so the URL people copy from their hosting works as written.
        parsed = parsed.set(drivername="postgresql+psycopg2")
    return parsed


def open_engine(url: str | URL | None = None) -> Engine:
    """An engine for `url` (see `database_url`); a SQLite file's folder is created if missing."""
    parsed = database_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(parsed, pool_pre_ping=True)
    memory = parsed.database in (None, "", ":memory:")
    kwargs: dict[str, Any] = {"connect_args": {"timeout": 30}}
    if memory:
        # One shared connection, or every checkout would see its own empty database.
        kwargs = {"poolclass": StaticPool, "connect_args": {"check_same_thread": False}}
    else:
        Path(str(parsed.database)).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(parsed, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # The sqlite3 module's own transaction handling would start transactions too late for
        # BEGIN IMMEDIATE and breaks SAVEPOINT; SQLAlchemy's "begin" event below does it instead.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA busy_timeout = 30000")
        if not memory:
            cursor.execute("PRAGMA journal_mode = WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        immediate = connection.get_execution_options().get(WRITE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def display_url(url: URL) -> str:
    """The URL with any password masked: for messages, logs and repr()."""
    return url.render_as_string(hide_password=True)
