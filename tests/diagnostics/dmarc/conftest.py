"""Sample reports (copied from parsedmarc's samples, see tests/data/dmarc/SOURCE.md)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pandas as pd

from diagnostics.dmarc.parse import DEFAULT_LIMITS
from diagnostics.dmarc.parse._aggregate import parse_aggregate_xml
from diagnostics.dmarc.parse._columns import RecordColumns
from diagnostics.dmarc.parse._streams import Peekable

SAMPLES = Path(__file__).parents[2] / "data" / "dmarc"
AGGREGATE_SAMPLES = sorted(
    [
        *(SAMPLES / "aggregate").iterdir(),
        *(SAMPLES / "aggregate_invalid").iterdir(),
        *(SAMPLES / "extract_report").iterdir(),
    ]
)
FAILURE_SAMPLES = sorted((SAMPLES / "failure").iterdir())
TLS_SAMPLES = sorted((SAMPLES / "smtp_tls").iterdir())


def record_row(ip: str, count: int, domain: str = "example.com", **verdicts: str) -> dict[str, Any]:
    """One aggregate-report row of `domain` for explain: by default a sender whose SPF fails and
    whose DKIM signature of the domain passes and aligns; `verdicts` override any column."""
    row: dict[str, Any] = {
        "policy_domain": domain,
        "header_from": domain,
        "envelope_from": domain,
        "source_ip": ip,
        "count": count,
        "spf_result": "fail",
        "spf_aligned": "fail",
        "dkim_aligned": "pass",
        "dkim_domains": domain,
        "dkim_results": "pass",
        "disposition": "none",
    }
    return row | verdicts


def read_aggregate(data: bytes, *, fast: bool) -> tuple[object, pd.DataFrame, int]:
    """One aggregate report read by the fast reader or by lxml alone: (its metadata, or the
    error's type and message; its records table; the rows the fast reader read itself)."""
    columns = RecordColumns()
    stream = Peekable(io.BytesIO(data))
    try:
        meta: object = parse_aggregate_xml(
            stream,  # type: ignore[arg-type]
            columns,
            DEFAULT_LIMITS,
            head=stream.peek(8192),
            fast=fast,
        )
    except Exception as error:
        meta = (type(error), str(error))
    return meta, columns.to_frame().astype(object), columns.fast_rows
