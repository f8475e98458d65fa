"""Where the store's database is, and what a person sees when it cannot be opened."""

from __future__ import annotations

from pathlib import Path

import pytest

import diagnostics.dmarc as dmarc
from diagnostics.config import DatabaseConfig, DeskConfig
from diagnostics.database import PROJECT_ROOT, database_url, embedded_sqlite_url
from diagnostics.dmarc import ReportStore, StoreError
from diagnostics.errors import InvalidInput


def test_default_url_is_the_embedded_sqlite_file() -> None:
    embedded = f"sqlite:///{PROJECT_ROOT / 'data' / 'desk.sqlite'}"
    assert embedded_sqlite_url() == embedded
    assert DatabaseConfig().address == embedded
    assert database_url(None).render_as_string() == embedded


def test_the_data_dir_and_database_url_of_the_configuration(tmp_path: Path) -> None:
    elsewhere = DatabaseConfig(data_dir=tmp_path / "elsewhere")
    assert elsewhere.address == f"sqlite:///{tmp_path / 'elsewhere' / 'desk.sqlite'}"
    heroku = DatabaseConfig("postgres://desk@db.example/desk", data_dir=tmp_path / "elsewhere")
    assert heroku.address == "postgres://desk@db.example/desk"
    assert database_url(heroku.address).drivername == "postgresql+psycopg2"


def test_a_store_opened_from_the_configuration_without_a_url_uses_the_data_dir(
    tmp_path: Path,
) -> None:
    store = ReportStore.from_config(DeskConfig(database=DatabaseConfig(data_dir=tmp_path / "data")))
    try:
        assert (tmp_path / "data" / "desk.sqlite").is_file()
        assert store.domains().empty
    finally:
        store.close()


def test_only_sqlite_and_postgresql() -> None:
    with pytest.raises(InvalidInput, match="SQLite or PostgreSQL"):
        database_url("mysql://u:hunter2@h/db")
    with pytest.raises(InvalidInput, match="not a URL"):
        database_url("::: nonsense")


def test_an_unreachable_database_is_a_plain_error_without_the_password() -> None:
    url = "postgresql+psycopg2://desk:hunter2@127.0.0.1:1/desk?connect_timeout=2"
    with pytest.raises(StoreError) as caught:
        ReportStore(url)
    message = str(caught.value)
    assert "cannot be reached" in message
    assert "hunter2" not in message
    assert "***" in message


def test_repr_masks_the_password(tmp_path: Path) -> None:
    store = ReportStore(f"sqlite:///{tmp_path / 'x.sqlite'}")
    try:
        assert repr(store).startswith("ReportStore('sqlite:///")
    finally:
        store.close()


def test_store_names_are_exported() -> None:
    for name in ("ReportStore", "ImportSummary", "FileResult", "Outcome", "SqlEnrichmentCache"):
        assert name in dmarc.__all__
    assert isinstance(dmarc.ReportStore, type)


@pytest.mark.parametrize(
    "url",
    ["postgresql://desk@db.example/desk", "postgres://desk@db.example/desk"],
)
def test_a_bare_postgresql_url_uses_the_installed_driver(url: str) -> None:
    # SQLAlchemy alone would pick psycopg 3, which the desk does not install.
    assert database_url(url).drivername == "postgresql+psycopg2"
    assert database_url("postgresql+psycopg2://d@h/x").drivername == "postgresql+psycopg2"
