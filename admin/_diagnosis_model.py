"""The values of an account's diagnosis (admin.diagnosis): frozen, with no session or DNS behind
them, so every surface renders the same answer and `to_json()` gives the codes for --json and the
queue of issue 16.

Plain words (`title`, `detail`) are for people; `code` fields are for machines and never shown
as a sentence.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from admin.plans import Plan, Route, RouteMode
from diagnostics.dmarc import Diagnosis
from diagnostics.findings import Finding, Severity
from diagnostics.health import DomainHealth
from diagnostics.spf.recommend import DnsRecord

__all__ = [
    "AccountDiagnosis",
    "AccountProblem",
    "ConnectionDiagnosis",
    "LatestTest",
    "RecordToPublish",
    "ReportsEvidence",
]


@dataclass(frozen=True, slots=True)
class LatestTest:
    """The newest SMTP test of one connection, in plain words: `title` ("Works", "Authentication
    failed"), `stage` the step it reached ("Sign-in"), `causes` the provider-specific causes
    recognised; `code` is the stored outcome ("ok", "auth_failed") for --json."""

    at: dt.datetime
    actor: str
    ok: bool
    code: str
    title: str
    stage: str
    explanation: str
    fix: str
    causes: tuple[str, ...] = ()
    cause_codes: tuple[str, ...] = ()

    def to_json(self) -> dict[str, object]:
        return {
            "at": self.at.isoformat(),
            "actor": self.actor,
            "ok": self.ok,
            "code": self.code,
            "title": self.title,
            "stage": self.stage,
            "explanation": self.explanation,
            "fix": self.fix,
            "causes": list(self.causes),
            "cause_codes": list(self.cause_codes),
        }


@dataclass(frozen=True, slots=True)
class ConnectionDiagnosis:
    """One saved connection: its public settings, whether it is the live route, what its settings
    say before connecting (`findings`, the SMTP lint) and its newest test (None: never tested).
    `provider`: the catalogue key of its host (None: a host the catalogue does not know)."""

    id: int
    label: str
    host: str
    port: int
    security: str
    from_address: str
    active: bool
    provider: str | None
    provider_name: str | None
    findings: tuple[Finding, ...]
    latest_test: LatestTest | None

    @property
    def errors(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity is Severity.ERROR)

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "label": self.label,
            "host": self.host,
            "port": self.port,
            "security": self.security,
            "from_address": self.from_address,
            "active": self.active,
            "provider": self.provider,
            "findings": [f.to_dict() for f in self.findings],
            "latest_test": None if self.latest_test is None else self.latest_test.to_json(),
        }


@dataclass(frozen=True, slots=True)
class RecordToPublish:
    """One DNS record the account should publish, and which fix asks for it. A `template` record
    holds a value the desk does not know (in angle brackets, `fill_in` says where to find it):
    shown as a template, never offered to copy."""

    record: DnsRecord
    reason: str  # the code of the fix or finding that asks for it (custom_return_path, ...)

    @property
    def template(self) -> bool:
        return self.record.template

    def to_json(self) -> dict[str, object]:
        return {**self.record.to_dict(), "reason": self.reason}


@dataclass(frozen=True, slots=True)
class AccountProblem:
    """One thing wrong with the account, flat, for a queue to rank: `code` (a lint finding's, a
    test's symptom, a health finding's, a DMARC category's), `severity`, `title` and `detail` in
    plain words, `messages` the reported messages it concerns and `failing_dmarc` those of them
    that failed DMARC (0 for what the reports do not count). `area`: connection, test, route,
    dns or reports. `subject`: what it is about (a connection's label, a source's name)."""

    code: str
    severity: Severity
    title: str
    detail: str
    area: str
    subject: str = ""
    messages: int = 0
    failing_dmarc: int = 0

    def to_json(self) -> dict[str, object]:
        return {
            "code": self.code,
            "severity": self.severity.value,
            "title": self.title,
            "detail": self.detail,
            "area": self.area,
            "subject": self.subject,
            "messages": self.messages,
            "failing_dmarc": self.failing_dmarc,
        }


@dataclass(frozen=True, slots=True)
class ReportsEvidence:
    """What the domain's DMARC reports of the last `days` days say: `messages` reported, each
    source's diagnosis ranked by impact (messages failing DMARC, then severity), the DKIM
    selectors seen passing. `complete` False: explaining gave up (time limit)."""

    days: int
    messages: int
    diagnoses: tuple[Diagnosis, ...]
    selectors: tuple[tuple[str, tuple[str, ...]], ...] = ()
    complete: bool = True

    @property
    def to_fix(self) -> tuple[Diagnosis, ...]:
        """The diagnoses that ask for a change (not compliant), in the same order."""
        return tuple(d for d in self.diagnoses if not d.category.dmarc_passes)

    def to_json(self) -> dict[str, object]:
        return {
            "days": self.days,
            "messages": self.messages,
            "complete": self.complete,
            "selectors": {k: list(v) for k, v in self.selectors},
            "diagnoses": [d.to_dict() for d in self.diagnoses],
        }


@dataclass(frozen=True, slots=True)
class AccountDiagnosis:
    """Everything the desk knows about one account, joined: the route and plan, each connection
    with its lint and latest test, the sending domain's SPF/DKIM/DMARC/MX for the providers it is
    configured with and the platform (`health`; None without a domain or when DNS gave up,
    `health_note` says which), the reports' diagnoses, the one SPF record to publish, the other
    records, and every `problems` ranked. Surfaces render it; none recomputes any of it."""

    account_id: int
    account_name: str
    plan: Plan
    route: Route
    connections: tuple[ConnectionDiagnosis, ...]
    domain: str
    providers: tuple[str, ...]
    hosts: tuple[str, ...]
    health: DomainHealth | None
    health_note: str
    reports: ReportsEvidence
    spf_record: DnsRecord | None
    other_records: tuple[RecordToPublish, ...]
    problems: tuple[AccountProblem, ...]
    checked_at: dt.datetime
    connections_visible: bool = True

    @property
    def mode(self) -> RouteMode:
        return self.route.mode

    @property
    def active(self) -> ConnectionDiagnosis | None:
        return next((c for c in self.connections if c.active), None)

    @property
    def categories(self) -> tuple[str, ...]:
        """The reports' categories (codes), in ranked order, each once."""
        return tuple(dict.fromkeys(d.category.value for d in self.reports.diagnoses))

    @property
    def records_to_publish(self) -> tuple[DnsRecord, ...]:
        """The SPF record (when one is to publish) then the others: what the cross-surface test
        compares byte for byte."""
        first = (self.spf_record,) if self.spf_record is not None else ()
        return first + tuple(r.record for r in self.other_records)

    def to_json(self) -> dict[str, object]:
        return {
            "account": {"id": self.account_id, "name": self.account_name},
            "plan": self.plan.value,
            "route": self.route.to_dict(),
            "connections_visible": self.connections_visible,
            "connections": [c.to_json() for c in self.connections],
            "domain": self.domain,
            "providers": list(self.providers),
            "hosts": list(self.hosts),
            "health": None if self.health is None else self.health.to_dict(),
            "health_note": self.health_note,
            "reports": self.reports.to_json(),
            "categories": list(self.categories),
            "spf_record": None if self.spf_record is None else self.spf_record.to_dict(),
            "other_records": [r.to_json() for r in self.other_records],
            "problems": [p.to_json() for p in self.problems],
            "checked_at": self.checked_at.isoformat(),
        }
