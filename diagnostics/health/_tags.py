"""The tag=value records of MTA-STS, TLS-RPT and BIMI: which TXT records of a name are the one a
check wants (by their version tag), and their tags."""

from __future__ import annotations

from dataclasses import dataclass

from diagnostics.dns import Answer, Status
from diagnostics.findings import Finding, Severity

__all__ = ["TagRecord", "find_record", "parse_tags"]


def parse_tags(text: str) -> tuple[dict[str, str], list[str]]:
    """`k=v; k=v` -> ({k: v} with lower-case keys, the first of each; the pieces that are not
    `k=v`). Values keep their case (a URL, an id)."""
    tags: dict[str, str] = {}
    malformed: list[str] = []
    for piece in text.split(";"):
        piece = piece.strip()
        if not piece:
            continue
        key, eq, value = piece.partition("=")
        if not eq or not key.strip():
            malformed.append(piece)
            continue
        tags.setdefault(key.strip().lower(), value.strip())
    return tags, malformed


@dataclass(frozen=True, slots=True)
class TagRecord:
    """The one record found at `name`: its text and tags."""

    name: str
    text: str
    tags: dict[str, str]
    malformed: tuple[str, ...] = ()


def find_record(answer: Answer, version: str, what: str) -> tuple[TagRecord | None, Finding | None]:
    """The record of `answer` whose first tag is v=`version` (case as the RFCs allow), or the
    finding that says why there is none to use: DNS did not answer (`dns_error`), or more than
    one such record (`multiple_records`: receivers then use none). (None, None) when the name
    has no such record."""
    if answer.status.is_temporary:
        return None, Finding(
            "dns_error",
            Severity.ERROR,
            f"The {what} record at {answer.name} could not be read: {answer.describe()}. "
            "Check again in a while.",
            answer.name,
        )
    if answer.status is not Status.OK:
        return None, None
    prefix = f"v={version}".lower()
    found = [r for r in answer.records if r.strip().lower().replace(" ", "").startswith(prefix)]
    if not found:
        return None, None
    if len(found) > 1:
        return None, Finding(
            "multiple_records",
            Severity.ERROR,
            f"{answer.name} has {len(found)} {what} records, so receivers use none of them. "
            f"Keep one: delete all but one of these TXT records: {' | '.join(found)}",
            answer.name,
        )
    tags, malformed = parse_tags(found[0])
    return TagRecord(answer.name, found[0], tags, tuple(malformed)), None
