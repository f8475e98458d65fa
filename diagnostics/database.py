"""An SQLAlchemy engine for the desk's database, with the settings each backend needs.

Where the database is by default (`DEFAULT_DATA_DIR`, `embedded_sqlite_url`) is
diagnostics/_database_location.py's, exported from here, so callers import one module; the
configuration (diagnostics.config) moves it.

SQLite: foreign keys on, a busy timeout (`DEFAULT_BUSY_SECONDS` unless given), WAL for a file (pages keep reading while
an import writes), and transactions begun by SQLAlchemy itself so that savepoints work and a write
transaction (execution option `desk_write`, the same one `admin/` uses) takes the write lock at once
with BEGIN IMMEDIATE. PostgreSQL: a connection is tested before each use
(pool_pre_ping), so a server restarted since answers again without restarting the app, and a
connection attempt gives up after `CONNECT_TIMEOUT` seconds.

Faults: a database that does not answer (down, restarting, the connection cut) or stays locked past
the busy timeout is not a bug in the caller. `fault_of` tells those apart from every other database
error, and the engine raises them as the caller's own exceptions (`errors=`): by default the
library's DatabaseUnavailable and DatabaseBusy, whose messages a page or the CLI shows as they are.
A connection that was cut is dropped with the rest of the pool, so the next call connects afresh.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.engine import URL, ExceptionContext
from sqlalchemy.exc import ArgumentError
from sqlalchemy.exc import OperationalError as SqlOperationalError
from sqlalchemy.pool import StaticPool

from diagnostics._database_location import (
    DEFAULT_BUSY_SECONDS,
    DEFAULT_DATA_DIR,
    PROJECT_ROOT,
    default_sqlite_path,
    embedded_sqlite_url,
)
from diagnostics.errors import DatabaseBusy, DatabaseUnavailable, InvalidInput

__all__ = [
    "BUSY_MESSAGE",
    "CONNECT_TIMEOUT",
    "DEFAULT_BUSY_SECONDS",
    "DEFAULT_DATA_DIR",
    "PROJECT_ROOT",
    "UNAVAILABLE_MESSAGE",
    "WRITE",
    "Fault",
    "database_url",
    "default_sqlite_path",
    "display_url",
    "embedded_sqlite_url",
    "fault_of",
    "library_error",
    "open_engine",
    "raise_faults_as",
]

# Write transactions carry this execution option; on SQLite they start with BEGIN IMMEDIATE.
WRITE = "desk_write"

# Seconds a PostgreSQL connection attempt may take (unless the URL sets connect_timeout itself).
CONNECT_TIMEOUT = 10

UNAVAILABLE_MESSAGE = "The database is not available right now: try again in a moment."
BUSY_MESSAGE = "The database is busy right now: try again in a moment."


class Fault(StrEnum):
    """A database error that is about the database, not the call: said plainly, worth a retry."""

    UNAVAILABLE = "unavailable"  # down, restarting, out of connections, or the connection was cut
    BUSY = "busy"  # another writer held a lock past the timeout, or won a conflict


# SQLite's primary result codes (the low byte of the extended code): the database file, or a
# table in it, is locked by another connection.
_SQLITE_BUSY = {5, 6}  # SQLITE_BUSY, SQLITE_LOCKED
# PostgreSQL SQLSTATEs. Busy: a lock not granted in time, a statement cancelled by its timeout, a
# transaction that lost a serialization conflict or a deadlock.
_PG_BUSY = {"55P03", "57014", "40001", "40P01"}
# Unavailable: connection exceptions (class 08), the server shutting down, restarting or refusing
# new connections (57P0x), too many connections or out of resources (class 53).
_PG_UNAVAILABLE_PREFIXES = ("08", "57P", "53")


def fault_of(
    error: BaseException, *, backend: str, disconnect: bool = False, operational: bool = False
) -> Fault | None:
    """What `error` (the driver's exception) says about the database, or None for an error of the
    call itself (a constraint, a malformed statement, a value too long), which stays as it is.
    `disconnect`: SQLAlchemy found the connection unusable; `operational`: SQLAlchemy classed the
    error as an OperationalError (the driver's class for trouble outside the statement)."""
    if disconnect:
        return Fault.UNAVAILABLE
    if backend == "sqlite":
        code = getattr(error, "sqlite_errorcode", None)
        if isinstance(code, int):
            return Fault.BUSY if code & 0xFF in _SQLITE_BUSY else None
        text = str(error).lower()
        return Fault.BUSY if "database is locked" in text or "table is locked" in text else None
    if backend == "postgresql":
        state = getattr(error, "pgcode", None)
        if not isinstance(state, str) or not state:
            # No SQLSTATE: the client library's own failure to connect or to talk to the server.
            return Fault.UNAVAILABLE if operational else None
        if state in _PG_BUSY:
            return Fault.BUSY
        if state.startswith(_PG_UNAVAILABLE_PREFIXES):
            return Fault.UNAVAILABLE
    return None


def library_error(fault: Fault) -> DatabaseUnavailable:
    """The library's exception for `fault`: what the report store raises."""
    if fault is Fault.BUSY:
        return DatabaseBusy(BUSY_MESSAGE)
    return DatabaseUnavailable(UNAVAILABLE_MESSAGE)


def raise_faults_as(engine: Engine, errors: Callable[[Fault], Exception]) -> None:
    """Make `engine` raise `errors(fault)` in place of SQLAlchemy's exception for every fault
    (`fault_of`); every other error is raised as SQLAlchemy raises it."""
    backend = engine.dialect.name

    @event.listens_for(engine, "handle_error")
    def _on_error(context: ExceptionContext) -> Exception | None:
        if context.is_pre_ping:
            # The pool is testing a connection before handing it out: it replaces a dead one
            # itself, and raising here would stop it from doing so.
            return None
        if not isinstance(context.original_exception, Exception):
            # Ctrl-C (or another exit) during a query: SQLAlchemy counts the connection lost, but
            # the caller must see the interruption itself, not "the database is not available".
            return None
        fault = fault_of(
            context.original_exception,
            backend=backend,
            disconnect=context.is_disconnect,
            operational=isinstance(context.sqlalchemy_exception, SqlOperationalError),
        )
        return None if fault is None else errors(fault)


def database_url(url: str | URL | None = None) -> URL:
    """`url`, else the embedded SQLite file in data/; only SQLite and PostgreSQL."""
    text = embedded_sqlite_url() if url is None else url
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


def open_engine(
    url: str | URL | None = None,
    *,
    errors: Callable[[Fault], Exception] = library_error,
    busy_timeout: float | None = None,
) -> Engine:
    """An engine for `url` (see `database_url`); a SQLite file's folder is created if missing.
    Faults are raised as `errors(fault)` (module docstring); `busy_timeout` (seconds) is how long
    a write waits for SQLite's write lock, by default `DEFAULT_BUSY_SECONDS`."""
    parsed = database_url(url)
    if parsed.get_backend_name() != "sqlite":
        connect_args = (
            {} if "connect_timeout" in parsed.query else {"connect_timeout": CONNECT_TIMEOUT}
        )
        engine = create_engine(parsed, pool_pre_ping=True, connect_args=connect_args)
        raise_faults_as(engine, errors)
        return engine
    memory = parsed.database in (None, "", ":memory:")
    seconds = DEFAULT_BUSY_SECONDS if busy_timeout is None else busy_timeout
    kwargs: dict[str, Any] = {"connect_args": {"timeout": seconds}}
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
        cursor.execute(f"PRAGMA busy_timeout = {round(seconds * 1000)}")
        if not memory:
            cursor.execute("PRAGMA journal_mode = WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        if not connection.get_execution_options().get(WRITE, False):
            connection.exec_driver_sql("BEGIN")
        elif memory:
            connection.exec_driver_sql("BEGIN IMMEDIATE")  # one connection: nobody to wait for
        else:
            _begin_immediate(connection, seconds)

    raise_faults_as(engine, errors)
    return engine


# How often a write asks again for SQLite's write lock while another connection holds it.
_RETRY_SECONDS = 0.005


def _begin_immediate(connection: Any, seconds: float) -> None:
    """BEGIN IMMEDIATE, asked again every few milliseconds for up to `seconds`. SQLite's own busy
    handler waits longer and longer between tries (up to 100 ms), so a writer that commits chunk
    after chunk with short gaps between them, as an import does, kept it out for several chunks
    (measured: sign-ins of 1.5 to 3.3 s during a 200,000-record import); asking this often, a
    write gets in at the first gap."""
    raw = connection.connection.dbapi_connection
    cursor = raw.cursor()
    deadline = time.monotonic() + seconds
    try:
        cursor.execute("PRAGMA busy_timeout = 0")
        while time.monotonic() < deadline:
            try:
                cursor.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if fault_of(exc, backend="sqlite") is not Fault.BUSY:
                    break  # not a lock: raised below, as SQLAlchemy raises it
            time.sleep(_RETRY_SECONDS)
        # Out of time: once more through SQLAlchemy, which raises the caller's "busy" error.
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    finally:
        cursor.execute(f"PRAGMA busy_timeout = {round(seconds * 1000)}")
        cursor.close()


def display_url(url: URL) -> str:
    """The URL with any password masked: for messages, logs and repr()."""
    return url.render_as_string(hide_password=True)
