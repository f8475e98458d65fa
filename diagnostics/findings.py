"""A finding: one thing a check noticed, in plain words, with how bad it is.

Shared by every check in the package (SPF lint, SMTP settings lint, domain health) so that pages and
the CLI show them the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from diagnostics._titles import title_of


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        """Sort key: errors first."""
        return {"error": 0, "warning": 1, "info": 2}[self.value]


@dataclass(frozen=True, slots=True)
class Finding:
    """What was noticed (`code`), how bad (`severity`), and a message saying what it is, why it
    matters and what to do. `term` is the part of the input it is about (an SPF term, a setting).
    `title` is the code in plain words, what a page or the CLI shows as the finding's heading."""

    code: str
    severity: Severity
    message: str
    term: str | None = None

    @property
    def title(self) -> str:
        return title_of(self.code)

    def to_dict(self) -> dict[str, str | None]:
        return {
            "code": self.code,
            "title": self.title,
            "severity": self.severity.value,
            "message": self.message,
            "term": self.term,
        }


def worst(findings: list[Finding]) -> Severity | None:
    """The most severe level among `findings`, or None when there are none."""
    if not findings:
        return None
    return min((f.severity for f in findings), key=lambda s: s.rank)
