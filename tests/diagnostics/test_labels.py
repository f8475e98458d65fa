"""Every code a person may read has its plain label in the library, so no surface turns a code into
words by replacing underscores: categories, actions, SMTP stages, symptoms and hints, finding
titles and health's part names. Short, sentence case, no underscores, never the code itself."""

from __future__ import annotations

import ast
from enum import StrEnum
from pathlib import Path

import pytest

from diagnostics._titles import TITLES
from diagnostics.dmarc import ActionCode, Category, Confidence
from diagnostics.findings import Finding, Severity
from diagnostics.health import Part
from diagnostics.smtp import Hint, Stage, Symptom
from diagnostics.verdict import Verdict

LIBRARY = Path(__file__).resolve().parents[2] / "diagnostics"


def _plain(label: str, code: str) -> None:
    assert label, code
    assert "_" not in label, (code, label)
    assert label != code, code
    assert label[0] == label[0].upper(), (code, label)  # sentence case: a capital first
    assert len(label) <= 60, (code, label)


@pytest.mark.parametrize("codes", [Category, ActionCode, Stage, Symptom, Hint, Confidence])
def test_every_code_has_a_plain_label(codes: type[StrEnum]) -> None:
    labels = [member.label for member in codes]  # type: ignore[attr-defined]
    for member, label in zip(codes, labels, strict=True):
        _plain(label, member.value)
    assert len(set(labels)) == len(labels)  # two codes never read the same


def _codes_written_in_the_library() -> set[str]:
    """The first argument of every Finding(...) (and record.py's _error(...)) written as a
    literal anywhere in diagnostics/."""
    found: set[str] = set()
    for path in LIBRARY.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            first = node.args[0]
            if name in ("Finding", "_error") and isinstance(first, ast.Constant):
                found.add(str(first.value))
    return found


def test_every_finding_code_has_a_title() -> None:
    codes = _codes_written_in_the_library()
    assert len(codes) > 60  # the scan sees the library, not an empty folder
    assert sorted(codes - set(TITLES)) == []
    for code in codes:
        _plain(Finding(code, Severity.INFO, "").title, code)


@pytest.mark.parametrize(
    ("code", "title"),
    [
        ("spf_not_aligned", "SPF passes but does not align"),
        ("dkim_fail", "DKIM fails"),
        ("dmarc_permerror", "DMARC permanent error"),
        ("some_new_ses_code", "Some new SES code"),
    ],
)
def test_titles_of_codes_made_at_run_time(code: str, title: str) -> None:
    # headers.py names each method's outcome METHOD_RESULT; a code not titled yet still reads
    # as words rather than as the code.
    assert Finding(code, Severity.INFO, "").title == title


def test_a_finding_carries_its_title_in_json() -> None:
    finding = Finding("pass_all", Severity.ERROR, "...")
    assert finding.to_dict()["title"] == "Record authorizes everyone (+all)"


def test_health_parts_have_plain_names() -> None:
    labels = [Part(name, Verdict.OK, "").label for name in ("spf", "dkim", "dmarc", "mx")]
    assert labels == ["SPF", "DKIM", "DMARC", "MX"]
    assert Part("spf", Verdict.OK, "").to_dict()["label"] == "SPF"
