"""Where the desk's database is by default, for the library and `admin/` alike.

The embedded default is a SQLite file, desk.sqlite in data/ under the project root, beside the key
file of saved passwords (secret.key). The configuration (diagnostics.config: DESK_DATA_DIR,
DATABASE_URL, DESK_DB_BUSY_SECONDS) moves them; nothing here reads the environment. It lives
here, below `admin/`, so that the library's report store and the admin store open the same database
without the library importing `admin/`.
"""

from __future__ import annotations

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA_DIR = PROJECT_ROOT / "data"
EMBEDDED_NAME = "desk.sqlite"
KEY_FILE_NAME = "secret.key"
# How long a write waits for SQLite's write lock (held by another writer: an import commits a
# chunk at a time, so a wait is short) before it gives up with "busy".
DEFAULT_BUSY_SECONDS = 10.0


def default_sqlite_path(data_dir: Path = DEFAULT_DATA_DIR) -> Path:
    """The embedded database file: desk.sqlite in `data_dir`."""
    return data_dir / EMBEDDED_NAME


def embedded_sqlite_url(data_dir: Path = DEFAULT_DATA_DIR) -> str:
    """The SQLite URL of the embedded database file in `data_dir`."""
    return f"sqlite:///{default_sqlite_path(data_dir)}"
