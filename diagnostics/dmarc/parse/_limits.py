"""Caps on what the report parser will read, so one hostile or broken upload cannot exhaust memory.

Every cap is a plain number with a sane default; a page or a notebook that needs more passes its own
`ParseLimits`. An input over a cap is rejected with `ReportTooLarge` and a reason naming the cap, never
truncated silently.
"""

from __future__ import annotations

from dataclasses import dataclass

from diagnostics.errors import InvalidInput

MiB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class ParseLimits:
    """How much the parser reads before it gives up on an input.

    `max_input_bytes` bounds a file as stored (compressed or not); `max_report_bytes` bounds what one
    report decompresses to, which is what stops a zip or gzip bomb; `max_records` bounds the rows of
    one aggregate report. `max_archive_members` and `max_email_parts` bound how many pieces one zip or
    one message may hold, and `max_mbox_messages` how many messages one mailbox file may hold.
    """

    max_input_bytes: int = 256 * MiB
    max_report_bytes: int = 512 * MiB
    max_records: int = 2_000_000
    max_archive_members: int = 1_000
    max_email_parts: int = 200
    max_mbox_messages: int = 100_000

    def __post_init__(self) -> None:
        for name in (
            "max_input_bytes",
            "max_report_bytes",
            "max_records",
            "max_archive_members",
            "max_email_parts",
            "max_mbox_messages",
        ):
            if getattr(self, name) <= 0:
                raise InvalidInput(f"{name} must be a positive number")


DEFAULT_LIMITS = ParseLimits()
