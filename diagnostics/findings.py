"""A finding: one thing a check noticed, in plain words, with how bad it is.

Shared by every check in the package (SPF lint, SMTP settings lint, domain health) so that pages and
the CLI show them the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


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
    matters and what to do. `term` is the part of the input it is about (an SPF term, a setting)."""

    code: str
    severity: Severity
    message: str
    term: str | None = None

    def to_dict(self) -> dict[str, str | None]:
        return {
            "code": self.code,
            "severity": self.severity.value,
            "message": self.message,
            "term": self.term,
        }


def worst(findings: list[Finding]) -> Severity | None:
    """The most severe level among `findings`, or None when there are none."""
    if not findings:
        return None
    return min((f.severity for f in findings), key=lambda s: s.rank)
