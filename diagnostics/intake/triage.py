"""What to do with one inbound message, decided from what the store made of its parts: no I/O.

Both ways reports arrive, a mailbox read over IMAP (imap.py) and the desk's own SMTP/LMTP address
(receiver.py), ask the same question of every message once its reports have been through the store,
and get the same answer here:

    some report in it is stored (now, or before: a duplicate)  -> STORED: archive it / 250
    nothing in it is a report                                  -> NOT_A_REPORT: invalid folder / 554
    over the size cap (never read)                             -> TOO_LARGE: invalid folder / 552
    the store could not be written                             -> RETRY: left where it is / 451

A message with ten reports of which one is corrupt is STORED: the nine are kept, and the bad part
is named among its `problems`, so nothing is dropped silently and the message is not read again.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from diagnostics.dmarc import FileResult
from diagnostics.wording import plural

__all__ = [
    "Disposition",
    "MessageOutcome",
    "Problem",
    "RunCounts",
    "judge",
    "parts_by_message",
    "parts_of",
    "plain",
    "size_words",
    "smtp_reply",
    "too_large",
    "unavailable",
]

MiB = 1024 * 1024
# A reply line must stay well under SMTP's 512-octet limit (RFC 5321 4.5.3.1.5).
_REPLY_TEXT = 300


class Disposition(StrEnum):
    """Where a message goes once the store has seen it."""

    STORED = "stored"
    NOT_A_REPORT = "not_a_report"
    TOO_LARGE = "too_large"
    RETRY = "retry"


@dataclass(frozen=True, slots=True)
class Problem:
    """A part of a message that is not a report the store kept, and why (in the parser's words)."""

    part: str  # the attachment's name within the message, or "the message" itself
    reason: str

    @property
    def line(self) -> str:
        return f"{self.part}: {self.reason}"


@dataclass(frozen=True, slots=True)
class MessageOutcome:
    """One message: what the store kept of it and where it goes. `reason` says why a message was
    not stored (not a report, too large, the store unavailable); `problems` name the parts that
    were not reports, also in a message that was stored."""

    message: str
    disposition: Disposition
    imported: int = 0
    duplicates: int = 0
    records: int = 0
    problems: tuple[Problem, ...] = ()
    reason: str = ""

    @property
    def done(self) -> bool:
        """True when the message may be archived or acknowledged: its reports are committed."""
        return self.disposition is Disposition.STORED

    @property
    def line(self) -> str:
        """One line for a person: what happened to the message and, for any bad part, why."""
        if self.disposition is Disposition.STORED:
            parts = []
            if self.imported:
                parts.append(f"{plural(self.imported, 'report')} stored")
            if self.duplicates:
                parts.append(f"{plural(self.duplicates, 'report')} already stored")
            text = f"{self.message}: {', '.join(parts)}"
        elif self.disposition is Disposition.RETRY:
            text = f"{self.message}: left for later: {self.reason}"
        else:
            text = f"{self.message}: not stored: {self.reason}"
        if self.problems and self.disposition is Disposition.STORED:
            bad = "; ".join(p.line for p in self.problems)
            text += f"; {plural(len(self.problems), 'part')} rejected: {bad}"
        return text


@dataclass(frozen=True, slots=True)
class RunCounts:
    """What one pass over a mailbox did, in numbers."""

    messages: int = 0
    archived: int = 0
    invalid: int = 0
    left: int = 0
    reports: int = 0
    duplicates: int = 0
    records: int = 0
    rejected_parts: int = 0

    @classmethod
    def of(cls, outcomes: Iterable[MessageOutcome]) -> RunCounts:
        found = list(outcomes)
        return cls(
            messages=len(found),
            archived=sum(o.done for o in found),
            invalid=sum(
                o.disposition in (Disposition.NOT_A_REPORT, Disposition.TOO_LARGE) for o in found
            ),
            left=sum(o.disposition is Disposition.RETRY for o in found),
            reports=sum(o.imported for o in found),
            duplicates=sum(o.duplicates for o in found),
            records=sum(o.records for o in found),
            rejected_parts=sum(len(o.problems) for o in found),
        )

    @property
    def line(self) -> str:
        text = (
            f"{plural(self.messages, 'message')}: {plural(self.reports, 'report')} stored "
            f"({plural(self.records, 'record')}), {self.duplicates:,} already stored; "
            f"{self.archived:,} archived, {self.invalid:,} not reports"
        )
        if self.left:
            text += f", {self.left:,} left for later"
        return text

    def as_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def parts_of(message: str, results: Iterable[FileResult]) -> list[FileResult]:
    """The results whose source is `message` itself or one of its parts: "message:attachment",
    or "message#2" when the bytes were a mailbox (an mbox "From " line first)."""
    return [
        r
        for r in results
        if r.source == message or r.source.startswith((f"{message}:", f"{message}#"))
    ]


def parts_by_message(
    messages: Iterable[str], results: Iterable[FileResult]
) -> dict[str, list[FileResult]]:
    """`parts_of` for every message at once: {message: its results, in order}. One pass over the
    results, each looked up by the prefixes `parts_of` would match (its whole source, and what
    comes before each ':' or '#'), so a batch of a thousand messages is not a million compares."""
    found: dict[str, list[FileResult]] = {name: [] for name in messages}
    for result in results:
        source = result.source
        owners = [source[: m.start()] for m in _SEPARATOR.finditer(source)]
        owners.append(source)
        for owner in dict.fromkeys(owners):  # a source is one message's part only once
            if owner in found:
                found[owner].append(result)
    return found


def judge(message: str, parts: Sequence[FileResult]) -> MessageOutcome:
    """The outcome of `message` from the store's results for its parts (`parts_of`)."""
    problems = tuple(
        Problem(_part_label(message, r.source), reason) for r in parts for reason in r.reasons
    )
    imported = sum(r.imported for r in parts)
    duplicates = sum(r.duplicates for r in parts)
    if imported or duplicates:
        return MessageOutcome(
            message,
            Disposition.STORED,
            imported=imported,
            duplicates=duplicates,
            records=sum(r.records for r in parts),
            problems=problems,
        )
    if not problems:
        reason = "the message holds no DMARC, failure or TLS report"
    elif len(problems) == 1 and problems[0].part == "the message":
        reason = problems[0].reason
    else:
        reason = "no part of it is a report (" + "; ".join(p.line for p in problems) + ")"
    return MessageOutcome(message, Disposition.NOT_A_REPORT, problems=problems, reason=reason)


def too_large(message: str, size: int, cap: int) -> MessageOutcome:
    """A message over the cap: refused unread, with the cap named."""
    reason = (
        f"the message is {size_words(size)}, over the {size_words(cap)} cap on report messages; "
        "it was not read"
    )
    return MessageOutcome(message, Disposition.TOO_LARGE, reason=reason)


def unavailable(message: str, why: str) -> MessageOutcome:
    """A message the store could not take now: nothing is archived or acknowledged."""
    return MessageOutcome(message, Disposition.RETRY, reason=why)


def smtp_reply(outcome: MessageOutcome) -> str:
    """The SMTP (or LMTP) reply line for `outcome`: 250 only once its reports are committed."""
    if outcome.disposition is Disposition.STORED:
        stored = plural(outcome.imported, "report")
        text = f"250 2.0.0 Stored {stored} ({outcome.duplicates:,} already stored)"
        if outcome.problems:
            text += f"; {plural(len(outcome.problems), 'part')} rejected: " + "; ".join(
                p.line for p in outcome.problems
            )
        return _line(text)
    if outcome.disposition is Disposition.TOO_LARGE:
        return _line(f"552 5.3.4 {outcome.reason}")
    if outcome.disposition is Disposition.RETRY:
        return _line(
            f"451 4.3.0 The report store is unavailable, try again later: {outcome.reason}"
        )
    return _line(f"554 5.6.0 No report stored: {outcome.reason}")


def size_words(size: int) -> str:
    """A byte count as people say it: "60 MiB", "1.5 MiB", "900 bytes"."""
    if size >= MiB:
        return f"{size / MiB:.3g} MiB".replace(".0 ", " ")
    return plural(size, "byte")


# What follows a message's name in its parts' sources (`parts_of`).
_SEPARATOR = re.compile(r"[:#]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


def plain(text: str, limit: int = 200) -> str:
    """Untrusted text (a subject, a file name, a reason quoting one) as one short printable line:
    control characters (CR and LF among them, which would forge lines) become spaces."""
    flat = _CONTROL.sub(" ", text).strip()
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _line(text: str) -> str:
    # A reply carries an attachment's name, which a sender chose: one line of ASCII, so it can
    # neither forge a second reply line nor break a client that expects ASCII.
    ascii_text = unicodedata.normalize("NFKD", plain(text, _REPLY_TEXT + 20))
    flat = ascii_text.encode("ascii", "replace").decode("ascii")
    return flat if len(flat) <= _REPLY_TEXT else flat[: _REPLY_TEXT - 3] + "..."


def _part_label(message: str, source: str) -> str:
    if source == message:
        return "the message"
    return plain(source[len(message) + 1 :], 120) or "the message"
