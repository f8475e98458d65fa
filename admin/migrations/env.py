"""Alembic's entry point for the desk's schema: run only through admin.migrate.upgrade().

The caller hands over an open connection inside a transaction (config.attributes["connection"]), so the
whole upgrade commits or rolls back as one, and the app never needs an alembic.ini.
"""

from __future__ import annotations

from alembic import context

from admin.models import Base

if context.is_offline_mode():
    raise RuntimeError("Offline (SQL script) migrations are not supported; use admin.migrate.")

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("Run the desk's migrations through admin.migrate.upgrade(engine).")

# render_as_batch: SQLite cannot ALTER most things, so later revisions rebuild tables in batches.
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=True,
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
