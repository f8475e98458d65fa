"""Brings a database to the current schema with the Alembic revisions in admin/migrations/.

Run programmatically on every `Store()` open: a new database gets every table, an older one gets the
revisions it lacks, and the data already there stays. One process migrates at a time (PostgreSQL: an
advisory lock; SQLite: the write lock of BEGIN IMMEDIATE).
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text

from admin.database import WRITE

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# Any constant will do: it only has to be the same for every process of the desk.
_PG_LOCK_KEY = 0x0DE5_C0DE


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply every revision up to `revision` in one transaction."""
    config = _config()
    with engine.execution_options(**{WRITE: True}).begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
