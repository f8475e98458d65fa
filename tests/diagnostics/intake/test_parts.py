"""Reading only the report parts of a message (their sections, from the server's BODYSTRUCTURE)
says exactly what reading the whole message says: the same reports, counts, part names and reasons,
for every sample message receivers send and the awkward ones (a long file name in RFC 2231 form,
quoted-printable XML, an HTML body, a corrupt attachment, a failure report, no report at all)."""

from __future__ import annotations

import email.policy
import sqlite3
from email.message import EmailMessage
from pathlib import Path

import pytest

from diagnostics.database import open_engine
from diagnostics.dmarc import ReportStore
from diagnostics.intake import InboundMessage, MessageOutcome, check_mailbox, store_messages
from diagnostics.intake._fetch import FetchParseError, fetch_items
from diagnostics.intake._parts import decoded, leaves, report_parts
from diagnostics.intake.imap import open_mailbox
from diagnostics.intake.messages import STORE_DOWN
from tests.diagnostics.intake.conftest import Mailbox
from tests.support.reportmail import (
    SAMPLES,
    gzipped_report,
    plain_message,
    report_message,
    report_xml,
)

LONG_NAME = "protection.outlook.com!example.com!1711756800!1711843200!a-long-report-name.xml.gz"


def _odd_messages() -> list[bytes]:
    qp = EmailMessage()
    qp["Subject"] = "Report Domain: example.com"
    qp.set_content("An aggregate report, quoted-printable, beside an HTML body.")
    qp.add_alternative("<html><body><p>feedback welcome</p></body></html>", subtype="html")
    qp.add_attachment(
        report_xml(31).decode(), subtype="xml", cte="quoted-printable", filename="r.xml"
    )
    corrupt = [gzipped_report(n) for n in range(40, 43)]
    corrupt.insert(1, ("corrupt!example.com!1.xml.gz", b"\x1f\x8b\x08\x00garbage"))
    return [
        report_message([(LONG_NAME, gzipped_report(30)[1])]),
        qp.as_bytes(policy=email.policy.SMTP),
        report_message(corrupt),
        report_message([gzipped_report(50), gzipped_report(50)]),  # the same report twice
        plain_message(),
    ]


def _samples() -> list[bytes]:
    found = sorted(p for p in SAMPLES.rglob("*.eml") if ".crlf." not in p.name)
    assert len(found) >= 8
    return [p.read_bytes() for p in found]


def _said(outcome: MessageOutcome) -> tuple[object, ...]:
    name = outcome.message.split(" “")[0]  # the IMAP outcome adds the subject
    return (
        name,
        outcome.disposition,
        outcome.imported,
        outcome.duplicates,
        outcome.records,
        outcome.problems,
        outcome.reason,
    )


def test_the_report_parts_alone_say_what_the_whole_message_says(
    mailbox: Mailbox, report_store: ReportStore, tmp_path: Path
) -> None:
    raws = _samples() + _odd_messages()
    mailbox.append(raws)
    over_imap = check_mailbox(mailbox.settings(), report_store)
    whole_store = ReportStore(f"sqlite:///{tmp_path / 'whole.sqlite'}")
    try:
        whole = store_messages(
            whole_store, [InboundMessage(f"INBOX #{n}", raw) for n, raw in enumerate(raws, 1)]
        )
        assert [_said(o) for o in over_imap] == [_said(o) for o in whole]
        assert sorted(report_store.reports()["report_id"]) == sorted(
            whole_store.reports()["report_id"]
        )
        assert len(report_store.failure_reports()) == len(whole_store.failure_reports()) > 0
        assert len(report_store.tls_reports()) == len(whole_store.tls_reports()) > 0
    finally:
        whole_store.close()


def test_a_report_message_is_read_by_its_parts(mailbox: Mailbox) -> None:
    mailbox.append([*_odd_messages()[:2], plain_message()])
    opened = open_mailbox(mailbox.settings())
    try:
        uids = opened.pending()
        heads = opened.heads(uids)
        plans = [leaves(heads[uid].structure, 100) for uid in uids]
        assert plans[0] is not None
        assert [leaf.filename for leaf in plans[0]] == [None, LONG_NAME]  # RFC 2231, decoded
        taken = []
        for uid, plan in zip(uids, plans, strict=True):
            assert plan is not None
            raw = opened.parts([uid], [leaf.section for leaf in plan])[uid]
            parts = [
                (leaf, decoded(data, leaf.encoding)) for leaf, data in zip(plan, raw, strict=True)
            ]
            taken.append(report_parts([(leaf, p) for leaf, p in parts if p is not None], 10**7))
    finally:
        opened.close()
    assert taken[0] is not None
    assert [label for label, _ in taken[0]] == [LONG_NAME]
    assert taken[0][0][1] == gzipped_report(30)[1]
    assert taken[1] is not None
    # The HTML body says "feedback" in its text, but holds no <feedback> tag: it is not taken for
    # a report, here as reading the whole message.
    assert [label for label, _ in taken[1]] == ["r.xml"]
    assert taken[1][0][1].replace(b"\r\n", b"\n").strip() == report_xml(31).strip()
    assert taken[2] is None  # no report part: the whole message is read, and the parser says why


