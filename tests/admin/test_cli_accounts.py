"""`python -m admin accounts show NAME [--json]`: the account's one diagnosis on the command line,
on SQLite and PostgreSQL, DNS from the configuration's nameserver (a loopback one here): codes in
--json, plain words in the text, the same record as the diagnosis, byte for byte."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from admin import Store, ensure_sample_data
from admin.cli import main
from admin.sample_reports import sample_report_files
from diagnostics.config import DeskConfig, DnsConfig
from diagnostics.dmarc import ReportStore
from tests.admin.test_diagnosis import BAKERY_RECORD, ZONE
from tests.support.nameserver import LoopbackNameserver


@pytest.fixture
def show(
    config: DeskConfig,
    database: Store,
    nameserver: Callable[..., LoopbackNameserver],
) -> Callable[..., tuple[int, str, str]]:
    assert ensure_sample_data(database)
    reports = ReportStore.from_config(config)
    # Dated the last days of the real clock: the command reads the last 30 days from now.
    files = sample_report_files(dt.datetime.now(dt.UTC).date())
    reports.import_files(files)
    reports.close()
    configured = replace(config, dns=DnsConfig(nameserver(ZONE).address, timeout=1.0))

    def run(*argv: str, capsys: Any) -> tuple[int, str, str]:
        code = main(["accounts", "show", *argv], config=configured)
        out = capsys.readouterr()
        return code, out.out, out.err

    return run


def test_json_gives_the_codes_and_the_one_record(show: Any, capsys: Any) -> None:
    code, out, err = show("Bluebird Bakery", "--json", capsys=capsys)
    assert (code, err) == (0, "")
    data = json.loads(out)
    assert data["account"]["name"] == "Bluebird Bakery"
    assert data["spf_record"]["value"] == BAKERY_RECORD
    assert "sendgrid_username_not_apikey" in {p["code"] for p in data["problems"]}
    assert data["connections"][0]["findings"][0]["code"] == "sendgrid_username_not_apikey"


def test_text_is_plain_words_with_the_record_alone_on_its_line(show: Any, capsys: Any) -> None:
    code, out, _ = show("bluebird bakery", capsys=capsys)
    assert code == 0
    lines = out.splitlines()
    assert BAKERY_RECORD in [line.strip() for line in lines]
    assert "SendGrid user name is not apikey" in out
    assert "Latest test: not tested yet." in out
    # No code as a title or sentence: the words people read carry no snake_case.
    assert not re.search(r"\b[a-z]+_[a-z_]+\b", out), re.findall(r"\b[a-z]+_[a-z_]+\b", out)


def test_an_unknown_account_is_refused_in_one_line(show: Any, capsys: Any) -> None:
    code, out, err = show("Nobody Here", capsys=capsys)
    assert code == 1
    assert out == ""
    assert err.strip() == "refused: No account is named “Nobody Here”."
