"""The `records` table of aggregate reports, built column by column as the parser streams.

A report can hold 200,000 rows; building a dict per row and then a DataFrame from the dicts costs more
than the XML parsing itself. So the parser appends each value straight into a per-column encoder
(a category code in a compact array) and the DataFrame is assembled once, at the end, from those
arrays. Columns that repeat per report (org_name, policy, dates) are stored once per report and
expanded with `numpy.repeat`.

One `RecordColumns` can collect many reports (a whole batch), so category codes are shared and the
final table needs no costly concatenation of categoricals. `mark()` and `rollback()` let the batch
drop a report that fails half-way, so a report is in the table whole or not at all.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from diagnostics.dmarc.parse._bounds import MAX_DOMAIN, MAX_TEXT, MAX_WORD

# Column order of `ReportBatch.records` (the issue fixes these names; more may follow at the end).
RECORD_COLUMNS: tuple[str, ...] = (
    "org_name",
    "report_id",
    "begin",
    "end",
    "policy_domain",
    "policy_p",
    "policy_sp",
    "policy_pct",
    "policy_adkim",
    "policy_aspf",
    "source_ip",
    "count",
    "disposition",
    "dkim_aligned",
    "spf_aligned",
    "override_reasons",
    "header_from",
    "envelope_from",
    "envelope_to",
    "spf_domain",
    "spf_scope",
    "spf_result",
    "dkim_domains",
    "dkim_selectors",
    "dkim_results",
)

# Per-record text columns, in the order the parser passes them to `RecordColumns.add`.
ROW_TEXT_COLUMNS: tuple[str, ...] = (
    "source_ip",
    "disposition",
    "dkim_aligned",
    "spf_aligned",
    "override_reasons",
    "header_from",
    "envelope_from",
    "envelope_to",
    "spf_domain",
    "spf_scope",
    "spf_result",
    "dkim_domains",
    "dkim_selectors",
    "dkim_results",
)

# The longest value each per-record column keeps (bounds.py says why): the columns in the records'
# index on PostgreSQL are kept short, domains to a domain's length, the rest to MAX_TEXT.
ROW_LIMITS: dict[str, int] = {
    "source_ip": MAX_WORD,
    "disposition": MAX_WORD,
    "dkim_aligned": MAX_WORD,
    "spf_aligned": MAX_WORD,
    "override_reasons": MAX_TEXT,
    "header_from": MAX_DOMAIN,
    "envelope_from": MAX_DOMAIN,
    "envelope_to": MAX_DOMAIN,
    "spf_domain": MAX_TEXT,  # a list: one domain per SPF result
    "spf_scope": MAX_TEXT,
    "spf_result": MAX_TEXT,
    "dkim_domains": MAX_TEXT,  # a list: one domain per signature
    "dkim_selectors": MAX_TEXT,
    "dkim_results": MAX_TEXT,
}

# Per-report text columns, stored once per report.
REPORT_TEXT_COLUMNS: tuple[str, ...] = (
    "org_name",
    "report_id",
    "policy_domain",
    "policy_p",
    "policy_sp",
    "policy_adkim",
    "policy_aspf",
)


@dataclass(frozen=True, slots=True)
class ReportHeader:
    """The values an aggregate report states once for all its rows."""

    org_name: str | None
    report_id: str | None
    begin: datetime | None
    end: datetime | None
    policy_domain: str | None
    policy_p: str | None
    policy_sp: str | None
    policy_pct: int | None
    policy_adkim: str | None
    policy_aspf: str | None


class _Encoder:
    """Category codes for one text column: each distinct value is stored once. A value longer than
    `limit` characters is stored cut to it (bounds.py says why); `cut` maps the code of each value
    that was cut to the longest original length seen, for the report's warning."""

    __slots__ = ("codes", "cut", "index", "limit", "values")

    def __init__(self, limit: int | None = None) -> None:
        self.index: dict[str, int] = {}
        self.values: list[str] = []
        self.codes = array("i")
        self.limit = limit
        self.cut: dict[int, int] = {}

    def code(self, value: str | None) -> int:
        if value is None:
            return -1
        found = self.index.get(value)
        if found is None:
            if self.limit is not None and len(value) > self.limit:
                # Not remembered under the long value: it is seen again, and counted, each time.
                found = self.code(value[: self.limit])
                self.cut[found] = max(self.cut.get(found, 0), len(value))
                return found
            found = len(self.values)
            self.index[value] = found
            self.values.append(value)
        return found

    def categorical(self, codes: np.ndarray) -> pd.Categorical:
        return pd.Categorical.from_codes(codes, categories=pd.Index(self.values, dtype=object))


# The largest per-record count read: far above any real count, and small enough that a report's
# counts (max_records of them at most) add up to less than the int64 the columns are stored in.
MAX_COUNT = 2**40

# The per-record columns other than source_ip, in the order of a "combination" tuple of codes.
COMBO_COLUMNS: tuple[str, ...] = ROW_TEXT_COLUMNS[1:]


