"""Caps on what the report parser will read, so one hostile or broken upload cannot exhaust memory
or time.

Every cap is a plain number with a default sized from real reports; the desk's configuration
(`ReportsConfig.parse_limits()`) builds the ones it uses, and a notebook passes its own
`ParseLimits`. An input over a cap is rejected with `ReportTooLarge` and a reason naming the cap,
never truncated silently.

Why these defaults: the largest real aggregate reports are tens of MB of XML (a few MB of gzip),
and real reports compress 10 to 30 times. So one upload may be 128 MiB as stored, may decompress
to 256 MiB in all, and a stream that decompresses more than 200 times its size past its first MiB is
a bomb, not a report. One upload holds at most a million records and 10,000 JSON objects of TLS
reports (policies, failure details), and is read in at most 30 seconds.
"""

from __future__ import annotations

from dataclasses import dataclass

from diagnostics.errors import InvalidInput

MiB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class ParseLimits:
    """How much the parser reads of one upload (one file, whatever it nests) before it gives up.

    `max_input_bytes` bounds the file as stored (compressed or not). `max_report_bytes` bounds what
    all decompression inside it produces together (every gzip and zip member, at every nesting
    level), which with `max_ratio` is what stops a zip or gzip bomb: a stream that has produced
    more than `ratio_grace_bytes` and more than `max_ratio` times the compressed bytes it read is
    stopped there. `max_records` bounds the aggregate records of the upload, `max_tls_items` the
    JSON objects of its TLS reports (each policy, summary and failure detail is one), `max_seconds` the time it may take to read.
    `max_archive_members` and `max_email_parts` bound how many pieces one zip or one message may
    hold, `max_mbox_messages` how many messages one mailbox file may hold, `max_message_bytes`
    how large a message read whole (a failure report) may be, and `max_json_bytes` how large a TLS
    report's JSON may be (real ones are a few KB).
    """

    max_input_bytes: int = 128 * MiB
    max_report_bytes: int = 256 * MiB
    max_records: int = 1_000_000
    max_archive_members: int = 1_000
    max_email_parts: int = 200
    max_mbox_messages: int = 100_000
    max_ratio: int = 200
    ratio_grace_bytes: int = MiB
    max_tls_items: int = 10_000
    max_seconds: float = 30.0
    max_message_bytes: int = 2 * MiB
    max_json_bytes: int = 4 * MiB

    def __post_init__(self) -> None:
        for name in (
            "max_input_bytes",
            "max_report_bytes",
            "max_records",
            "max_archive_members",
            "max_email_parts",
            "max_mbox_messages",
            "max_ratio",
            "ratio_grace_bytes",
            "max_tls_items",
            "max_seconds",
            "max_message_bytes",
            "max_json_bytes",
        ):
            if getattr(self, name) <= 0:
                raise InvalidInput(f"{name} must be a positive number")


DEFAULT_LIMITS = ParseLimits()
