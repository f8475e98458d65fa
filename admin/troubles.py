"""What puts an account in the support queue: its troubles, ranked, each in one plain line.

Pure: no database, no DNS. The evidence is the account diagnosis (issue 12: its flat list of
problems, each with a code, a severity, a plain title, a detail and the messages it affects) and
the domain's report figures (diagnostics.dmarc.DomainTrend). `troubles(evidence, rules)` turns them
into the troubles of issue 16, the kinds a support person filters by and an alert rule names:

    nano_paused                 a Nano account whose mail is paused (no custom connection)
    connection_failing          the active connection failed its latest test
    connection_lint             the active connection's settings have lint errors
    provider_missing_from_spf   a configured provider is not in SPF (from DNS or from the reports)
    spf_broken                  SPF over 10 look-ups, or in permerror
    dmarc_pass_falling          this week's DMARC pass rate below the previous four weeks'
    unknown_senders             new senders failing DMARC above a share of this week's mail
    no_reports                  no report received lately for a domain that publishes rua=

Each kind has thresholds (`Rule.thresholds`, defaults in DEFAULT_THRESHOLDS) that the desk's alert
rules may change; a rule switched off still ranks the queue, it only sends no alert.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from diagnostics.dmarc.trend import DomainTrend
from diagnostics.wording import plural


class TroubleKind(StrEnum):
    NANO_PAUSED = "nano_paused"
    CONNECTION_FAILING = "connection_failing"
    CONNECTION_LINT = "connection_lint"
    PROVIDER_MISSING_FROM_SPF = "provider_missing_from_spf"
    SPF_BROKEN = "spf_broken"
    DMARC_PASS_FALLING = "dmarc_pass_falling"  # noqa: S105 - a trouble kind, not a password
    UNKNOWN_SENDERS = "unknown_senders"
    NO_REPORTS = "no_reports"

    @property
    def label(self) -> str:
        """The kind in plain words, for a filter or a column a person reads."""
        return _LABELS[self]

    @property
    def weight(self) -> int:
        """How much the kind ranks an account up: mail that does not go out at all first."""
        return _WEIGHTS[self]


_LABELS = {
    TroubleKind.NANO_PAUSED: "Mail paused",
    TroubleKind.CONNECTION_FAILING: "Connection failing its test",
    TroubleKind.CONNECTION_LINT: "Connection settings wrong",
    TroubleKind.PROVIDER_MISSING_FROM_SPF: "Provider missing from SPF",
    TroubleKind.SPF_BROKEN: "SPF broken",
    TroubleKind.DMARC_PASS_FALLING: "DMARC pass rate falling",
    TroubleKind.UNKNOWN_SENDERS: "New unknown senders",
    TroubleKind.NO_REPORTS: "No DMARC reports",
}
_WEIGHTS = {
    TroubleKind.NANO_PAUSED: 100,
    TroubleKind.CONNECTION_FAILING: 80,
    TroubleKind.SPF_BROKEN: 60,
    TroubleKind.PROVIDER_MISSING_FROM_SPF: 50,
    TroubleKind.DMARC_PASS_FALLING: 40,
    TroubleKind.CONNECTION_LINT: 30,
    TroubleKind.UNKNOWN_SENDERS: 20,
    TroubleKind.NO_REPORTS: 10,
}

# Each kind's thresholds, by name; what each means is in THRESHOLD_HELP.
DEFAULT_THRESHOLDS: dict[TroubleKind, dict[str, float]] = {
    TroubleKind.NANO_PAUSED: {},
    TroubleKind.CONNECTION_FAILING: {},
    TroubleKind.CONNECTION_LINT: {},
    TroubleKind.PROVIDER_MISSING_FROM_SPF: {"min_messages": 1},
    TroubleKind.SPF_BROKEN: {},
    TroubleKind.DMARC_PASS_FALLING: {"drop_points": 10, "min_messages": 20},
    TroubleKind.UNKNOWN_SENDERS: {"share_percent": 5, "min_messages": 20},
    TroubleKind.NO_REPORTS: {"days": 7},
}
THRESHOLD_HELP = {
    "min_messages": "at least this many messages (this week, or failing in the reports)",
    "drop_points": "this week's pass rate this many points below the previous four weeks'",
    "share_percent": "new senders failing DMARC send at least this share of the week's mail",
    "days": "no report for this many days",
}

# The diagnosis's problem codes behind the DNS and report kinds (issue 12 keeps the health
# check's finding codes and the report explanation's categories).
_MISSING_CODES = frozenset(
    {"provider_not_authorized", "return_path_not_authorized", "spf_include_missing"}
)
_SPF_BROKEN_CODES = frozenset(
    {
        "too_many_lookups",
        "too_many_void_lookups",
        "multiple_records",
        "syntax_error",
        "include_loop",
        "include_without_record",
        "spf_broken",
    }
)


class DiagnosedProblem(Protocol):
    """One problem of the account diagnosis (admin.diagnosis.AccountProblem): `area` is route,
    connection, test, dns or reports; `subject` the connection's label or the source's name."""

    @property
    def code(self) -> str: ...
    @property
    def severity(self) -> Any: ...
    @property
    def title(self) -> str: ...
    @property
    def area(self) -> str: ...
    @property
    def detail(self) -> str: ...
    @property
    def subject(self) -> str: ...
    @property
    def failing_dmarc(self) -> int: ...


@dataclass(frozen=True, slots=True)
class QueueEvidence:
    """What one account's troubles are decided from: the account diagnosis's `problems`, the label
    of the connection mail goes out through (`active`, None: managed or paused), the codes of the
    SPF part of its domain's health (`spf_codes`: a DMARC finding may share a code), whether the
    domain asks for reports (`publishes_rua`), and its report figures (`trend`)."""

    account_id: int
    name: str
    plan: str
    provider: str | None
    domain: str
    problems: Sequence[DiagnosedProblem] = ()
    active: str | None = None
    spf_codes: frozenset[str] = frozenset()
    publishes_rua: bool = False
    trend: DomainTrend | None = None


@dataclass(frozen=True, slots=True)
class Trouble:
    kind: TroubleKind
    line: str  # one plain sentence: why this account needs help
    messages: int = 0  # messages it affects, when known (ranks equal troubles)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind.value, "line": self.line, "messages": self.messages}

    @classmethod
    def from_dict(cls, value: Mapping[str, Any]) -> Trouble:
        return cls(TroubleKind(value["kind"]), str(value["line"]), int(value.get("messages", 0)))


@dataclass(frozen=True, slots=True)
class Rule:
    """The desk's rule for one kind: whether it alerts, and its thresholds (defaults filled in)."""

    kind: TroubleKind
    enabled: bool = True
    thresholds: Mapping[str, float] = field(default_factory=dict)

    def threshold(self, name: str) -> float:
        return float(self.thresholds.get(name, DEFAULT_THRESHOLDS[self.kind][name]))


