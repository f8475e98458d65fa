"""`python -m diagnostics reports receive|watch` as a person runs them: a real process for the
receiver (stopped with SIGTERM), the watch against the test Dovecot."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import aiosmtplib
import pytest

from diagnostics.cli import main
from diagnostics.dmarc import ReportStore
from tests.diagnostics.intake.conftest import Mailbox
from tests.support.reportmail import gzipped_report, plain_message, report_message

ROOT = Path(__file__).resolve().parents[3]
DESK = "dmarc-reports@reports.example.org"


async def test_receive_listens_stores_prints_and_stops_on_sigterm(database: str) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "diagnostics", "reports", "receive", "--listen", "127.0.0.1:0",
        "--recipient", DESK, "--database", database,
        cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        assert process.stderr is not None
        assert process.stdout is not None
        banner = (await asyncio.wait_for(process.stderr.readline(), 60)).decode()
        match = re.search(r"by SMTP on 127\.0\.0\.1:(\d+) for dmarc-reports@", banner)
        assert match, banner
        await aiosmtplib.send(
            report_message([gzipped_report(3)]),
            sender="noreply-dmarc@example.net",
            recipients=[DESK],
            hostname="127.0.0.1",
            port=int(match.group(1)),
            start_tls=False,
        )
        line = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
        assert line == "message: 1 report stored\n"
    finally:
        process.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(process.wait(), 30)
    assert code == 0
    store = ReportStore(database)
    try:
        assert list(store.reports()["report_id"]) == ["desk-test-3"]
    finally:
        store.close()


def test_watch_once_prints_a_line_a_message_and_exits_1_when_some_were_not_reports(
    mailbox: Mailbox, database: str, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    mailbox.append([report_message([gzipped_report(1)]), plain_message()])
    monkeypatch.setenv("IMAP_PASSWORD", mailbox.password)
    code = main(
        [
            "reports", "watch", "--once", "--imap", f"127.0.0.1:{mailbox.server.port}",
            "--user", mailbox.user, "--password-env", "IMAP_PASSWORD",
            "--cafile", str(mailbox.server.ca_file), "--database", database,
        ]
    )  # fmt: skip
    out = capsys.readouterr().out.splitlines()
    assert code == 1
    assert out[0].endswith(": 1 report stored")
    assert "“Lunch on Friday?”: not stored: " in out[1]
    assert out[2] == (
        "2 messages: 1 report stored (1 record), 0 already stored; 1 archived, 1 not reports"
    )
    assert mailbox.folders() == {"INBOX": 0, "Archive": 1, "Invalid": 1}


def test_a_password_typed_where_the_variable_name_goes_is_refused_unechoed(capsys) -> None:
    code = main(
        ["reports", "watch", "--imap", "imap.example.com", "--user", "u",
         "--password-env", "hunter2 secret!"]
    )  # fmt: skip
    captured = capsys.readouterr()
    assert code == 2
    assert "hunter2" not in captured.out + captured.err
    assert "takes the name of an environment variable" in captured.err


def test_receive_refuses_a_port_in_use_in_plain_words(database: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        run = subprocess.run(
            [sys.executable, "-m", "diagnostics", "reports", "receive", "--listen",
             f"127.0.0.1:{port}", "--recipient", DESK, "--database", database],
            cwd=ROOT, capture_output=True, text=True, timeout=60,
            env={**os.environ},
        )  # fmt: skip
    assert run.returncode == 2
    assert run.stderr.startswith(f"error: Cannot listen on 127.0.0.1:{port}: ")
    assert "Traceback" not in run.stderr


def test_watch_as_a_service_takes_mail_then_stops_cleanly_on_sigterm(
    mailbox: Mailbox, database: str
) -> None:
    mailbox.append([report_message([gzipped_report(8)])])
    process = subprocess.Popen(
        [
            sys.executable, "-m", "diagnostics", "reports", "watch",
            "--imap", f"127.0.0.1:{mailbox.server.port}", "--user", mailbox.user,
            "--password-env", "DESK_TEST_IMAP_PASSWORD", "--cafile", str(mailbox.server.ca_file),
            "--database", database,
        ],
        cwd=ROOT,
        env={**os.environ, "DESK_TEST_IMAP_PASSWORD": mailbox.password},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        first = process.stdout.readline()  # the backlog's message, then it waits (IDLE)
        assert first.endswith(": 1 report stored\n"), first
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert out.splitlines()[-1].startswith("1 message: 1 report stored")
    assert "Traceback" not in err
