"""Where the desk's database is, for the library and `admin/` alike.

The embedded default is a SQLite file, data/desk.sqlite under the project root ($DESK_DATA_DIR moves
the folder); $DATABASE_URL selects another database, e.g. postgresql+psycopg2://user@host/db for a
team. It lives here, below `admin/`, so that the library's report store and the admin store open the
same database without the library importing `admin/`.

$DESK_DB_BUSY_SECONDS is how long a write waits for SQLite's write lock (held by another writer:
an import commits a chunk at a time, so a wait is short) before it gives up with "busy".
"""

from __future__ import annotations

import os
from pathlib import Path

URL_ENV = "DATABASE_URL"
DATA_DIR_ENV = "DESK_DATA_DIR"
BUSY_ENV = "DESK_DB_BUSY_SECONDS"
DEFAULT_BUSY_SECONDS = 10.0
PROJECT_ROOT = Path(__file__).resolve().parent.parent


def data_dir() -> Path:
    """The embedded database's folder: $DESK_DATA_DIR, else data/ under the project root."""
    configured = os.environ.get(DATA_DIR_ENV, "").strip()
    return Path(configured) if configured else PROJECT_ROOT / "data"


def default_sqlite_path() -> Path:
    """The embedded database file: desk.sqlite in `data_dir()`."""
    return data_dir() / "desk.sqlite"


def default_database_url() -> str:
    """$DATABASE_URL when set, else the SQLite URL of data/desk.sqlite.

    The Heroku-style `postgres://` spelling is rewritten to `postgresql://`, which SQLAlchemy reads.
    Nothing is created here; whoever opens the database makes the folder."""
    configured = os.environ.get(URL_ENV, "").strip()
    if configured:
        if configured.startswith("postgres://"):
            return "postgresql://" + configured.removeprefix("postgres://")
        return configured
    return f"sqlite:///{default_sqlite_path()}"


def busy_seconds() -> float:
    """$DESK_DB_BUSY_SECONDS where it is a positive number of seconds, else 10: a typo must not
    make every write give up at once, nor wait forever."""
    try:
        value = float(os.environ.get(BUSY_ENV, "").strip() or DEFAULT_BUSY_SECONDS)
    except ValueError:
        return DEFAULT_BUSY_SECONDS
    return value if 0 < value < 86_400 else DEFAULT_BUSY_SECONDS