def default_rules() -> dict[TroubleKind, Rule]:
    return {k: Rule(k, True, dict(DEFAULT_THRESHOLDS[k])) for k in TroubleKind}


def troubles(
    evidence: QueueEvidence, rules: Mapping[TroubleKind, Rule] | None = None
) -> list[Trouble]:
    """The account's troubles, the worst first: at most one per kind (the one with the most
    messages failing DMARC, else the first the diagnosis ranks)."""
    chosen = {**default_rules(), **(rules or {})}
    found: dict[TroubleKind, Trouble] = {}
    for problem in evidence.problems:
        kind = _kind_of(problem, evidence)
        if kind is None:
            continue
        messages = int(problem.failing_dmarc or 0)
        # From the reports: only where enough mail failed for it (DNS alone always counts).
        few = messages < chosen[TroubleKind.PROVIDER_MISSING_FROM_SPF].threshold("min_messages")
        if kind is TroubleKind.PROVIDER_MISSING_FROM_SPF and problem.area == "reports" and few:
            continue
        earlier = found.get(kind)
        if earlier is None or messages > earlier.messages:
            found[kind] = Trouble(kind, _line(problem), messages)
    if evidence.trend is not None:
        for trouble in _trend_troubles(evidence, evidence.trend, chosen):
            found.setdefault(trouble.kind, trouble)
    return sorted(found.values(), key=lambda t: (-t.kind.weight, -t.messages))


def score(found: Iterable[Trouble]) -> int:
    """The account's rank in the queue: the sum of its troubles' weights (0: nothing wrong)."""
    return sum(t.kind.weight for t in found)


def one_line(found: Sequence[Trouble]) -> str:
    """Why the account needs help, in one line: its worst trouble, and how many more."""
    if not found:
        return "Nothing needs attention."
    more = f" (and {plural(len(found) - 1, 'other problem')})" if len(found) > 1 else ""
    return f"{found[0].line}{more}"