class RecordColumns:
    """Accumulates the rows of one or many aggregate reports as category codes.

    Per record only three numbers are stored: the count, the source_ip code and the code of the
    record's combination of all other values (verdicts, identifiers, auth results). Records of one
    sender repeat the same combination, so the combinations are few and stored once each; the
    columns are rebuilt from them with one numpy take each.
    """

    def __init__(self) -> None:
        self.encoders = {name: _Encoder(ROW_LIMITS[name]) for name in ROW_TEXT_COLUMNS}
        self._report = [_Encoder() for _ in REPORT_TEXT_COLUMNS]
        self.counts = array("q")
        self.ips = array("i")
        self.combos = array("i")
        self._combo_values: list[tuple[int, ...]] = []
        self._combo_index: dict[tuple[int, ...], int] = {}
        # For the fast reader: raw record bytes -> combination code, valid for these encoders.
        self.raw_combos: dict[bytes, int] = {}
        self.raw_ips: dict[bytes, int] = {}
        self.raw_counts: dict[bytes, int] = {}
        self.raw_parts: dict[bytes, object] = {}
        self.raw_schema_parts: dict[object, tuple[int, ...]] = {}
        # (DKIM results, SPF results) -> the auth columns' codes and the SPF envelope domain.
        self.raw_auth: dict[object, tuple[object, ...]] = {}
        # How many rows the fast reader read itself (the rest were read by lxml): the benches
        # report it as the fast-path share.
        self.fast_rows = 0
        # Whether each source_ip value (by code) is an IP address (validate.py), judged once.
        self.valid_ips = bytearray()
        # One entry per report: its header and how many rows it contributed.
        self._headers: list[ReportHeader] = []
        self._sizes: list[int] = []

    def __len__(self) -> int:
        return len(self.counts)

    def combo(self, values: tuple[str | None, ...]) -> int:
        """The code of a combination of the `COMBO_COLUMNS` values (normalised text or None)."""
        codes = tuple(
            self.encoders[name].code(value)
            for name, value in zip(COMBO_COLUMNS, values, strict=True)
        )
        found = self._combo_index.get(codes)
        if found is None:
            found = self._combo_index[codes] = len(self._combo_values)
            self._combo_values.append(codes)
        return found

    def combo_of_codes(self, codes: tuple[int, ...]) -> int:
        """The code of a combination given as the `COMBO_COLUMNS` category codes."""
        found = self._combo_index.get(codes)
        if found is None:
            found = self._combo_index[codes] = len(self._combo_values)
            self._combo_values.append(codes)
        return found

    def add_row(self, count: int, ip: str | None, combo: int) -> None:
        self.counts.append(count)
        self.ips.append(self.encoders["source_ip"].code(ip))
        self.combos.append(combo)

    def mark(self) -> int:
        return len(self.counts)

    def rollback(self, mark: int) -> None:
        """Forget every row added since `mark` (a report that failed half-way)."""
        del self.counts[mark:]
        del self.ips[mark:]
        del self.combos[mark:]

    def keep_rows(self, mark: int, keep: list[bool]) -> None:
        """Keep of the rows added since `mark` those whose `keep` is true (validate.py)."""
        for values in (self.counts, self.ips, self.combos):
            kept = [value for value, wanted in zip(values[mark:], keep, strict=True) if wanted]
            del values[mark:]
            values.extend(kept)

    def cut_fields(self, mark: int) -> list[tuple[str, int, int]]:
        """(column, longest original length, limit) of each column with a value cut to its limit
        among the rows added since `mark`, in column order."""
        if not any(encoder.cut for encoder in self.encoders.values()):
            return []  # the usual case: nothing was ever cut, nothing to look at
        longest: dict[str, int] = {}

        def seen(name: str, code: int) -> None:
            length = self.encoders[name].cut.get(code)
            if length is not None:
                longest[name] = max(longest.get(name, 0), length)

        for code in set(self.ips[mark:]):
            seen("source_ip", code)
        for combo in set(self.combos[mark:]):
            for name, code in zip(COMBO_COLUMNS, self._combo_values[combo], strict=True):
                seen(name, code)
        return [
            (name, longest[name], ROW_LIMITS[name]) for name in ROW_TEXT_COLUMNS if name in longest
        ]

    def close_report(self, header: ReportHeader, mark: int) -> None:
        """Attach `header` to the rows added since `mark`."""
        self._headers.append(header)
        self._sizes.append(len(self.counts) - mark)

    def to_frame(self) -> pd.DataFrame:
        """The records table: one row per report record, columns as in `RECORD_COLUMNS`."""
        sizes = np.asarray(self._sizes, dtype=np.int64)
        columns: dict[str, object] = {}
        headers = self._headers
        for name, encoder in zip(REPORT_TEXT_COLUMNS, self._report, strict=True):
            per_report = np.fromiter(
                (encoder.code(getattr(h, name)) for h in headers),
                dtype=np.int32,
                count=len(headers),
            )
            columns[name] = encoder.categorical(np.repeat(per_report, sizes))
        for name in ("begin", "end"):
            stamps = pd.DatetimeIndex(
                [getattr(h, name) for h in headers], dtype="datetime64[ns, UTC]"
            )
            columns[name] = stamps.repeat(sizes)
        pct = pd.array([h.policy_pct for h in headers], dtype="Int64")
        columns["policy_pct"] = pct.take(np.repeat(np.arange(len(headers)), sizes))
        columns["source_ip"] = self.encoders["source_ip"].categorical(_int32(self.ips))
        table = np.asarray(self._combo_values, dtype=np.int32).reshape(-1, len(COMBO_COLUMNS))
        rows = _int32(self.combos)
        for index, name in enumerate(COMBO_COLUMNS):
            columns[name] = self.encoders[name].categorical(table[rows, index])
        columns["count"] = (
            np.frombuffer(self.counts, dtype=np.int64).copy()
            if self.counts
            else np.empty(0, np.int64)
        )
        frame = pd.DataFrame({name: columns[name] for name in RECORD_COLUMNS})
        # Which report (row of the batch's `reports` table, in reading order) each record is from.
        frame["report_index"] = np.repeat(np.arange(len(headers), dtype=np.int32), sizes)
        return frame


def _int32(values: array[int]) -> np.ndarray:
    return np.frombuffer(values, dtype=np.int32).copy() if values else np.empty(0, np.int32)


def utc(timestamp: int) -> datetime:
    return datetime.fromtimestamp(timestamp, tz=UTC)
