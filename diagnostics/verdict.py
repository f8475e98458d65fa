"""One word for the state of a check (ok / warning / error), as the health pages show a part.

Shared by the DKIM selector check, the DMARC record check and domain health, so a page colours
them all the same way; derived from the findings, never set by hand.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

from diagnostics.findings import Finding, Severity, worst

__all__ = ["Verdict", "verdict_of"]


class Verdict(StrEnum):
    """ok: nothing to do; warning: works, but should be changed; error: something fails."""

    OK = "ok"
    WARNING = "warning"
    ERROR = "error"


def verdict_of(findings: Sequence[Finding]) -> Verdict:
    """ERROR when any finding is an error, WARNING when any is a warning, OK otherwise."""
    level = worst(list(findings))
    if level is Severity.ERROR:
        return Verdict.ERROR
    if level is Severity.WARNING:
        return Verdict.WARNING
    return Verdict.OK
