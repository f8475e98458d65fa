"""Load reports from files, folders, globs or uploads into tables, one bad input never stopping the rest.

`parse_report` reads one aggregate report and raises `ReportError` with a plain reason when it cannot.
`load_reports` reads many: every aggregate, failure and TLS report found goes into its table, and
every input (or part of one: a zip member, a mailbox message) that is not a valid report gets one line
in `errors` saying why. A report is in the tables whole or not at all.
"""

from __future__ import annotations

import glob
import io
import logging
import os
import stat
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import BinaryIO

import pandas as pd

from diagnostics.dmarc.parse._aggregate import ReportMeta, parse_aggregate_xml
from diagnostics.dmarc.parse._budget import UploadBudget
from diagnostics.dmarc.parse._columns import RecordColumns
from diagnostics.dmarc.parse._failure import FAILURE_COLUMNS, FailureReport, parse_failure_report
from diagnostics.dmarc.parse._limits import DEFAULT_LIMITS, ParseLimits
from diagnostics.dmarc.parse._tls import TLS_COLUMNS, TlsReport, parse_tls_report, read_json
from diagnostics.dmarc.parse._unpack import Kind, Piece, Rejected, unpack
from diagnostics.errors import ReportError

log = logging.getLogger(__name__)

# What `parse_report` and `load_reports` accept as one input: a path, raw bytes, or an open binary
# file (a Streamlit upload is one; its `.name` is used in messages).
Source = str | os.PathLike[str] | bytes | BinaryIO
Progress = Callable[[int, int, str], None]

REPORT_COLUMNS: tuple[str, ...] = (
    "source",
    "org_name",
    "org_email",
    "org_extra_contact_info",
    "report_id",
    "begin",
    "end",
    "policy_domain",
    "policy_p",
    "policy_sp",
    "policy_np",
    "policy_pct",
    "policy_adkim",
    "policy_aspf",
    "policy_fo",
    "policy_testing",
    "policy_discovery_method",
    "xml_schema",
    "xml_namespace",
    "generator",
    "errors",
    "record_count",
    "message_count",
    "warnings",
)


@dataclass(frozen=True, eq=False)
class AggregateReport:
    """One aggregate report: what it says about itself (`meta`) and its rows (`records`)."""

    source: str
    meta: ReportMeta
    records: pd.DataFrame

    @property
    def org_name(self) -> str | None:
        return self.meta.org_name

    @property
    def report_id(self) -> str | None:
        return self.meta.report_id

    @property
    def policy_domain(self) -> str | None:
        return self.meta.policy_domain

    @property
    def warnings(self) -> tuple[str, ...]:
        return self.meta.warnings


@dataclass(frozen=True, eq=False)
class ReportBatch:
    """Everything read from a set of inputs.

    `reports` has one row per aggregate report and `records` one row per report record (both
    DataFrames; `records.report_index` is the row of `reports` a record comes from);
    `failure_reports` and `tls_reports` are their own tables; `errors` lists `(source, reason)`
    for every input, or part of one, that was not a valid report.
    """

    reports: pd.DataFrame
    records: pd.DataFrame
    failure_reports: pd.DataFrame
    tls_reports: pd.DataFrame
    errors: list[tuple[str, str]] = field(default_factory=list)
    inputs: int = 0


def parse_report(source: Source, *, limits: ParseLimits = DEFAULT_LIMITS) -> AggregateReport:
    """The one aggregate report in `source` (a path, bytes or a binary file).

    Raises `ReportError` (or its subclass `ReportTooLarge`) with a plain reason when `source` is
    not exactly one readable aggregate report; `load_reports` is the tolerant, many-input reader.
    """
    columns = RecordColumns()
    found: list[ReportMeta] = []
    try:
        name, opened = _open(source)
    except OSError as error:
        raise ReportError(f"the file cannot be read ({error.strerror or error})") from None
    budget = UploadBudget(limits)
    with opened as stream:
        for piece in unpack(name, stream, budget):
            if isinstance(piece, Rejected):
                raise ReportError(piece.reason)
            if piece.kind is not Kind.XML:
                kind = (
                    "an SMTP TLS report" if piece.kind is Kind.JSON else "not an aggregate report"
                )
                raise ReportError(f"this is {kind}; load_reports reads failure and TLS reports")
            if found:
                raise ReportError("the input holds more than one report; use load_reports")
            found.append(_parse_piece(piece, columns, budget))
    if not found:
        raise ReportError("the input holds no aggregate report")
    return AggregateReport(source=name, meta=found[0], records=columns.to_frame())


def load_reports(
    sources: Source | Iterable[Source],
    *,
    progress: Progress | None = None,
    limits: ParseLimits = DEFAULT_LIMITS,
) -> ReportBatch:
    """Read every report in `sources`: files, folders (recursively), glob patterns, bytes or open
    binary files, in any of the formats receivers send. `progress(done, total, name)` is called
    after each input."""
    inputs, errors = _expand(sources)
    columns = RecordColumns()
    report_rows: list[dict[str, object]] = []
    failures: list[FailureReport] = []
    tls: list[TlsReport] = []
    total = len(inputs)
    for done, source in enumerate(inputs, start=1):
        name = _name(source)
        budget = UploadBudget(limits)  # one per input, shared by everything nested in it
        try:
            name, opened = _open(source)
            with opened as stream:
                for piece in unpack(name, stream, budget):
                    _take(piece, columns, budget, report_rows, failures, tls, errors)
                    if budget.stopped:
                        break  # a cap of the upload was reached: nothing more of it is read
        except ReportError as error:
            errors.append((name, str(error)))
        except OSError as error:
            errors.append((name, f"the file cannot be read ({error.strerror or error})"))
        except Exception as error:
            # A bug of ours must not cost the user the rest of the batch; it is logged in full.
            log.exception("unexpected failure reading %s", name)
            errors.append(
                (name, f"an unexpected problem stopped this file ({type(error).__name__})")
            )
        if progress is not None:
            progress(done, total, name)
    if report_rows:
        reports, records = _reports_frame(report_rows), columns.to_frame()
    else:  # nothing read (a rejected file): building two empty tables costs more than its reading
        reports, records = (table.copy() for table in _empty_tables())
    return ReportBatch(
        reports=reports,
        records=records,
        failure_reports=pd.DataFrame([f.as_row() for f in failures], columns=list(FAILURE_COLUMNS)),
        tls_reports=pd.DataFrame(
            [row for report in tls for row in report.rows()], columns=list(TLS_COLUMNS)
        ),
        errors=errors,
        inputs=total,
    )