def test_the_quick_fetch_reader_reads_what_imapclient_reads(mailbox: Mailbox) -> None:
    raws = _samples() + _odd_messages()
    mailbox.append(raws)
    opened = open_mailbox(mailbox.settings())
    try:
        uids = opened.pending()
        items = ["RFC822.SIZE", "BODY.PEEK[HEADER.FIELDS (SUBJECT)]", "BODYSTRUCTURE"]
        quick = opened._fetch(uids, items)
        slow = opened._fetch_slowly(uids, items)
        # The quick reader took every response itself (no fallback to imapclient's parser).
        kind, raw = opened._client._imap.uid("FETCH", "1:*", f"({' '.join(items)})")
        assert kind == "OK"
        assert len(fetch_items([d for d in raw if d is not None])) == len(raws)
        sections = ["1", "2"]
        quick_parts = opened._fetch(uids, [f"BODY.PEEK[{s}]" for s in sections])
        slow_parts = opened._fetch_slowly(uids, [f"BODY.PEEK[{s}]" for s in sections])
    finally:
        opened.close()
    assert len(quick) == len(raws)
    for uid in uids:
        mine, theirs = quick[uid], slow[uid]
        assert int(mine[b"RFC822.SIZE"]) == int(theirs[b"RFC822.SIZE"])
        subject = b"BODY[HEADER.FIELDS (SUBJECT)]"
        assert mine[subject] == theirs[subject]
        assert leaves(mine[b"BODYSTRUCTURE"], 100) == leaves(theirs[b"BODYSTRUCTURE"], 100), uid
        for key in (b"BODY[1]", b"BODY[2]"):
            assert quick_parts[uid].get(key) == slow_parts[uid].get(key), (uid, key)


def test_a_response_the_quick_reader_does_not_take_is_refused_not_guessed() -> None:
    with pytest.raises(FetchParseError):
        fetch_items([b"1 (UID 1 RFC822.SIZE"])  # ends early
    with pytest.raises(FetchParseError):
        fetch_items([(b"1 (UID 1 BODY[1] {10}", b"short")])  # a literal cut short
    with pytest.raises(FetchParseError):
        fetch_items([b' BODYSTRUCTURE ("text")'])  # a continuation of nothing
    with pytest.raises(FetchParseError):
        fetch_items([b"1 (UID 1 X {3} Y)"])  # a literal announced mid-line
    assert fetch_items([b'1 (UID 2 X "" Y NIL)']) == {1: {b"UID": b"2", b"X": b"", b"Y": None}}
    assert fetch_items([(b"1 (UID 7 BODY[1] {3}", b"NIL"), b' FLAGS (\\Seen) X "a\\"b")']) == {
        1: {b"UID": b"7", b"BODY[1]": b"NIL", b"FLAGS": [b"\\Seen"], b"X": b'a"b'}
    }


def test_pipelined_chunks_move_only_what_is_committed(
    mailbox: Mailbox, database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A backlog read two messages a chunk (the next chunk fetched while one is stored): the
    database locked after the first chunks are stored stops the pass; what was committed is
    archived and said, the rest stays in the inbox, and the next pass takes it, nothing twice."""
    import diagnostics.intake.imap

    monkeypatch.setattr(diagnostics.intake.imap, "CHUNK_MESSAGES", 2)
    mailbox.append([report_message([gzipped_report(n)]) for n in range(60, 66)])
    store = ReportStore(open_engine(database, busy_timeout=0.2))
    blocker = sqlite3.connect(database.removeprefix("sqlite:///"), isolation_level=None)
    seen: list[MessageOutcome] = []

    def lock_once_some_are_said(outcome: MessageOutcome) -> None:
        seen.append(outcome)
        if len(seen) == 1:  # another writer takes SQLite's write lock and keeps it
            blocker.execute("BEGIN IMMEDIATE")

    try:
        with pytest.raises(STORE_DOWN):
            check_mailbox(mailbox.settings(), store, on_outcome=lock_once_some_are_said)
        blocker.execute("ROLLBACK")
        stored = sorted(store.reports()["report_id"])
        # Chunk 1 is said once chunk 2 is stored; chunk 3 finds the lock; chunk 2 is said too.
        assert len(seen) == mailbox.count("Archive") == len(stored) == 4
        assert mailbox.count("INBOX") == 6 - len(seen)
        rest = check_mailbox(mailbox.settings(), store)
        assert [o.imported for o in rest] == [1] * (6 - len(seen))
        assert sorted(store.reports()["report_id"]) == [f"desk-test-{n}" for n in range(60, 66)]
        assert mailbox.folders() == {"INBOX": 0, "Archive": 6, "Invalid": 0}
    finally:
        blocker.close()
        store.close()
