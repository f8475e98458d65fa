"""One budget per upload: what reading one uploaded file (and everything nested in it) may cost.

Every reader of an upload draws on the same `UploadBudget`: the file's own bytes, the bytes every
gzip and zip member at every nesting level decompresses to, the aggregate records, the TLS policies
and failure details, and the seconds spent. A zip of ten zips therefore shares one allowance rather
than getting ten fresh ones, and each cap, when reached, is named in the reason, so a person knows
which setting to raise.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from diagnostics.dmarc.parse._limits import MiB, ParseLimits
from diagnostics.errors import ReportTooLarge

# How real reports compress, quoted in the ratio's refusal so a person can judge it.
REAL_RATIO = "real reports compress 10 to 30 times"


class UploadBudget:
    """What one upload may still take (module docstring); each `spend_*` raises `ReportTooLarge`
    naming the cap it went over. `clock` is injectable for tests of the time cap."""

    __slots__ = (
        "_clock",
        "_deadline",
        "inflated",
        "limits",
        "read",
        "records",
        "stopped",
        "tls_items",
    )

    def __init__(self, limits: ParseLimits, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self.read = 0
        self.inflated = 0
        self.records = 0
        self.tls_items = 0
        self._clock = clock
        self._deadline = clock() + limits.max_seconds
        # The reason the upload was stopped, once a cap was reached: nothing more is read.
        self.stopped: str | None = None

    def _refuse(self, reason: str) -> ReportTooLarge:
        self.stopped = reason
        return ReportTooLarge(reason)

    def spend_input(self, size: int) -> None:
        """`size` more bytes of the file as stored were read."""
        self.read += size
        if self.read > self.limits.max_input_bytes:
            raise self._refuse(
                f"the file is larger than {size_text(self.limits.max_input_bytes)} (the "
                "max_input_bytes cap); it is rejected whole rather than read in part"
            )
        self.check_time()

    def spend_inflated(self, size: int) -> None:
        """Decompression (at any level) produced `size` more bytes."""
        self.inflated += size
        if self.inflated > self.limits.max_report_bytes:
            raise self._refuse(
                f"it decompresses to more than {size_text(self.limits.max_report_bytes)} (the "
                "max_report_bytes cap, for everything one upload holds); it is rejected whole, as "
                "a possible decompression bomb, rather than read in part"
            )
        self.check_time()

    def check_ratio(self, produced: int, consumed: int) -> None:
        """One stream has decompressed `consumed` bytes into `produced`: a ratio no real report
        shows, past the first `ratio_grace_bytes`, is a bomb, stopped before it fills anything."""
        limits = self.limits
        if produced <= limits.ratio_grace_bytes or produced <= limits.max_ratio * consumed:
            return
        ratio = produced / max(consumed, 1)
        raise self._refuse(
            f"it decompresses {ratio:,.0f} times its compressed size, more than the max_ratio cap "
            f"({limits.max_ratio} times; {REAL_RATIO}); it is rejected as a decompression bomb "
            f"after {size_text(produced)}"
        )

    def records_left(self) -> int:
        return self.limits.max_records - self.records

    def spend_records(self, count: int) -> None:
        """A report of `count` records was read whole (its parser checked `records_left()`)."""
        self.records += count

    def too_many_records(self) -> ReportTooLarge:
        """The refusal of a report that went past `records_left()`, when earlier reports of the
        upload used part of the cap (the parser's own message names the report's count alone)."""
        return self._refuse(
            f"the upload has more than {self.limits.max_records:,} records in all (the "
            "max_records cap); this report is rejected whole rather than cut short"
        )

    def spend_tls(self, count: int = 1) -> None:
        """`count` more JSON objects of a TLS report (policies, summaries, failure details) were
        read."""
        self.tls_items += count
        if self.tls_items > self.limits.max_tls_items:
            raise self._refuse(
                f"the upload has more than {self.limits.max_tls_items:,} TLS policies, failure "
                "details and other JSON objects (the max_tls_items cap); the report is rejected "
                "whole"
            )

    def check_time(self) -> None:
        if self._clock() > self._deadline:
            raise self._refuse(
                f"reading it took more than {self.limits.max_seconds:g} seconds (the max_seconds "
                "cap); it is rejected whole rather than read in part"
            )


class TooManyRecords(ReportTooLarge):
    """One report holds more records than it may (`max_records` of what the upload has left)."""

    def __init__(self, max_records: int) -> None:
        super().__init__(
            f"the report has more than {max_records:,} records (the max_records cap); it is "
            "rejected whole rather than cut short"
        )


def size_text(size: int) -> str:
    """`size` as a person reads it: "20 MiB", "1.5 MiB", "4,096 bytes"."""
    if size < MiB:
        return f"{size:,} bytes"
    return f"{size // MiB:,} MiB" if size % MiB == 0 else f"{size / MiB:,.1f} MiB"
