"""The desk killed between storing a message's reports and archiving the message: the restart must
neither lose the report nor count it twice.

How the moment is reached without a hook in the product: the test holds the archive folder's maildir
lock (as another Dovecot process would), so the watcher's MOVE waits inside Dovecot. Once the
report is committed (seen in the database), the watcher, a real `python -m diagnostics reports
watch` process, is killed with SIGKILL: the MOVE cannot have happened, the lock is still held. The
server is then killed too, so the MOVE it was waiting to do dies with it, and restarted; the next
run finds the message in the inbox again.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from diagnostics.dmarc import ReportStore
from tests.diagnostics.intake.conftest import Mailbox
from tests.support.dovecot import Dovecot
from tests.support.reportmail import gzipped_report, report_message

ROOT = Path(__file__).resolve().parents[3]


def _watch(mailbox: Mailbox, database: str) -> list[str]:
    return [
        sys.executable, "-m", "diagnostics", "reports", "watch", "--once",
        "--imap", f"127.0.0.1:{mailbox.server.port}", "--user", mailbox.user,
        "--password-env", "DESK_TEST_IMAP_PASSWORD", "--cafile", str(mailbox.server.ca_file),
        "--database", database,
    ]  # fmt: skip


def test_killed_between_store_and_archive_the_restart_neither_loses_nor_double_counts(
    dovecot: Dovecot, mailbox: Mailbox, database: str, report_store: ReportStore
) -> None:
    mailbox.append([report_message([gzipped_report(77)])])
    environment = {**os.environ, "DESK_TEST_IMAP_PASSWORD": mailbox.password}
    with dovecot.hold(mailbox.user, "Archive"):
        watcher = subprocess.Popen(
            _watch(mailbox, database),
            cwd=ROOT,
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        try:
            deadline = time.monotonic() + 60
            while report_store.reports().empty:  # the commit is only visible in the database
                assert watcher.poll() is None, watcher.communicate()
                assert time.monotonic() < deadline, "the report was never stored"
                time.sleep(0.05)
        finally:
            watcher.send_signal(signal.SIGKILL)
            out, _ = watcher.communicate(timeout=30)
        assert watcher.returncode == -signal.SIGKILL
        assert out == b""  # killed before it could report the message as done
        dovecot.kill()  # with the lock still held: the MOVE it was waiting to do dies too
    dovecot.start()
    assert mailbox.folders() == {"INBOX": 1, "Archive": 0, "Invalid": 0}
    assert list(report_store.reports()["report_id"]) == ["desk-test-77"]
    records = len(report_store.records())

    again = subprocess.run(
        _watch(mailbox, database), cwd=ROOT, env=environment, capture_output=True, timeout=120
    )
    out = again.stdout.decode()
    assert again.returncode == 0, again.stderr.decode()
    assert (
        "INBOX #1 “Report Domain: example.com Submitter: example.net”: 1 report already stored"
        in out
    )
    assert out.splitlines()[-1].startswith(
        "1 message: 0 reports stored (0 records), 1 already stored"
    )
    assert mailbox.folders() == {"INBOX": 0, "Archive": 1, "Invalid": 0}
    assert list(report_store.reports()["report_id"]) == ["desk-test-77"]
    assert len(report_store.records()) == records
    assert int(report_store.volume_by_day()["messages"].sum()) == 1