def _take(
    piece: Piece | Rejected,
    columns: RecordColumns,
    budget: UploadBudget,
    report_rows: list[dict[str, object]],
    failures: list[FailureReport],
    tls: list[TlsReport],
    errors: list[tuple[str, str]],
) -> None:
    if isinstance(piece, Rejected):
        errors.append((piece.name, piece.reason))
        return
    try:
        if piece.kind is Kind.XML:
            meta = _parse_piece(piece, columns, budget)
            row: dict[str, object] = {"source": piece.name}
            row.update({name: getattr(meta, name) for name in REPORT_COLUMNS[1:]})
            report_rows.append(row)
        elif piece.kind is Kind.JSON:
            document = read_json(piece.stream, budget)
            tls.append(parse_tls_report(document, piece.name, budget=budget))
        else:  # a whole message, read whole only when under max_message_bytes (mime.py)
            failures.append(parse_failure_report(piece.stream.read(), piece.name))
    except ReportError as error:
        errors.append((piece.name, str(error)))


def _parse_piece(piece: Piece, columns: RecordColumns, budget: UploadBudget) -> ReportMeta:
    head = piece.stream.peek(8192)
    return parse_aggregate_xml(piece.stream, columns, budget.limits, head=head, budget=budget)  # type: ignore[arg-type]


@lru_cache(maxsize=1)
def _empty_tables() -> tuple[pd.DataFrame, pd.DataFrame]:
    """The reports and records tables of a batch without an aggregate report (copied for each)."""
    return _reports_frame([]), RecordColumns().to_frame()


def _reports_frame(rows: list[dict[str, object]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=list(REPORT_COLUMNS))
    for name in ("begin", "end"):
        frame[name] = pd.to_datetime(frame[name], utc=True)
    frame["policy_pct"] = frame["policy_pct"].astype("Int64")
    for name in ("record_count", "message_count"):
        frame[name] = frame[name].astype("int64")
    return frame


_GLOB_CHARACTERS = frozenset("*?[")


def _expand(sources: Source | Iterable[Source]) -> tuple[list[Source], list[tuple[str, str]]]:
    """Inputs to read, in a stable order, and an error for every named path that does not exist."""
    if isinstance(sources, (str, bytes, os.PathLike)) or hasattr(sources, "read"):
        items: Iterable[Source] = [sources]  # type: ignore[list-item]
    else:
        items = sources
    inputs: list[Source] = []
    errors: list[tuple[str, str]] = []
    for item in items:
        if isinstance(item, (str, os.PathLike)):
            text = os.fspath(item)
            path = Path(text)
            # One stat a path: a day of reports is thousands of files.
            try:
                mode = os.stat(text).st_mode
            except (OSError, ValueError):
                mode = 0
            if stat.S_ISDIR(mode):
                inputs.extend(sorted(str(p) for p in path.rglob("*") if p.is_file()))
            elif stat.S_ISREG(mode):
                inputs.append(text)
            elif _GLOB_CHARACTERS & set(text):
                matches = sorted(glob.glob(text, recursive=True))
                files = [m for m in matches if os.path.isfile(m)]
                for match in matches:
                    if os.path.isdir(match):
                        files.extend(sorted(str(p) for p in Path(match).rglob("*") if p.is_file()))
                if not files:
                    errors.append((text, "no file matches this pattern"))
                inputs.extend(files)
            else:
                errors.append((text, "there is no such file or folder"))
        else:
            inputs.append(item)
    return inputs, errors


def _name(source: Source) -> str:
    if isinstance(source, (str, os.PathLike)):
        return os.fspath(source)
    if isinstance(source, bytes):
        return "<bytes>"
    return str(getattr(source, "name", "<upload>"))


class _Borrowed(io.RawIOBase):
    """A caller's file object, read through but left open (it is theirs to close)."""

    def __init__(self, raw: BinaryIO) -> None:
        super().__init__()
        self._raw = raw

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        data = self._raw.read(-1 if size is None else size)
        if not isinstance(data, bytes | bytearray | memoryview):
            raise ReportError("the file was opened in text mode; open it in binary mode ('rb')")
        return bytes(data)

    @property
    def size(self) -> int | None:
        """The caller's stated size (a Streamlit upload has one), so a file over the cap is
        refused unread."""
        size = getattr(self._raw, "size", None)
        return size if isinstance(size, int) else None

    def close(self) -> None:
        super().close()


def _open(source: Source) -> tuple[str, BinaryIO]:
    name = _name(source)
    if isinstance(source, (str, os.PathLike)):
        # Unbuffered: the readers buffer what they peek at themselves, and a copy less is faster.
        return name, open(os.fspath(source), "rb", buffering=0)  # closed by the caller's `with`
    if isinstance(source, bytes):
        return name, io.BytesIO(source)
    return name, _Borrowed(source)  # type: ignore[return-value]
