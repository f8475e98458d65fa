"""Our records agree with parsedmarc's on every aggregate sample, except where we think it is wrong.

Each sample is read by `parsedmarc.parse_report_file(path, offline=True)` and by `load_reports`, and
every column of every row is compared. `parity.py` only translates representation (nested dicts to
flat columns, "" to missing); the table below names, case by case, each difference of substance and
why we differ. The test fails if a listed difference disappears too, so the table stays true.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from bench.dmarc_parity import our_rows, parsedmarc_rows
from diagnostics.dmarc import RECORD_COLUMNS, load_reports
from tests.diagnostics.dmarc.conftest import AGGREGATE_SAMPLES

# file name -> {column: (parsedmarc's value, ours, why we believe ours is right)}
EXPECTED_DIFFERENCES: dict[str, dict[str, tuple[Any, Any, str]]] = {
    "invalid_utf_8.xml": {
        "header_from": (
            "bad_byte",
            "bad_byte\ufffd",
            "parsedmarc drops undecodable bytes without a trace, so a corrupt domain looks like a "
            "valid one; we keep U+FFFD in its place and the report carries a warning",
        ),
    },
    "invalid_xml.xml": {
        "header_from": (
            None,
            "bad",
            "the element is broken (`bad<xml.net`) and both readers guess; parsedmarc's recovery "
            "empties it, libxml2's keeps the text before the stray '<'. Ours also warns that the "
            "report's values were recovered and may be incomplete",
        ),
    },
}


@pytest.fixture(autouse=True)
def _utc(monkeypatch: pytest.MonkeyPatch) -> None:
    # parsedmarc renders report dates in local time; pin it so its strings are UTC.
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()


@pytest.mark.parametrize("path", AGGREGATE_SAMPLES, ids=lambda p: p.name)
def test_records_match_parsedmarc(path: Any) -> None:
    theirs = parsedmarc_rows(path)
    batch = load_reports(path)
    ours = our_rows(batch.records)
    if theirs is None:
        pytest.fail(f"parsedmarc rejects {path.name}; the parity table should say why")
    assert not batch.errors
    assert len(ours) == len(theirs), "same number of rows"
    expected = EXPECTED_DIFFERENCES.get(path.name, {})
    differing: dict[str, tuple[Any, Any]] = {}
    for their_row, our_row in zip(theirs, ours, strict=True):
        assert list(our_row) == list(RECORD_COLUMNS)
        for column in RECORD_COLUMNS:
            if their_row[column] != our_row[column]:
                differing.setdefault(column, (their_row[column], our_row[column]))
    assert differing == {
        column: (theirs_, ours_) for column, (theirs_, ours_, _) in expected.items()
    }


def test_every_listed_difference_names_a_sample_and_a_reason() -> None:
    names = {p.name for p in AGGREGATE_SAMPLES}
    for name, columns in EXPECTED_DIFFERENCES.items():
        assert name in names
        for column, (_, _, reason) in columns.items():
            assert column in RECORD_COLUMNS
            assert len(reason) > 40
