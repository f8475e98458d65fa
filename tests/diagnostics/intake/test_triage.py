"""What happens to a message, decided from the store's results alone: archive, invalid, or retry."""

from __future__ import annotations

from diagnostics.dmarc import FileResult
from diagnostics.intake.triage import (
    Disposition,
    RunCounts,
    judge,
    parts_by_message,
    parts_of,
    smtp_reply,
    too_large,
    unavailable,
)

MiB = 1024 * 1024


def test_a_message_with_one_bad_part_among_good_ones_is_stored_and_the_bad_part_named() -> None:
    parts = [FileResult(f"INBOX #3:r{i}.xml.gz", imported=1, records=2) for i in range(9)]
    parts.append(
        FileResult("INBOX #3:bad.xml.gz", rejected=1, reasons=("the gzip data is corrupt",))
    )
    outcome = judge("INBOX #3", parts)
    assert outcome.disposition is Disposition.STORED
    assert (outcome.imported, outcome.records) == (9, 18)
    assert [p.line for p in outcome.problems] == ["bad.xml.gz: the gzip data is corrupt"]
    assert outcome.line == (
        "INBOX #3: 9 reports stored; 1 part rejected: bad.xml.gz: the gzip data is corrupt"
    )


def test_a_message_whose_reports_are_all_stored_already_is_done_too() -> None:
    outcome = judge("m", [FileResult("m:a.xml", duplicates=1)])
    assert outcome.done
    assert outcome.line == "m: 1 report already stored"


def test_a_message_with_no_report_goes_to_invalid_with_the_reason() -> None:
    outcome = judge("m", [FileResult("m", rejected=1, reasons=("this is not a report",))])
    assert outcome.disposition is Disposition.NOT_A_REPORT
    assert outcome.reason == "this is not a report"
    assert not outcome.done
    several = judge(
        "m",
        [
            FileResult("m:a.xml", rejected=1, reasons=("bad XML",)),
            FileResult("m:b.zip", rejected=1, reasons=("the zip archive is empty",)),
        ],
    )
    assert several.reason == (
        "no part of it is a report (a.xml: bad XML; b.zip: the zip archive is empty)"
    )
    assert judge("m", []).reason == "the message holds no DMARC, failure or TLS report"


def test_parts_are_found_by_the_message_name_and_nothing_else() -> None:
    results = [FileResult("INBOX #1:a"), FileResult("INBOX #12:b"), FileResult("INBOX #1")]
    assert [r.source for r in parts_of("INBOX #1", results)] == ["INBOX #1:a", "INBOX #1"]


def test_parts_by_message_finds_what_parts_of_finds() -> None:
    results = [
        FileResult("INBOX #1:a"),
        FileResult("INBOX #12:b"),
        FileResult("INBOX #1"),
        FileResult("INBOX #1#2:c.xml"),
        FileResult("m#1:a#b.xml"),
        FileResult("other"),
    ]
    names = ["INBOX #1", "INBOX #12", "INBOX #1#2", "m", "nothing"]
    grouped = parts_by_message(names, results)
    assert grouped == {name: parts_of(name, results) for name in names}


def test_the_smtp_replies() -> None:
    stored = judge("m", [FileResult("m:a.xml", imported=2), FileResult("m:b.xml", duplicates=1)])
    assert smtp_reply(stored) == "250 2.0.0 Stored 2 reports (1 already stored)"
    invalid = judge("m", [FileResult("m", rejected=1, reasons=("the file is empty",))])
    assert smtp_reply(invalid) == "554 5.6.0 No report stored: the file is empty"
    assert smtp_reply(unavailable("m", "the database cannot be written now")).startswith(
        "451 4.3.0 The report store is unavailable, try again later"
    )
    big = smtp_reply(too_large("m", 60 * MiB, 32 * MiB))
    assert big.startswith("552 5.3.4 the message is 60 MiB, over the 32 MiB cap")


def test_a_reply_is_one_ascii_line_whatever_the_attachment_is_called() -> None:
    # A sender chooses attachment names; one with CR LF must not forge a second reply line.
    name = "x.xml\r\n250 2.0.0 forged\r\nüñí" + "y" * 600
    outcome = judge(
        "message",
        [
            FileResult("message:ok.xml", imported=1),
            FileResult(f"message:{name}", rejected=1, reasons=("bad",)),
        ],
    )
    reply = smtp_reply(outcome)
    assert "\r" not in reply
    assert "\n" not in reply
    assert reply.isascii()
    assert len(reply) <= 300
    assert reply.startswith("250 2.0.0 Stored 1 report")


def test_run_counts() -> None:
    outcomes = [
        judge("a", [FileResult("a:x", imported=1, records=3)]),
        judge("b", [FileResult("b:x", duplicates=1)]),
        judge("c", [FileResult("c", rejected=1, reasons=("no",))]),
        too_large("d", 60 * MiB, MiB),
        unavailable("e", "down"),
    ]
    counts = RunCounts.of(outcomes)
    assert counts.as_dict() == {
        "messages": 5,
        "archived": 2,
        "invalid": 2,
        "left": 1,
        "reports": 1,
        "duplicates": 1,
        "records": 3,
        "rejected_parts": 1,
    }
    assert counts.line == (
        "5 messages: 1 report stored (3 records), 1 already stored; 2 archived, 2 not reports, "
        "1 left for later"
    )


def test_a_message_read_as_a_mailbox_still_owns_its_parts() -> None:
    # Bytes that begin with an mbox "From " line are a mailbox to the parser: "m#1", "m#1:a.xml".
    results = [FileResult("m#1", imported=1), FileResult("m#1:a.xml", imported=1)]
    assert len(parts_of("m", results)) == 2
    assert judge("m", parts_of("m", results)).imported == 2
