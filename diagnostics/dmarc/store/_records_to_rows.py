"""Turn a `ReportBatch`'s DataFrames into the row dicts the store's tables take. Pure: no database.

Missing values become None, times integer Unix seconds, and a report's duplicate key parts ""
when absent (see _tables.py). Record columns are converted once per batch into plain object arrays,
and rows are then cut from them chunk by chunk, so a 200,000-record report never exists as 200,000
dicts at once.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from itertools import repeat
from typing import Any

import numpy as np
import pandas as pd

from diagnostics.dmarc.parse._columns import ROW_TEXT_COLUMNS
from diagnostics.enrich.addresses import canonical_ip

# One row as a table of the store takes it: column name -> value.
TableRow = dict[str, Any]

# Per-record columns stored in dmarc_records (the report-level ones come from dmarc_reports).
RECORD_VALUE_COLUMNS: tuple[str, ...] = (ROW_TEXT_COLUMNS[0], "count", *ROW_TEXT_COLUMNS[1:])

_REPORT_TEXT = (
    "source",
    "org_email",
    "org_extra_contact_info",
    "policy_p",
    "policy_sp",
    "policy_np",
    "policy_adkim",
    "policy_aspf",
    "policy_fo",
    "policy_testing",
    "policy_discovery_method",
    "xml_schema",
    "xml_namespace",
    "generator",
)


def missing(value: object) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and value != value


def text(value: object) -> str | None:
    return None if missing(value) else str(value)


def unix(value: object) -> int | None:
    """Integer Unix seconds of a timestamp, or None."""
    if missing(value):
        return None
    if isinstance(value, datetime):
        return int(value.timestamp())
    return int(pd.Timestamp(value).timestamp())  # type: ignore[arg-type]


def _joined(value: object) -> str | None:
    if missing(value):
        return None
    if isinstance(value, (tuple, list)):
        return "\n".join(str(v) for v in value) if value else None
    return str(value)


def domain_name(value: object) -> str:
    """A policy domain as stored and queried: lower case, no trailing dot, "" when absent."""
    return (text(value) or "").strip().lower().rstrip(".")


def report_key(row: Mapping[str, Any]) -> tuple[str, str, str]:
    return (
        text(row["org_name"]) or "",
        text(row["report_id"]) or "",
        domain_name(row["policy_domain"]),
    )


def report_row(row: Mapping[str, Any], imported_at: int) -> TableRow:
    """The dmarc_reports row of one row of `ReportBatch.reports` (a dict of it, or a Series)."""
    org_name, report_id, domain = report_key(row)
    out: TableRow = {"org_name": org_name, "report_id": report_id, "policy_domain": domain}
    out.update({name: text(row[name]) for name in _REPORT_TEXT})
    pct = row["policy_pct"]
    out.update(
        begin_ts=unix(row["begin"]),
        end_ts=unix(row["end"]),
        policy_pct=None if missing(pct) else int(pct),
        errors=_joined(row["errors"]),
        warnings=_joined(row["warnings"]),
        record_count=int(row["record_count"]),
        message_count=int(row["message_count"]),
        imported_at=imported_at,
    )
    return out


def _objects(column: pd.Series) -> np.ndarray:
    """The column as an object array with None for missing values; categories converted once."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        categories = np.array([None, *(text(v) for v in column.cat.categories)], dtype=object)
        return categories[column.cat.codes.to_numpy() + 1]
    values = column.to_numpy(dtype=object)
    return np.array([None if missing(v) else v for v in values], dtype=object)


class RecordArrays:
    """A batch's records as object arrays, ready to be cut into row dicts report by report."""

    def __init__(self, records: pd.DataFrame) -> None:
        self.length = len(records)
        self.arrays: dict[str, np.ndarray] = {}
        for name in RECORD_VALUE_COLUMNS:
            self.arrays[name] = _objects(records[name])
        # The enrichment cache is keyed by canonical address; store the same spelling so that
        # by_service joins (a value that is not an address is kept as the receiver wrote it).
        ips = records["source_ip"]
        if isinstance(ips.dtype, pd.CategoricalDtype):
            canonical = np.array(
                [None, *((canonical_ip(v) or text(v)) for v in ips.cat.categories)], dtype=object
            )
            self.arrays["source_ip"] = canonical[ips.cat.codes.to_numpy() + 1]
        self.arrays["count"] = records["count"].to_numpy(dtype=object)
        index = records["report_index"].to_numpy()
        self._index = index
        self._sorted = bool(np.all(index[:-1] <= index[1:])) if len(index) else True

    def span(self, report_index: int) -> np.ndarray:
        """Positions of the records of report `report_index`."""
        if self._sorted:
            start = int(np.searchsorted(self._index, report_index, side="left"))
            stop = int(np.searchsorted(self._index, report_index, side="right"))
            return np.arange(start, stop)
        return np.flatnonzero(self._index == report_index)

    def chunks(
        self, positions: np.ndarray, constants: TableRow, size: int
    ) -> Iterator[list[TableRow]]:
        """Row dicts for `positions`, `size` at a time, each with `constants` added."""
        names: Sequence[str] = (*RECORD_VALUE_COLUMNS, *constants)
        for start in range(0, len(positions), size):
            part = positions[start : start + size]
            columns = [self.arrays[name][part] for name in RECORD_VALUE_COLUMNS]
            columns += [repeat(value) for value in constants.values()]
            yield [dict(zip(names, values, strict=False)) for values in zip(*columns, strict=False)]


def fingerprint(row: TableRow) -> str:
    """A stable sha256 of a row's values (failure and TLS reports have no key of their own)."""
    data = json.dumps({k: row[k] for k in sorted(row)}, default=str, sort_keys=True)
    return hashlib.sha256(data.encode()).hexdigest()


def failure_row(row: pd.Series, imported_at: int) -> TableRow:
    out: TableRow = {name: text(row[name]) for name in row.index if name not in ("arrival_date",)}
    out["arrival_ts"] = unix(row["arrival_date"])
    # The file name is not part of the report: the same email uploaded twice is one report.
    out["fingerprint"] = fingerprint({k: v for k, v in out.items() if k != "source"})
    out["imported_at"] = imported_at
    return out


def tls_row(row: pd.Series, imported_at: int) -> TableRow:
    out: TableRow = {
        name: text(row[name])
        for name in row.index
        if name not in ("begin", "end", "successful_sessions", "failed_sessions")
    }
    out["begin_ts"] = unix(row["begin"])
    out["end_ts"] = unix(row["end"])
    for name in ("successful_sessions", "failed_sessions"):
        out[name] = None if missing(row[name]) else int(row[name])
    out["fingerprint"] = fingerprint({k: v for k, v in out.items() if k != "source"})
    out["imported_at"] = imported_at
    return out
