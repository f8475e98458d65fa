"""The pure half of an account's diagnosis: from what was read (the account, its connections,
their lint and tests, the domain's health, the reports' diagnoses) to one `AccountDiagnosis`.
No database, no DNS: admin.diagnosis gathers, this joins, so the joining is tested on values.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from admin._diagnosis_model import (
    AccountDiagnosis,
    AccountProblem,
    ConnectionDiagnosis,
    LatestTest,
    RecordToPublish,
    ReportsEvidence,
)
from admin.plans import RouteMode
from admin.records import Account, Connection, ProbeRecord
from admin.sending import domain_of
from diagnostics import providers as catalogue
from diagnostics.dmarc import Diagnosis
from diagnostics.findings import Finding, Severity
from diagnostics.health import DomainHealth
from diagnostics.provider_records import return_path_records
from diagnostics.smtp import ProbeResult
from diagnostics.smtp.codes import Stage, Symptom
from diagnostics.spf.recommend import DnsRecord

__all__ = [
    "Gathered",
    "assemble",
    "by_impact",
    "configured",
    "failing_dmarc",
    "latest_test",
]

_AREAS = ("route", "test", "connection", "dns", "reports")


@dataclass(frozen=True, slots=True)
class Gathered:
    """What admin.diagnosis read for one account, before any of it is joined."""

    account: Account
    connections: tuple[Connection, ...]
    connections_visible: bool
    lint: Mapping[int, Sequence[Finding]]
    probes: Sequence[ProbeRecord]  # newest first
    domain: str
    providers: tuple[str, ...]
    hosts: tuple[str, ...]
    health: DomainHealth | None
    health_note: str
    report_days: int
    messages: int
    diagnoses: Sequence[Diagnosis]
    selectors: Mapping[str, Sequence[str]]
    reports_complete: bool
    now: dt.datetime


def configured(
    active: Connection | None, connections: Sequence[Connection], domain: str
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(catalogue keys, SMTP hosts) of the connections that send as `domain`: the active one and
    every saved connection whose From domain is `domain`. A host the catalogue does not know adds
    its host (explain and health then say it is unknown) and no key."""
    chosen = [active] if active is not None else []
    chosen += [c for c in connections if c is not active and domain_of(c.from_address) == domain]
    keys: list[str] = []
    for conn in chosen:
        provider = catalogue.match_host(conn.host)
        if provider is not None:
            keys.append(provider.key)
    hosts = [c.host.strip().lower() for c in chosen if c.host.strip()]
    return tuple(dict.fromkeys(keys)), tuple(dict.fromkeys(hosts))


def failing_dmarc(diagnosis: Diagnosis) -> int:
    """The messages of a source that failed DMARC: what its impact is ranked by."""
    return max(diagnosis.messages - diagnosis.evidence.dmarc_pass, 0)


def by_impact(diagnoses: Iterable[Diagnosis]) -> list[Diagnosis]:
    """Diagnoses ranked by impact: most messages failing DMARC first, then the most severe, then
    the most messages (issue 12, finding 6: a 27% spoofer before two 2-message "SPF only")."""
    return sorted(
        diagnoses,
        key=lambda d: (-failing_dmarc(d), d.severity.rank, -d.messages, d.source, d.category),
    )


def latest_test(record: ProbeRecord) -> LatestTest:
    """A stored test in plain words: the symptom's and step's labels, never their codes."""
    try:
        result: ProbeResult | None = ProbeResult.from_dict(record.result)
    except (KeyError, TypeError, ValueError):
        result = None
    stage = _stage_label(result.stage.value if result else record.stage)
    if record.ok:
        duration = record.duration if record.duration is not None else 0.0
        return LatestTest(
            at=record.at,
            actor=record.actor,
            ok=True,
            code=record.outcome,
            title="It works",
            stage=stage,
            explanation=(
                f"Every step passed, up to {stage or 'the end'}, in {duration:.1f} s."
                if stage
                else f"Every step passed, in {duration:.1f} s."
            ),
            fix="",
        )
    symptom = result.symptom if result is not None else None
    if symptom is None:
        symptom = _symptom(record.outcome)
    title = symptom.label if symptom is not None else "The test failed"
    return LatestTest(
        at=record.at,
        actor=record.actor,
        ok=False,
        code=symptom.value if symptom is not None else record.outcome,
        title=title,
        stage=stage,
        explanation=result.explanation if result is not None else "",
        fix=result.fix if result is not None else "",
        causes=tuple(h.label for h in result.hints) if result is not None else (),
        cause_codes=tuple(h.value for h in result.hints) if result is not None else (),
    )


def _stage_label(code: str | None) -> str:
    try:
        return Stage(code).label if code else ""
    except ValueError:
        return ""


def _symptom(code: str) -> Symptom | None:
    try:
        return Symptom(code)
    except ValueError:
        return None


def _connections(g: Gathered) -> tuple[ConnectionDiagnosis, ...]:
    newest: dict[int, ProbeRecord] = {}
    for probe in g.probes:
        if probe.connection_id is not None:
            newest.setdefault(probe.connection_id, probe)
    found = []
    for conn in g.connections:
        provider = catalogue.match_host(conn.host)
        tested = newest.get(conn.id)
        found.append(
            ConnectionDiagnosis(
                id=conn.id,
                label=conn.label,
                host=conn.host,
                port=conn.port,
                security=conn.security.value,
                from_address=conn.from_address,
                active=conn.id == g.account.route.connection_id,
                provider=provider.key if provider else None,
                provider_name=provider.name if provider else None,
                findings=tuple(sorted(g.lint.get(conn.id, ()), key=lambda f: f.severity.rank)),
                latest_test=latest_test(tested) if tested is not None else None,
            )
        )
    return tuple(found)


