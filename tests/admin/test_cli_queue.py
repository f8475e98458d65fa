"""`python -m admin queue` and `alerts` through main(argv, config=...): the sample accounts
refreshed with the configuration's nameserver (loopback) and report store, ranked in plain lines or
JSON codes, filtered; the alert run refreshes what changed and sends to a loopback webhook."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterator
from functools import partial

import pytest

from admin import Store, ensure_sample_data
from admin.cli import main
from desk.resources import demo_reports
from diagnostics.config import DeskConfig, DnsConfig
from diagnostics.dmarc import ReportStore
from tests.admin.test_diagnosis import TODAY, ZONE
from tests.support.nameserver import LoopbackNameserver
from tests.support.webhook import WebhookReceiver


@pytest.fixture
def desk(
    config: DeskConfig, nameserver: Callable[..., LoopbackNameserver]
) -> Iterator[tuple[Store, Callable[..., int]]]:
    """The sample desk with its demo reports; the CLI asks the loopback nameserver."""
    server = nameserver(ZONE)
    config = dataclasses.replace(config, dns=DnsConfig(nameserver=server.address, timeout=2.0))
    with Store.from_config(config) as store:
        assert ensure_sample_data(store)
        reports = ReportStore.from_config(config)
        reports.import_files(demo_reports(TODAY))
        reports.close()
        yield store, partial(main, config=config)


def test_queue_refresh_then_ranked_lines_and_json(
    desk: tuple[Store, Callable[..., int]], capsys: pytest.CaptureFixture[str]
) -> None:
    _, cli = desk
    assert cli(["queue"]) == 0
    out = capsys.readouterr()
    assert out.out == "No account needs attention.\n"
    assert "5 accounts changed since their last check" in out.err

    assert cli(["queue", "refresh"]) == 0
    assert capsys.readouterr().out == "Refreshed 5 of 5 accounts; 3 need attention.\n"
    assert cli(["queue"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "   1. Cedar Studio (Nano): Mail paused"
    assert lines[1].strip().startswith("Outbound mail is paused")
    assert "(Nano · SendGrid): Provider missing from SPF, Connection settings wrong" in "\n".join(
        lines
    )
    assert not any("_" in line for line in lines)  # codes only in --json

    assert cli(["queue", "--json", "--kind", "connection_lint", "--provider", "ses"]) == 0
    [lumen] = json.loads(capsys.readouterr().out)
    assert lumen["account"] == "Lumen Fitness"
    assert lumen["kinds"] == ["provider_missing_from_spf", "connection_lint"]
    assert cli(["queue", "--json", "--plan", "agency", "--all"]) == 0
    [agency] = json.loads(capsys.readouterr().out)
    assert agency["score"] == 0

    with pytest.raises(SystemExit) as exited:
        cli(["queue", "--kind", "everything"])
    assert exited.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_alerts_run_refreshes_what_changed_and_sends(
    desk: tuple[Store, Callable[..., int]], capsys: pytest.CaptureFixture[str]
) -> None:
    store, cli = desk
    receiver = WebhookReceiver().start()
    try:
        store.alerts.save_webhook_channel(receiver.url, hmac_secret="k")
        assert cli(["alerts", "run", "--json"]) == 0
        done = json.loads(capsys.readouterr().out)
        assert (done["refreshed"], done["opened"], done["sent"]) == (5, 5, 5)
        assert len(receiver.received) == 5
        assert cli(["alerts", "run"]) == 0
        assert capsys.readouterr().out == (
            "Alerts: 0 opened, 0 resolved, 5 still active; notices: 0 sent, 0 to try again, "
            "0 failed.\n"
        )
        assert len(receiver.received) == 5
    finally:
        receiver.stop()
    assert cli(["alerts", "history", "--active"]) == 0
    text = capsys.readouterr().out
    assert "Cedar Studio: Mail paused (active; first seen" in text
    assert "notices: webhook opened sent" in text