def _kind_of(problem: DiagnosedProblem, evidence: QueueEvidence) -> TroubleKind | None:
    code, area, error = problem.code, problem.area, _is_error(problem.severity)
    if area == "route":
        paused = code == "route_paused" and evidence.plan == "nano"
        return TroubleKind.NANO_PAUSED if paused else None
    live = evidence.active is not None and problem.subject == evidence.active
    if area == "test":
        return TroubleKind.CONNECTION_FAILING if live and error else None
    if area == "connection":
        return TroubleKind.CONNECTION_LINT if live and error else None
    if area == "reports":
        if code == "spf_include_missing":
            return TroubleKind.PROVIDER_MISSING_FROM_SPF
        return TroubleKind.SPF_BROKEN if code == "spf_broken" else None
    if area != "dns":
        return None
    if code in _MISSING_CODES and error:
        return TroubleKind.PROVIDER_MISSING_FROM_SPF
    if code in _SPF_BROKEN_CODES and code in evidence.spf_codes:
        # Over 10 look-ups is a permerror (RFC 7208 4.6.4) whatever severity a check gives it.
        return TroubleKind.SPF_BROKEN if error or code == "too_many_lookups" else None
    return None


def _is_error(severity: Any) -> bool:
    return str(getattr(severity, "value", severity)).lower() == "error"


def _line(problem: DiagnosedProblem) -> str:
    """One plain line: for the route and DNS, the first sentence of the detail (it names the
    domain and what is wrong); else the title, with the connection or the mail it costs."""
    if problem.area in ("route", "dns"):
        first = _first_sentence(problem.detail)
        if first:
            return first
    title = problem.title.strip().rstrip(".")
    if problem.area in ("test", "connection") and problem.subject:
        title = f"{title} (connection “{problem.subject}”)"
    if problem.failing_dmarc:
        title = f"{title}: {plural(problem.failing_dmarc, 'message')} failing DMARC"
    return f"{title}."


def _first_sentence(text: str, limit: int = 200) -> str:
    head, dot, _ = " ".join(text.split()).partition(". ")
    sentence = head if dot else head.rstrip(".")
    if len(sentence) > limit:
        sentence = sentence[: limit - 1].rstrip() + "…"
    return f"{sentence}." if sentence else ""


def _trend_troubles(
    evidence: QueueEvidence, trend: DomainTrend, rules: Mapping[TroubleKind, Rule]
) -> list[Trouble]:
    found: list[Trouble] = []
    falling = rules[TroubleKind.DMARC_PASS_FALLING]
    if (
        trend.week_messages >= falling.threshold("min_messages")
        and trend.earlier_messages > 0
        and trend.earlier_pass_pct - trend.week_pass_pct >= falling.threshold("drop_points")
    ):
        failing = trend.week_messages - trend.week_pass
        found.append(
            Trouble(
                TroubleKind.DMARC_PASS_FALLING,
                f"DMARC pass rate of {evidence.domain} fell to {trend.week_pass_pct:.0f}% this "
                f"week, from {trend.earlier_pass_pct:.0f}% over the four weeks before.",
                failing,
            )
        )
    unknown = rules[TroubleKind.UNKNOWN_SENDERS]
    # "New" needs a past: a domain whose reports began this week has no known senders yet.
    enough = trend.week_messages >= unknown.threshold("min_messages") and trend.earlier_messages
    if enough and trend.new_unknown_pct >= unknown.threshold("share_percent"):
        found.append(
            Trouble(
                TroubleKind.UNKNOWN_SENDERS,
                f"{plural(trend.new_unknown_sources, 'new sender')} failing DMARC sent "
                f"{trend.new_unknown_pct:.0f}% of the mail of {evidence.domain} this week.",
                trend.new_unknown_messages,
            )
        )
    quiet = rules[TroubleKind.NO_REPORTS]
    if evidence.publishes_rua:
        days = quiet.threshold("days")
        if trend.days_since_report is None:
            found.append(
                Trouble(
                    TroubleKind.NO_REPORTS,
                    f"{evidence.domain} asks for DMARC reports (rua=) but none has arrived.",
                )
            )
        elif trend.days_since_report >= days:
            found.append(
                Trouble(
                    TroubleKind.NO_REPORTS,
                    f"No DMARC report for {evidence.domain} in "
                    f"{plural(int(trend.days_since_report), 'day')}, though it asks for them "
                    "(rua=).",
                )
            )
    return found


__all__ = [
    "DEFAULT_THRESHOLDS",
    "THRESHOLD_HELP",
    "DiagnosedProblem",
    "QueueEvidence",
    "Rule",
    "Trouble",
    "TroubleKind",
    "default_rules",
    "one_line",
    "score",
    "troubles",
]
