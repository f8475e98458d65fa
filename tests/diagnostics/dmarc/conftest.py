"""Sample reports (copied from parsedmarc's samples, see tests/data/dmarc/SOURCE.md)."""

from __future__ import annotations

from pathlib import Path

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
