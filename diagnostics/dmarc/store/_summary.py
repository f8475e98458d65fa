"""What an import did, file by file, in words a person understands.

Every input file gets one `FileResult`: how many of its reports were imported, were already stored
(duplicates) or were rejected, and why. `ImportSummary` holds them with the totals.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from diagnostics.wording import plural


class Outcome(StrEnum):
    """The verdict on one file: everything in it imported, all already stored, or some rejected."""

    IMPORTED = "imported"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class FileResult:
    """One input file (or upload): its reports counted by what happened to them.

    `reasons` says, for every part that was rejected, why (the parser's or the store's words)."""

    source: str
    imported: int = 0
    duplicates: int = 0
    rejected: int = 0
    records: int = 0
    reasons: tuple[str, ...] = ()

    @property
    def outcome(self) -> Outcome:
        if self.rejected or not (self.imported or self.duplicates):
            return Outcome.REJECTED
        if self.imported:
            return Outcome.IMPORTED
        return Outcome.DUPLICATE

    @property
    def line(self) -> str:
        """One line for the summary, e.g. `a.xml.gz: imported (1 report, 12 records)`."""
        parts = []
        if self.imported:
            records = f", {plural(self.records, 'record')}" if self.records else ""
            parts.append(f"{plural(self.imported, 'report')}{records}")
        if self.duplicates:
            parts.append(f"{plural(self.duplicates, 'report')} already stored")
        if self.rejected:
            parts.append(f"{plural(self.rejected, 'part')} rejected")
        detail = f" ({'; '.join(parts)})" if parts else ""
        why = f": {'; '.join(self.reasons)}" if self.reasons else ""
        return f"{self.source}: {self.outcome}{detail}{why}"


@dataclass(frozen=True, slots=True)
class ImportSummary:
    """Every file's result, in the order read, and the totals."""

    files: tuple[FileResult, ...] = ()

    @property
    def imported(self) -> int:
        return sum(f.imported for f in self.files)

    @property
    def duplicates(self) -> int:
        return sum(f.duplicates for f in self.files)

    @property
    def rejected(self) -> int:
        return sum(f.rejected for f in self.files)

    @property
    def records(self) -> int:
        return sum(f.records for f in self.files)

    @property
    def ok(self) -> bool:
        """True when nothing was rejected (every file imported or already stored)."""
        return all(f.outcome is not Outcome.REJECTED for f in self.files)

    @property
    def totals(self) -> str:
        rejected_files = sum(1 for f in self.files if f.outcome is Outcome.REJECTED)
        return (
            f"{plural(len(self.files), 'file')}: {plural(self.imported, 'report')} imported "
            f"({plural(self.records, 'record')}), {self.duplicates} already stored, "
            f"{plural(self.rejected, 'part')} rejected in {plural(rejected_files, 'file')}"
        )

    def lines(self) -> list[str]:
        return [f.line for f in self.files] + [self.totals]

    def __add__(self, other: ImportSummary) -> ImportSummary:
        return ImportSummary(self.files + other.files)
