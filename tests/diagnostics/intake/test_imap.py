"""The mailbox intake against a real Dovecot on loopback: messages stored and filed, the failures a
mailbox meets (a wrong password, an untrusted certificate, a corrupt attachment, a huge message, a
report twice, the server going away mid-fetch), and IDLE."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from diagnostics.cli import main
from diagnostics.dmarc import ReportStore
from diagnostics.errors import MailboxError, MailboxLoginRefused
from diagnostics.intake import Backoff, Disposition, MessageOutcome, Watcher, check_mailbox
from tests.diagnostics.intake.conftest import Mailbox
from tests.support.dovecot import Dovecot
from tests.support.relay import Relay
from tests.support.reportmail import (
    SAMPLES,
    gzipped_report,
    padded,
    plain_message,
    report_message,
    report_xml,
)

LARGE = SAMPLES / "aggregate" / "!large-example.com!1711897200!1711983600.xml"
MiB = 1024 * 1024


def test_a_backlog_is_stored_and_each_message_filed(
    mailbox: Mailbox, report_store: ReportStore, stored: Callable[[], list[str]]
) -> None:
    samples = [
        SAMPLES
        / "aggregate"
        / "Report domain- borschow.com Submitter- google.com Report-ID- 949348866075514174.eml",
        SAMPLES / "smtp_tls" / "google.com_smtp_tls_report.eml",
        SAMPLES / "failure" / "dmarc_ruf_report_linkedin.eml",
    ]
    mailbox.append(
        [path.read_bytes() for path in samples]
        + [report_message([gzipped_report(n)]) for n in range(5)]
        + [plain_message()]
    )
    seen: list[tuple[int, int]] = []
    outcomes = check_mailbox(
        mailbox.settings(), report_store, progress=lambda done, total: seen.append((done, total))
    )
    assert [o.disposition for o in outcomes] == [Disposition.STORED] * 8 + [
        Disposition.NOT_A_REPORT
    ]
    assert outcomes[-1].line.startswith("INBOX #9 “Lunch on Friday?”: not stored: ")
    assert mailbox.folders() == {"INBOX": 0, "Archive": 8, "Invalid": 1}
    assert stored() == ["949348866075514174", *(f"desk-test-{n}" for n in range(5))]
    assert len(report_store.tls_reports()) >= 1
    assert len(report_store.failure_reports()) == 1
    assert seen[-1] == (9, 9)
    # Nothing left: a second pass finds nothing to do.
    assert check_mailbox(mailbox.settings(), report_store) == []


def test_starttls_on_port_143_style_listeners_works_too(
    mailbox: Mailbox, report_store: ReportStore, stored: Callable[[], list[str]]
) -> None:
    mailbox.append([report_message([gzipped_report(1)])])
    settings = mailbox.settings(port=mailbox.server.starttls_port, security="starttls")
    assert [o.imported for o in check_mailbox(settings, report_store)] == [1]
    assert stored() == ["desk-test-1"]


def test_a_wrong_password_is_one_try_and_a_clear_message(
    mailbox: Mailbox, database: str, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    mailbox.append([report_message([gzipped_report(1)])])
    monkeypatch.setenv("IMAP_PASSWORD", "not-the-password")
    code = main(
        [
            "reports", "watch", "--imap", f"127.0.0.1:{mailbox.server.port}",
            "--user", mailbox.user, "--password-env", "IMAP_PASSWORD",
            "--cafile", str(mailbox.server.ca_file), "--database", database,
        ]
    )  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2  # the watch (not --once) gives up at once: no retry storm
    assert "refused the user name or password" in err
    assert "not-the-password" not in err
    failed = [
        line
        for line in mailbox.server.log().splitlines()
        if f"user=<{mailbox.user}>" in line and "auth failed" in line
    ]
    assert len(failed) == 1
    assert "1 attempts" in failed[0]
    assert mailbox.folders()["INBOX"] == 1


def test_an_untrusted_certificate_is_refused_and_never_skipped(
    mailbox: Mailbox, report_store: ReportStore
) -> None:
    mailbox.append([report_message([gzipped_report(1)])])
    with pytest.raises(MailboxError, match="is not trusted") as refused:
        check_mailbox(mailbox.settings(cafile=None), report_store)
    assert not isinstance(refused.value, MailboxLoginRefused)
    assert mailbox.folders()["INBOX"] == 1


def test_ten_reports_one_corrupt_nine_stored_the_message_archived_the_bad_one_named(
    mailbox: Mailbox, report_store: ReportStore, stored: Callable[[], list[str]]
) -> None:
    attachments = [gzipped_report(n) for n in range(100, 109)]
    attachments.insert(4, ("corrupt!example.com!1.xml.gz", b"\x1f\x8b\x08\x00garbage"))
    mailbox.append([report_message(attachments)])
    [outcome] = check_mailbox(mailbox.settings(), report_store)
    assert outcome.disposition is Disposition.STORED
    assert outcome.imported == 9
    assert [p.part for p in outcome.problems] == ["corrupt!example.com!1.xml.gz"]
    assert "1 part rejected: corrupt!example.com!1.xml.gz: the gzip data is" in outcome.line
    assert stored() == [f"desk-test-{n}" for n in range(100, 109)]
    assert mailbox.folders() == {"INBOX": 0, "Archive": 1, "Invalid": 0}


def test_a_60_mb_message_goes_to_invalid_unread_with_the_cap_named(
    mailbox: Mailbox, report_store: ReportStore, stored: Callable[[], list[str]]
) -> None:
    huge = padded(report_message([gzipped_report(7)]), 60 * MiB)
    mailbox.append([huge, report_message([gzipped_report(8)])])
    outcomes = check_mailbox(mailbox.settings(), report_store)
    assert [o.disposition for o in outcomes] == [Disposition.TOO_LARGE, Disposition.STORED]
    assert "over the 32 MiB cap on report messages; it was not read" in outcomes[0].reason
    assert stored() == ["desk-test-8"]
    assert mailbox.folders() == {"INBOX": 0, "Archive": 1, "Invalid": 1}


def test_the_same_report_delivered_twice_is_stored_once(
    mailbox: Mailbox, report_store: ReportStore, stored: Callable[[], list[str]]
) -> None:
    mailbox.append([report_message([gzipped_report(5)])] * 2)
    outcomes = check_mailbox(mailbox.settings(), report_store)
    assert [(o.imported, o.duplicates) for o in outcomes] == [(1, 0), (0, 1)]
    mailbox.append([report_message([gzipped_report(5)])])  # and again, a day later
    [late] = check_mailbox(mailbox.settings(), report_store)
    assert (late.imported, late.duplicates) == (0, 1)
    assert stored() == ["desk-test-5"]
    assert mailbox.folders() == {"INBOX": 0, "Archive": 3, "Invalid": 0}


def test_idle_takes_a_new_message_as_it_arrives(
    mailbox: Mailbox, report_store: ReportStore, stored: Callable[[], list[str]]
) -> None:
    arrived = threading.Event()
    outcomes: list[MessageOutcome] = []

    def take(outcome: MessageOutcome) -> None:
        outcomes.append(outcome)
        arrived.set()

    # Polling every 10 minutes: only IDLE can bring the message in within the test's wait.
    watcher = Watcher(mailbox.settings(), report_store, poll_seconds=600, on_outcome=take)
    thread = threading.Thread(target=watcher.run, daemon=True)
    thread.start()
    try:
        mailbox.append([report_message([gzipped_report(42)])])
        assert arrived.wait(20), "the watcher did not take the new message"
    finally:
        watcher.stop()
        thread.join(20)
    assert not thread.is_alive()
    assert [o.imported for o in outcomes] == [1]
    assert stored() == ["desk-test-42"]


def test_the_server_going_away_mid_fetch_is_survived_and_the_rest_taken(
    dovecot: Dovecot, mailbox: Mailbox, report_store: ReportStore, stored: Callable[[], list[str]]
) -> None:
    # Ten messages of ~0.9 MB each: the watcher is mid-download when the relay holds the line.
    big = [report_message([(f"large-{n}.xml", report_xml(n, LARGE))]) for n in range(10)]
    mailbox.append(big)
    relay = Relay(lambda: ("127.0.0.1", dovecot.port)).start()
    relay.hold_after(2 * MiB)
    done = threading.Event()
    outcomes: list[MessageOutcome] = []
    retries: list[str] = []

    def take(outcome: MessageOutcome) -> None:
        outcomes.append(outcome)
        if len(outcomes) == 10:
            done.set()

    watcher = Watcher(
        mailbox.settings(port=relay.port),
        report_store,
        poll_seconds=600,
        backoff=Backoff(base=0.05, cap=0.5),
        on_outcome=take,
        on_retry=lambda why, _delay: retries.append(why),
    )
    thread = threading.Thread(target=watcher.run, daemon=True)
    thread.start()
    try:
        assert relay.held.wait(30), "the fetch never got under way"
        assert outcomes == []  # stopped inside the first chunk's FETCH
        dovecot.kill()
        relay.release()
        dovecot.start()
        assert done.wait(60), f"the watcher did not resume: {retries}"
    finally:
        watcher.stop()
        thread.join(20)
        relay.close()
    assert retries
    assert "lost" in retries[0]
    assert relay.connections >= 2
    assert [o.imported for o in outcomes] == [1] * 10
    assert stored() == sorted(f"desk-test-{n}" for n in range(10))
    assert mailbox.folders() == {"INBOX": 0, "Archive": 10, "Invalid": 0}