def _spf_record(g: Gathered, ranked: Sequence[Diagnosis]) -> DnsRecord | None:
    """The one SPF record to publish at the domain: health's recommendation (the providers
    configured and the platform), else the reports' where DNS gave up on health; None when the
    current record is already right."""
    rec = g.health.spf_recommendation if g.health is not None else None
    if rec is not None:
        return (
            DnsRecord(rec.domain, "TXT", rec.record, "SPF") if rec.changed and rec.record else None
        )
    for diagnosis in ranked:
        for action in diagnosis.actions:
            if action.code == "add_spf_include" and action.domain == g.domain and action.record:
                return DnsRecord(g.domain, "TXT", action.record, "SPF")
    return None


def _is_spf_at(record: DnsRecord, domain: str) -> bool:
    return (
        record.rdtype == "TXT"
        and record.name.rstrip(".").lower() == domain
        and record.value.lower().startswith("v=spf1")
    )


def _other_records(g: Gathered, ranked: Sequence[Diagnosis]) -> tuple[RecordToPublish, ...]:
    """Every other record a fix asks for, each once: the reports' fixes (custom return path, DKIM,
    the policy step), the recommendation's records for other names, and the custom return path
    of a configured provider that health found missing (the region from the account's host)."""
    found: dict[tuple[str, str, str], RecordToPublish] = {}

    def add(record: DnsRecord, reason: str) -> None:
        if _is_spf_at(record, g.domain):
            return  # the one SPF record has its own place
        found.setdefault(
            (record.name.lower(), record.rdtype, record.value), RecordToPublish(record, reason)
        )

    for diagnosis in ranked:
        for action in diagnosis.actions:
            for record in action.records:
                add(record, action.code.value)
    if g.health is not None:
        rec = g.health.spf_recommendation
        for record in rec.other_records if rec is not None else ():
            add(record, "add_spf_include")
        missing = {f.term for f in g.health.spf.findings if f.code == "return_path_missing"}
        regions = {
            p.key: p.region_of(h) for h in g.hosts if (p := catalogue.match_host(h)) is not None
        }
        for key in g.providers:
            provider = catalogue.get(key)
            rp = provider.return_path
            if rp is None or f"{rp.label}.{g.domain}" not in missing:
                continue
            for record in return_path_records(provider, g.domain, regions.get(key)):
                add(record, "custom_return_path")
    return tuple(found.values())


def _problems(
    g: Gathered, conns: Sequence[ConnectionDiagnosis], ranked: Sequence[Diagnosis]
) -> tuple[AccountProblem, ...]:
    found: list[AccountProblem] = []
    route = g.account.route
    if route.mode is RouteMode.PAUSED:
        found.append(
            AccountProblem(
                "route_paused", Severity.ERROR, "Outbound mail is paused", route.reason, "route"
            )
        )
    for conn in conns:
        for f in conn.findings:
            if f.severity is Severity.INFO:
                continue
            found.append(
                AccountProblem(
                    f.code, f.severity, f.title, f.message, "connection", subject=conn.label
                )
            )
        if not conn.active:
            continue
        test = conn.latest_test
        if test is None:
            found.append(
                AccountProblem(
                    "connection_untested",
                    Severity.WARNING,
                    "The live connection has not been tested",
                    f"Mail goes out through “{conn.label}” ({conn.host}:{conn.port}), which no "
                    "SMTP test has tried yet. Run a test to see that it signs in and sends.",
                    "test",
                    subject=conn.label,
                )
            )
        elif not test.ok:
            detail = " ".join(x for x in (test.explanation, test.fix) if x)
            found.append(
                AccountProblem(
                    test.code,
                    Severity.ERROR,
                    f"Latest test: {test.title}" + (f" at {test.stage}" if test.stage else ""),
                    detail or f"The newest test of “{conn.label}” failed.",
                    "test",
                    subject=conn.label,
                )
            )
    if g.health is not None:
        for f in g.health.findings:
            if f.severity is not Severity.INFO:
                found.append(
                    AccountProblem(f.code, f.severity, f.title, f.message, "dns", g.domain)
                )
    for d in ranked:
        if d.severity is Severity.INFO or (d.passes_today and d.severity is not Severity.ERROR):
            continue
        found.append(
            AccountProblem(
                d.category.value,
                d.severity,
                f"{d.category.label}: {d.source}",
                d.explanation,
                "reports",
                subject=d.source,
                messages=d.messages,
                failing_dmarc=failing_dmarc(d),
            )
        )
    found.sort(key=lambda p: (-p.failing_dmarc, p.severity.rank, -p.messages, _AREAS.index(p.area)))
    return tuple(found)


def assemble(g: Gathered) -> AccountDiagnosis:
    """The account's diagnosis from what was gathered (module docstring)."""
    ranked = by_impact(d for d in g.diagnoses if d.domain == g.domain)
    conns = _connections(g)
    return AccountDiagnosis(
        account_id=g.account.id,
        account_name=g.account.name,
        plan=g.account.plan,
        route=g.account.route,
        connections=conns,
        domain=g.domain,
        providers=g.providers,
        hosts=g.hosts,
        health=g.health,
        health_note=g.health_note,
        reports=ReportsEvidence(
            days=g.report_days,
            messages=g.messages,
            diagnoses=tuple(ranked),
            selectors=tuple((k, tuple(v)) for k, v in g.selectors.items()),
            complete=g.reports_complete,
        ),
        spf_record=_spf_record(g, ranked),
        other_records=_other_records(g, ranked),
        problems=_problems(g, conns, ranked),
        checked_at=g.now,
        connections_visible=g.connections_visible,
    )
