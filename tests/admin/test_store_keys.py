"""The store's secret key: created on first run with mode 0600, reused, and a wrong key said plainly."""

from __future__ import annotations

import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy.engine import URL

from admin import (
    AdminInputError,
    KeySource,
    RouteMode,
    SecretKeyError,
    Store,
    StoreUnavailable,
    generate_key,
)
from admin.secrets import WRONG_KEY_MESSAGE
from diagnostics.config import DatabaseConfig, DeskConfig
from diagnostics.secret import Secret
from tests.admin.settings_samples import SES_PASSWORD, mailgun, ses


def test_first_run_creates_a_key_file_readable_by_its_owner_only(
    make_store: Callable[..., Store], tmp_path: Path
) -> None:
    key_file = tmp_path / "fresh" / "secret.key"
    store = make_store(key_file=key_file)
    assert store.key_source is KeySource.FILE
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    account = store.create_account("Harbor & Pine", "agency")
    conn = store.add_connection(account.id, ses())
    key = key_file.read_text()
    store.close()
    again = make_store(key_file=key_file)
    assert key_file.read_text() == key
    assert again.key_matches
    assert again.connection_settings(conn.id).secret.reveal() == SES_PASSWORD


def test_a_wrong_key_gives_the_clear_error_never_garbage(
    make_store: Callable[..., Store],
) -> None:
    right, wrong = generate_key(), generate_key()
    store = make_store(secret_key=right)
    assert store.key_source is KeySource.ARGUMENT
    account = store.create_account("Harbor & Pine", "agency")
    conn = store.add_connection(account.id, ses(), label="SES")
    store.close()

    bad = make_store(secret_key=wrong)
    assert not bad.key_matches
    with pytest.raises(SecretKeyError) as caught:
        bad.connection_settings(conn.id)
    assert str(caught.value) == WRONG_KEY_MESSAGE
    assert "does not match the one these connections were saved with" in str(caught.value)
    # Saving under a second key would strand the first key's passwords: refused the same way.
    with pytest.raises(SecretKeyError, match="does not match"):
        bad.add_connection(account.id, mailgun())
    with pytest.raises(SecretKeyError, match="does not match"):
        bad.update_connection(conn.id, ses(password="BAnotherPasswordAnotherPasswordAnotherPass12"))
    # What needs no secret still works: the page can show the connections and the route.
    assert [c.password_hint for c in bad.list_connections(account.id)] == [
        f"set, ends in …{SES_PASSWORD[-4:]}"
    ]
    assert bad.outbound_route(account.id).mode is RouteMode.CUSTOM
    assert bad.update_connection(conn.id, label="SES eu-west-1").label == "SES eu-west-1"
    bad.close()

    good = make_store(secret_key=right)
    assert good.key_matches
    assert good.connection_settings(conn.id).secret.reveal() == SES_PASSWORD


def test_the_configured_key_is_used_and_a_passed_one_wins(db_url: URL, tmp_path: Path) -> None:
    key_file = tmp_path / "unused" / "secret.key"
    config = DeskConfig(
        database=DatabaseConfig(db_url.render_as_string(hide_password=False), key_file=key_file),
        secret_key=Secret(generate_key()),
    )
    with Store.from_config(config) as store:
        assert store.key_source is KeySource.ENVIRONMENT
        assert store.key_matches
    with Store.from_config(config, secret_key=generate_key()) as store:
        assert store.key_source is KeySource.ARGUMENT
        assert not store.key_matches  # not the key the database was first opened with
    assert not key_file.exists()


def test_the_embedded_default_lives_in_the_data_folder(tmp_path: Path) -> None:
    data = tmp_path / "data"
    config = DeskConfig(database=DatabaseConfig(data_dir=data))
    with Store.from_config(config) as store:
        assert store.is_embedded_default
        assert store.backend == "sqlite"
        store.create_account("Bluebird", "nano")
    assert (data / "desk.sqlite").is_file()
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    assert stat.S_IMODE((data / "secret.key").stat().st_mode) == 0o600
    # DATABASE_URL wins over the default.
    other = tmp_path / "other.sqlite"
    config = DeskConfig(database=DatabaseConfig(f"sqlite:///{other}", data_dir=data))
    with Store.from_config(config) as store:
        assert not store.is_embedded_default
        assert store.list_accounts() == []
    assert other.is_file()


def test_the_key_file_is_where_the_configuration_says(tmp_path: Path) -> None:
    # DESK_SECRET_KEY_FILE: the app and the admin CLI (tests/admin/test_cli.py) read the same key.
    elsewhere = tmp_path / "keys" / "desk.key"
    config = DeskConfig(database=DatabaseConfig(data_dir=tmp_path / "data", key_file=elsewhere))
    with Store.from_config(config) as store:
        assert store.key_source is KeySource.FILE
    assert elsewhere.is_file()
    assert not (tmp_path / "data" / "secret.key").exists()


def test_an_unreachable_database_is_said_plainly_without_its_password(tmp_path: Path) -> None:
    url = URL.create(
        "postgresql+psycopg2",
        username="desk",
        password="pg-S3cretPassw0rd",
        host="127.0.0.1",
        port=1,
        database="x",
    )
    with pytest.raises(StoreUnavailable) as caught:
        Store(url, key_file=tmp_path / "secret.key")
    message = str(caught.value)
    assert "Cannot open the database at postgresql+psycopg2://desk:***@127.0.0.1:1/x" in message
    assert "pg-S3cretPassw0rd" not in message
    assert isinstance(caught.value, OSError)


def test_only_sqlite_and_postgresql_are_accepted(tmp_path: Path) -> None:
    with pytest.raises(AdminInputError, match="SQLite or PostgreSQL"):
        Store("mysql://root@localhost/desk", key_file=tmp_path / "secret.key")
    with pytest.raises(AdminInputError, match="not a URL"):
        Store("not a url", key_file=tmp_path / "secret.key")
