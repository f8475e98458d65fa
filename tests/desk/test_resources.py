"""desk.resources without a page: the resolver each run gets (DESK_NAMESERVER, DESK_DNS_TIMEOUT in
the app's configuration), which database is the embedded default, and the bundled sample and demo
reports. Opening the stores through Streamlit's cache is the pages' (tests/pages/test_dmarc_reports.py,
test_smtp_settings.py)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from desk.configuration import use_config
from desk.resources import (
    SAMPLES,
    app_resolver,
    demo_reports,
    dns_settings,
    is_embedded_default,
    sample_files,
)
from diagnostics.config import DatabaseConfig, DeskConfig, DnsConfig


def test_the_resolver_asks_the_configured_nameserver() -> None:
    with use_config(DeskConfig(dns=DnsConfig("127.0.0.1:5353", timeout=1.5))):
        assert dns_settings() == ("127.0.0.1:5353", "1.5")
        resolver = app_resolver()
        assert (resolver.nameservers, resolver.port, resolver.timeout) == (["127.0.0.1"], 5353, 1.5)
        assert app_resolver() is not resolver  # a fresh one, and cache, each run


def test_unset_the_resolver_is_the_systems_with_three_seconds() -> None:
    with use_config(DeskConfig()):
        assert dns_settings() == ("", "3")
        assert app_resolver().timeout == 3.0


def test_the_embedded_default_is_the_sqlite_file_in_the_data_folder(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert is_embedded_default(DatabaseConfig(data_dir=data))
    assert is_embedded_default(DatabaseConfig(f"sqlite:///{data / 'desk.sqlite'}", data_dir=data))
    assert not is_embedded_default(DatabaseConfig(f"sqlite:///{tmp_path / 'other.sqlite'}", data))
    assert not is_embedded_default(DatabaseConfig("postgresql+psycopg2://desk@127.0.0.1/desk"))


def test_the_samples_are_reports_without_their_licence() -> None:
    files = sample_files()
    assert files
    assert {p.name for p in files}.isdisjoint({"LICENSE", "SOURCE.md"})
    assert (SAMPLES / "LICENSE").is_file()
    assert sample_files(SAMPLES / "not-there") == []


def test_the_demo_reports_are_named_files_for_the_sample_accounts() -> None:
    reports = demo_reports(dt.date(2026, 11, 24))
    assert reports
    names = [r.name for r in reports]
    assert len(set(names)) == len(names)
    assert all(r.getvalue() for r in reports)
