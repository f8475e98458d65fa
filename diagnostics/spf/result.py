"""The outcome of an SPF check_host() evaluation: the verdict, why, and every step taken.

Result            StrEnum: pass fail softfail neutral none permerror temperror
                  (compares equal to those strings)
TraceStep(depth, domain, term, outcome, matched)
                  one step: `depth` 0 for the checked domain, +1 per include/redirect;
                  `term` as written in the record ("include:_spf.example.com"), or the whole
                  record for the step that fetched it; `outcome` in plain words; `matched`
                  True/False for mechanisms, None for other steps
SpfResult(result, domain, ip, sender, explanation, problem, lookups, void_lookups, trace)
                  `.explanation`: the expanded exp= text when the result is fail and the
                  record gives one, else None; `.problem`: plain words why for none,
                  permerror and temperror, else None; `.format_trace()`: the trace as
                  indented lines for a person to read; `.to_dict()`: plain data for JSON
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

__all__ = ["Result", "SpfResult", "TraceStep"]


class Result(StrEnum):
    PASS = "pass"  # noqa: S105 - an SPF verdict, not a password
    FAIL = "fail"
    SOFTFAIL = "softfail"
    NEUTRAL = "neutral"
    NONE = "none"
    PERMERROR = "permerror"
    TEMPERROR = "temperror"

    @property
    def is_error(self) -> bool:
        return self in (Result.PERMERROR, Result.TEMPERROR)


@dataclass(frozen=True, slots=True)
class TraceStep:
    depth: int
    domain: str
    term: str
    outcome: str
    matched: bool | None = None

    def __str__(self) -> str:
        mark = {True: "match", False: "no match", None: "-"}[self.matched]
        return f"{'  ' * self.depth}[{self.domain}] {self.term}: {self.outcome} ({mark})"


@dataclass(frozen=True, slots=True)
class SpfResult:
    result: Result
    domain: str
    ip: str
    sender: str
    explanation: str | None = None
    problem: str | None = None
    lookups: int = 0
    void_lookups: int = 0
    trace: tuple[TraceStep, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON output (the CLI's --json, notebooks)."""
        return {
            "result": self.result.value,
            "domain": self.domain,
            "ip": self.ip,
            "sender": self.sender,
            "explanation": self.explanation,
            "problem": self.problem,
            "lookups": self.lookups,
            "void_lookups": self.void_lookups,
            "trace": [
                {
                    "depth": step.depth,
                    "domain": step.domain,
                    "term": step.term,
                    "outcome": step.outcome,
                    "matched": step.matched,
                }
                for step in self.trace
            ],
        }

    def format_trace(self) -> str:
        """The trace as one indented line a step, then the verdict."""
        lines = [str(step) for step in self.trace]
        verdict = f"=> {self.result.value}"
        if self.problem:
            verdict += f": {self.problem}"
        if self.explanation:
            verdict += f" (explanation: {self.explanation})"
        lines.append(verdict)
        return "\n".join(lines)
