"""What a page works with: the admin store and the DMARC report store, each opened once per process
and database, and a DNS resolver of its own for each run.

Everything here is opened from the app's configuration (desk.configuration.app_config, read once
per process). The admin store (st.cache_resource): DATABASE_URL picks the database (else the
embedded SQLite file, where sample accounts are loaded on first start), and the secret key comes
from DESK_SECRET_KEY, else Streamlit's secrets, else the key file. `store_or_stop()` hands a page
the store bound to the signed-in user (desk.sign_in_gate): every read and write then runs with that
user's role, and the audit log names them.

The report store (st.cache_resource) is on the same database. On the embedded default the bundled
samples (samples/dmarc/) are imported once per process, so a newcomer sees real reports at once; a
second import only counts them as already stored.

The resolver: DESK_NAMESERVER=HOST[:PORT] points every look-up the app makes at one nameserver (a
company resolver, or the loopback nameserver of the end-to-end tests); unset means the system's
configuration. A fresh one each run: its cache is never shared between users.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
from pathlib import Path

import streamlit as st

import admin
from admin import AdminError, Principal, Store
from admin.sample_reports import sample_report_files
from desk.configuration import app_config
from desk.markdown import md
from desk.sign_in_gate import current_user
from diagnostics.config import DatabaseConfig, DeskConfig
from diagnostics.database import PROJECT_ROOT, database_url, default_sqlite_path
from diagnostics.dmarc import ReportStore, StoreError
from diagnostics.dns import Resolver
from diagnostics.secret import Secret

# The name the key has in Streamlit's secrets (.streamlit/secrets.toml), as in the environment.
SECRETS_KEY_NAME = "DESK_SECRET_KEY"
SAMPLES = PROJECT_ROOT / "samples" / "dmarc"
# Notices that travel with the samples; importing them would only add rejected lines.
_NOT_REPORTS = {"LICENSE", "SOURCE.md"}


# -- the admin store ------------------------------------------------------------------------------


def current_actor() -> Principal:
    """The signed-in user (or "local admin" without sign-in): who the audit log names for a change
    made on a page. Without a signed-in user, shows the sign-in form and stops the run."""
    return current_user(desk_store())


def _streamlit_secret_key(config: DeskConfig) -> Secret | None:
    """The key when DESK_SECRET_KEY is not set but Streamlit's secrets hold one; None lets the
    store take the configuration's key, else its key file."""
    if config.secret_key:
        return None
    # load_if_toml_exists never raises: False when there is no secrets.toml at all.
    if st.secrets.load_if_toml_exists():
        value = st.secrets.get(SECRETS_KEY_NAME)
        if isinstance(value, str) and value.strip():
            return Secret(value.strip())
    return None


@st.cache_resource(show_spinner="Opening the database…")
def _open_store(
    _config: DeskConfig,
    database: DatabaseConfig,
    key_fingerprint: str,
    sessions: tuple[float, float],
) -> Store:
    # `database`, the key's fingerprint and the session lengths only key the cache (another
    # database, data folder, key file, key or session policy is another store); the configuration
    # itself (`_config`: not hashed, as its name tells Streamlit) holds the key, which must never
    # become part of a cache key.
    store = Store.from_config(_config, secret_key=_streamlit_secret_key(_config))
    if store.is_embedded_default:
        admin.ensure_sample_data(store)
    return store


def desk_store() -> Store:
    """The process's store for the configured database; raises AdminError when it cannot open."""
    config = app_config()
    key = config.secret_key or _streamlit_secret_key(config)
    fingerprint = hashlib.sha256(key.reveal().encode()).hexdigest()[:16] if key else ""
    auth = config.auth
    sessions = (auth.session_idle.total_seconds(), auth.session_max.total_seconds())
    return _open_store(config, config.database, fingerprint, sessions)


def store_or_stop() -> Store:
    """The store acting for the signed-in user, or a plain message (or the sign-in form) on the
    page and the end of this run."""
    store = open_store_or_stop()
    return store.as_user(current_user(store))


def open_store_or_stop(*, warn_key: bool = True) -> Store:
    """The process's store itself (acting for no one yet: for the router's sign-in gate). With
    `warn_key`, a warning on the page when the secret key cannot read the saved passwords."""
    try:
        store = desk_store()
    except AdminError as exc:
        st.error(
            md("The desk's database is not available. {why}", why=exc), icon=":material/error:"
        )
        st.stop()
    if warn_key and not store.key_matches:
        st.warning(
            "The secret key does not match the one the saved passwords were encrypted with: "
            "saved passwords cannot be read or tested. Set DESK_SECRET_KEY to the original key.",
            icon=":material/key:",
        )
    return store


# -- the report store -----------------------------------------------------------------------------


def sample_files(folder: Path = SAMPLES) -> list[Path]:
    """The bundled sample reports, without their licence and notice."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and p.name not in _NOT_REPORTS)


def is_embedded_default(database: DatabaseConfig) -> bool:
    """True when `database` is the embedded SQLite file of its data folder, where samples are
    loaded."""
    parsed = database_url(database.address)
    return parsed.get_backend_name() == "sqlite" and parsed.database == str(
        default_sqlite_path(database.data_dir)
    )


@st.cache_resource(show_spinner="Opening the report store…")
def _open_report_store(_config: DeskConfig, database: DatabaseConfig, resolved: str) -> ReportStore:
    # `database` and `resolved` (the URL after defaults) only key the cache: another database is
    # another store. Neither is ever shown, since a URL may hold a password.
    del resolved
    store = ReportStore.from_config(_config)
    if is_embedded_default(database):
        store.import_paths(sample_files())
        # The sample accounts' own recent reports, so their Overview has something to explain.
        store.import_files(demo_reports(dt.datetime.now(dt.UTC).date()))
    return store


def demo_reports(today: dt.date) -> list[io.BytesIO]:
    """The sample accounts' demo reports as named in-memory files (the name shows in summaries)."""
    return sample_report_files(today)


def report_store() -> ReportStore:
    """The process's report store for the configured database; raises StoreError (or InvalidInput
    for a URL that is not one) when it cannot open."""
    config = app_config()
    address = config.database.address
    try:
        resolved = database_url(address).render_as_string(hide_password=False)
        return _open_report_store(config, config.database, resolved)
    except ImportError:
        # SQLAlchemy picks a driver from the URL; one that is not installed is a setting to fix,
        # said plainly (the URL itself is not repeated: it may hold a password).
        backend = database_url(address).get_backend_name()
        raise StoreError(
            f"No driver for this {backend} database URL is installed; for PostgreSQL write "
            "postgresql+psycopg2://… in DATABASE_URL."
        ) from None


# -- the resolver ---------------------------------------------------------------------------------


def dns_settings() -> tuple[str, str]:
    """(DESK_NAMESERVER, DESK_DNS_TIMEOUT) as configured: all app_resolver is built from, so a
    result kept across runs can be keyed by it."""
    dns = app_config().dns
    return dns.nameserver or "", f"{dns.timeout:g}"


def app_resolver() -> Resolver:
    """A fresh resolver for one page run: its cache serves that run and is never shared between users."""
    return app_config().dns.resolver()


__all__ = [
    "SAMPLES",
    "app_resolver",
    "current_actor",
    "demo_reports",
    "desk_store",
    "dns_settings",
    "is_embedded_default",
    "open_store_or_stop",
    "report_store",
    "sample_files",
    "store_or_stop",
]
