"""Explain every DMARC source of a domain: why it passes or fails, and exactly what to change.

    explain(records, *, resolver=None, enrichment=None, platform="trekmail") -> list[Diagnosis]

`records` is the table of `load_reports(...).records` (or the store's). The work, in order:

1. Reduce: one vectorised groupby over the verdict columns sums the messages, so the rest of the
   work is per distinct (domain, IP, verdicts) combination, never per report row.
2. Sources (`sources.identify`): the service behind each IP, from the providers' own published SPF
   networks (compiled once per call) and from `enrichment` (the table `diagnostics.enrich.enrich`
   returns; None means no reverse-DNS knowledge, only the SPF networks).
3. Today's SPF: each envelope domain that belongs to the customer is compiled once and every IP
   checked in bulk, to tell "already fixed" from "still failing".
4. Classify (`categories.classify`) and group by (domain, source, category): one `Diagnosis`
   each, with its explanation (`wording`), evidence and actions (`actions`), worst first.
5. Policy readiness (`policy`): when every legitimate source passes, the largest passing source
   carries a `tighten_policy` action with the next DMARC record.

DNS goes through `resolver` only (its cache makes each name one question per call).
"""

from __future__ import annotations

import functools
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd
from publicsuffixlist import PublicSuffixList

from diagnostics import providers as catalogue
from diagnostics.dmarc import actions as fixes
from diagnostics.dmarc.actions import Action, ActionCode
from diagnostics.dmarc.categories import Category, Signals, classify, severity_of
from diagnostics.dmarc.readiness import readiness
from diagnostics.dmarc.sources import (
    MAILBOX_MX,
    SourceId,
    hosted_mailboxes,
    identify,
    is_address,
)
from diagnostics.dmarc.wording import Facts, explanation
from diagnostics.dns import Resolver, get_resolver
from diagnostics.errors import InvalidInput
from diagnostics.findings import Severity
from diagnostics.spf.analyze import analyze
from diagnostics.spf.compile import compile as compile_spf
from diagnostics.spf.recommend import SpfRecommendation, recommend

__all__ = ["Diagnosis", "Evidence", "explain"]

Counts = tuple[tuple[str, int], ...]

# The verdict columns a diagnosis rests on; rows equal in all of them are one combination.
_KEYS = (
    "policy_domain",
    "header_from",
    "source_ip",
    "spf_domain",
    "envelope_from",
    "spf_result",
    "spf_aligned",
    "dkim_aligned",
    "dkim_domains",
    "dkim_results",
    "override_reasons",
    "disposition",
)


@dataclass(frozen=True, slots=True)
class Evidence:
    """The counts and verdicts a diagnosis rests on (each count pair is (value, messages), most
    messages first)."""

    messages: int
    ips: Counts
    spf_results: Counts
    spf_aligned_pass: int
    dkim_aligned_pass: int
    dmarc_pass: int  # messages with SPF or DKIM aligned and passing
    dispositions: Counts
    envelope_domains: Counts
    dkim_domains: Counts
    override_reasons: Counts
    authorized_today: int  # messages from IPs today's SPF of their envelope domain passes
    recognised_by: str | None  # spf (provider's networks), ptr, service (enrichment) or None
    first_seen: pd.Timestamp | None = None
    last_seen: pd.Timestamp | None = None

    def to_dict(self) -> dict[str, object]:
        return {
            "messages": self.messages,
            "ips": dict(self.ips),
            "spf_results": dict(self.spf_results),
            "spf_aligned_pass": self.spf_aligned_pass,
            "dkim_aligned_pass": self.dkim_aligned_pass,
            "dmarc_pass": self.dmarc_pass,
            "dispositions": dict(self.dispositions),
            "envelope_domains": dict(self.envelope_domains),
            "dkim_domains": dict(self.dkim_domains),
            "override_reasons": dict(self.override_reasons),
            "authorized_today": self.authorized_today,
            "recognised_by": self.recognised_by,
            "first_seen": None if self.first_seen is None else self.first_seen.isoformat(),
            "last_seen": None if self.last_seen is None else self.last_seen.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class Diagnosis:
    """One source of one domain in one category. `source`: the service name, or the IP when no
    service is known; `provider`: its catalogue key; `share`: of the domain's messages (0..1);
    `already_fixed`: messages whose SPF failure today's record no longer shows."""

    domain: str
    category: Category
    source: str
    provider: str | None
    ips: tuple[str, ...]
    messages: int
    share: float
    explanation: str
    evidence: Evidence
    actions: tuple[Action, ...]
    severity: Severity
    already_fixed: int = 0

    @property
    def passes_today(self) -> bool:
        """DMARC passes for all of it: by category, or because every message passed anyway (a
        missing include while DKIM carries DMARC)."""
        if any(a.code is ActionCode.FIX_SPF_RECORD for a in self.actions):
            return False  # a record broken today fails every sender that relies on SPF
        return self.category.dmarc_passes or self.evidence.dmarc_pass >= self.messages

    @property
    def action_codes(self) -> tuple[str, ...]:
        return tuple(a.code.value for a in self.actions)

    def to_dict(self) -> dict[str, object]:
        return {
            "domain": self.domain,
            "category": self.category.value,
            "source": self.source,
            "provider": self.provider,
            "ips": list(self.ips),
            "messages": self.messages,
            "share": self.share,
            "explanation": self.explanation,
            "evidence": self.evidence.to_dict(),
            "actions": [a.to_dict() for a in self.actions],
            "severity": self.severity.value,
            "already_fixed": self.already_fixed,
        }


@functools.cache
def _psl() -> PublicSuffixList:
    return PublicSuffixList()


@functools.lru_cache(maxsize=65536)
def _org(domain: str) -> str:
    """Organizational domain (RFC 7489 3.2) for relaxed alignment."""
    found = _psl().privatesuffix(domain)
    return str(found) if found else domain


def _split(text: str) -> list[str]:
    return [part.strip().lower() for part in text.split(",")] if text else []


def _text(value: Any) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return ""
    return str(value).strip()


def _reduce(records: pd.DataFrame) -> pd.DataFrame:
    """One row per distinct combination of the verdict columns, with summed messages."""
    frame = records
    missing = [c for c in (*_KEYS, "count") if c not in frame.columns]
    if missing:
        frame = frame.assign(**{c: (1 if c == "count" else "") for c in missing})
    if not pd.api.types.is_integer_dtype(frame["count"]):
        # Counts read back as text or category (a CSV export, say): numbers, blanks as 0.
        counts = pd.to_numeric(frame["count"].astype(object), errors="coerce")
        frame = frame.assign(count=counts.fillna(0).astype("int64"))
    extra: dict[str, tuple[str, str]] = {"messages": ("count", "sum")}
    if "begin" in frame.columns:
        extra["first_seen"] = ("begin", "min")
    if "end" in frame.columns:
        extra["last_seen"] = ("end", "max")
    grouped = frame.groupby(list(_KEYS), observed=True, dropna=False, sort=False)
    return grouped.agg(**extra).reset_index()


@dataclass
class _Row:
    domain: str
    header: str
    ip: str
    envelope: str
    spf_result: str
    spf_aligned: bool
    dkim_aligned: bool
    dkim_domains: list[str]
    dkim_results: list[str]
    overrides: frozenset[str]
    disposition: str
    messages: int
    first_seen: pd.Timestamp | None
    last_seen: pd.Timestamp | None
    own_envelope: bool = False
    authorized_today: bool | None = None
    category: Category = Category.COMPLIANT
    fixed: bool = False


def _rows(reduced: pd.DataFrame) -> list[_Row]:
    out: list[_Row] = []
    has_first = "first_seen" in reduced.columns
    has_last = "last_seen" in reduced.columns
    for rec in reduced.to_dict("records"):
        domain = _text(rec["policy_domain"]).lower()
        header = _text(rec["header_from"]).lower() or domain
        domain = domain or header
        envelope = _text(rec["spf_domain"]).lower() or _text(rec["envelope_from"]).lower() or header
        envelope = envelope.rpartition("@")[2]
        out.append(
            _Row(
                domain=domain,
                header=header,
                ip=_text(rec["source_ip"]),
                envelope=envelope,
                spf_result=_text(rec["spf_result"]).lower() or "none",
                spf_aligned=_text(rec["spf_aligned"]).lower() == "pass",
                dkim_aligned=_text(rec["dkim_aligned"]).lower() == "pass",
                dkim_domains=_split(_text(rec["dkim_domains"])),
                dkim_results=_split(_text(rec["dkim_results"])),
                overrides=frozenset(_split(_text(rec["override_reasons"]))),
                disposition=_text(rec["disposition"]).lower() or "none",
                messages=int(rec["messages"]),
                first_seen=rec["first_seen"] if has_first and pd.notna(rec["first_seen"]) else None,
                last_seen=rec["last_seen"] if has_last and pd.notna(rec["last_seen"]) else None,
            )
        )
    return out


def _today(rows: list[_Row], resolver: Resolver) -> None:
    """Fill `authorized_today` for rows whose envelope domain is the customer's: one compile per
    envelope domain, one bulk check over its IPs."""
    wanted: dict[str, list[str]] = {}
    for row in rows:
        row.own_envelope = bool(row.envelope) and _org(row.envelope) == _org(row.header)
        if row.own_envelope and is_address(row.ip):
            wanted.setdefault(row.envelope, []).append(row.ip)
    verdicts: dict[tuple[str, str], str] = {}
    for envelope, ips in wanted.items():
        distinct = list(dict.fromkeys(ips))
        results = compile_spf(envelope, resolver=resolver).check_many(distinct)
        verdicts.update({(envelope, ip): r for ip, r in zip(distinct, results, strict=True)})
    for row in rows:
        found = verdicts.get((row.envelope, row.ip))
        row.authorized_today = None if found is None else found == "pass"


def _hosted(
    rows: list[_Row], sources: dict[str, SourceId], resolver: Resolver
) -> dict[str, frozenset[str]]:
    """Per domain, the mailbox providers its MX (or its organization's) points at; asked only for
    domains that mailbox-provider addresses sent for."""
    domains = {r.domain for r in rows if sources[r.ip].provider in MAILBOX_MX}
    return {d: hosted_mailboxes([d, _org(d)], resolver) for d in sorted(domains)}


def _classify(
    rows: list[_Row], sources: dict[str, SourceId], hosted: dict[str, frozenset[str]]
) -> None:
    for row in rows:
        source = sources[row.ip]
        key, service_type = source.provider, source.service_type
        if (
            key in MAILBOX_MX
            and key not in hosted.get(row.domain, frozenset())
            and row.authorized_today is not True
            and not row.spf_aligned
        ):
            # A mailbox provider that neither hosts this domain's mail nor is in its SPF: one of
            # its users forwarded the message.
            key, service_type = None, "Email Provider"
        provider = catalogue.get(key) if key else None
        org = _org(row.header)
        unaligned = any(
            result == "pass" and _org(domain) != org
            for domain, result in zip(row.dkim_domains, row.dkim_results, strict=False)
        )
        signals = Signals(
            spf_aligned=row.spf_aligned,
            dkim_aligned=row.dkim_aligned,
            spf_result=row.spf_result,
            own_envelope=row.own_envelope,
            authorized_today=row.authorized_today,
            provider=key,
            return_path=provider is not None and provider.return_path is not None,
            unaligned_dkim_pass=unaligned,
            override_reasons=row.overrides,
            service_type=service_type,
        )
        row.category = classify(signals)
        row.fixed = signals.already_fixed


def _counts(counter: Counter[str]) -> Counts:
    return tuple((k, v) for k, v in counter.most_common() if k)


@dataclass
class _Group:
    rows: list[_Row] = field(default_factory=list)

    def messages(self) -> int:
        return sum(r.messages for r in self.rows)

    def count(self, key: Any) -> Counter[str]:
        counter: Counter[str] = Counter()
        for row in self.rows:
            counter[key(row)] += row.messages
        return counter


class _Advisor:
    """The DNS-backed fixes, each asked once per call: recommendations and analyses per domain."""

    def __init__(self, resolver: Resolver, platform: str) -> None:
        self.resolver = resolver
        self.platform = platform
        self.missing: dict[str, list[str]] = {}  # envelope domain -> providers whose include lacks
        self.in_use: dict[str, list[str]] = {}  # policy domain -> providers seen sending for it
        self._recs: dict[tuple[str, tuple[str, ...]], SpfRecommendation] = {}

    def recommendation(self, domain: str, keys: list[str]) -> SpfRecommendation:
        wanted = tuple(dict.fromkeys([self.platform, *keys]))
        if (domain, wanted) not in self._recs:
            self._recs[(domain, wanted)] = recommend(domain, list(wanted), resolver=self.resolver)
        return self._recs[(domain, wanted)]

    def actions(self, d: _Draft) -> list[Action]:
        provider = catalogue.get(d.provider) if d.provider else None
        category = d.category
        out: list[Action] = []
        if category is Category.SPF_INCLUDE_MISSING and provider is not None:
            rec = self.recommendation(d.envelope, self.missing.get(d.envelope, [provider.key]))
            names = [catalogue.get(k).name for k in rec.added] or [provider.name]
            out.append(fixes.add_spf_include(rec, names))
            if not d.dkim_pass:
                out.append(fixes.setup_dkim(provider, d.domain))
        elif category is Category.SPF_BROKEN:
            out.append(self._spf_broken(d))
        elif category in (Category.SPF_NOT_ALIGNED, Category.DKIM_NOT_ALIGNED):
            if provider is not None:
                out.append(fixes.setup_dkim(provider, d.domain))
                path = fixes.custom_return_path(provider, d.domain, _region(d.envelope))
                if path is not None:
                    out.insert(0 if category is Category.SPF_NOT_ALIGNED else 1, path)
        elif category is Category.DKIM_MISSING:
            if provider is not None:
                out.append(fixes.setup_dkim(provider, d.domain))
        elif category is Category.DKIM_ONLY and provider is not None:
            path = fixes.custom_return_path(provider, d.domain, _region(d.envelope))
            if path is not None:
                out.append(path)
        elif category is Category.SPF_ONLY and provider is not None:
            out.append(fixes.setup_dkim(provider, d.domain))
        if not out:
            out.append(fixes.no_action(_no_action_message(d)))
        return out

    def _spf_broken(self, d: _Draft) -> Action:
        analysis = analyze(d.envelope, resolver=self.resolver)
        errors = [f for f in analysis.findings if f.severity is Severity.ERROR]
        if not errors:
            return fixes.no_action(
                f"{d.envelope}'s SPF record reads without errors today: the receivers' "
                f"'{d.spf_result}' was most likely a temporary DNS failure on their side, or the "
                "record has been fixed since. Watch the next reports."
            )
        keys = [k for k in self.in_use.get(d.domain, []) if k != self.platform]
        readable = analysis.record is not None or analysis.has("multiple_records")
        rec = self.recommendation(d.envelope, keys) if readable else None
        return fixes.fix_spf_record(analysis, rec)


def _region(envelope: str) -> str | None:
    """The SES region in an envelope domain such as eu-west-1.amazonses.com."""
    if envelope.endswith(".amazonses.com"):
        label = envelope.removesuffix(".amazonses.com").rpartition(".")[2]
        return label if label.count("-") >= 2 else None
    return None


_NOTHING = "Nothing to change for this source."


def _no_action_message(d: _Draft) -> str:
    if d.category is Category.FORWARDED:
        return "Nothing to change: forwarded mail is not yours to authorize."
    if d.category is Category.UNAUTHORIZED:
        return (
            "Do not authorize this source. Once your own senders pass, a stricter DMARC policy "
            "(quarantine, then reject) stops this mail."
        )
    if d.fixed:
        return "Nothing to change: already fixed in DNS; the next reports will show it passing."
    return _NOTHING


@dataclass
class _Draft:
    domain: str
    category: Category
    source: SourceId
    group: _Group
    envelope: str = ""
    spf_result: str = ""
    dkim_pass: bool = False
    fixed: int = 0

    @property
    def provider(self) -> str | None:
        return self.source.provider


def explain(
    records: pd.DataFrame,
    *,
    resolver: Resolver | None = None,
    enrichment: pd.DataFrame | None = None,
    platform: str = "trekmail",
) -> list[Diagnosis]:
    """Every source of every domain in `records`, diagnosed, worst first.

    `enrichment`: the table of `diagnostics.enrich.enrich` for these IPs (None: recognise providers
    by their SPF networks only). `platform`: the catalogue key of the platform's managed sending,
    kept in every recommended SPF record. Raises InvalidInput for an unknown `platform`."""
    try:
        platform_provider = catalogue.get(platform)
    except KeyError as exc:
        raise InvalidInput(str(exc.args[0])) from None
    if len(records) == 0:
        return []
    res = get_resolver(resolver)
    rows = _rows(_reduce(records))
    sources = identify((r.ip for r in rows), resolver=res, enrichment=enrichment)
    _today(rows, res)
    _classify(rows, sources, _hosted(rows, sources, res))

    drafts: dict[tuple[str, str, Category], _Draft] = {}
    totals: Counter[str] = Counter()
    advisor = _Advisor(res, platform_provider.key)
    for row in rows:
        source = sources[row.ip]
        totals[row.domain] += row.messages
        key = (row.domain, source.name, row.category)
        draft = drafts.get(key)
        if draft is None:
            draft = drafts[key] = _Draft(row.domain, row.category, source, _Group())
        draft.group.rows.append(row)
        if source.provider and row.category not in (Category.FORWARDED, Category.UNAUTHORIZED):
            used = advisor.in_use.setdefault(row.domain, [])
            if source.provider not in used:
                used.append(source.provider)
        if row.category is Category.SPF_INCLUDE_MISSING and source.provider:
            missing = advisor.missing.setdefault(row.envelope, [])
            if source.provider not in missing:
                missing.append(source.provider)

    diagnoses = [
        _diagnosis(d, totals[d.domain], advisor, platform_provider.name) for d in drafts.values()
    ]
    diagnoses = _with_policy_step(diagnoses, res, records)
    diagnoses.sort(key=lambda d: (d.domain, d.severity.rank, -d.messages, d.source))
    return diagnoses


def _diagnosis(d: _Draft, total: int, advisor: _Advisor, platform_name: str) -> Diagnosis:
    g = d.group
    messages = g.messages()
    envelopes = g.count(lambda r: r.envelope)
    results = g.count(lambda r: r.spf_result)
    d.envelope = envelopes.most_common(1)[0][0] if envelopes else d.domain
    d.spf_result = results.most_common(1)[0][0] if results else "none"
    d.dkim_pass = any(r.dkim_aligned for r in g.rows)
    d.fixed = sum(r.messages for r in g.rows if r.fixed)
    ips = g.count(lambda r: r.ip)
    dkim_domains: Counter[str] = Counter()
    unaligned: Counter[str] = Counter()
    org = _org(d.domain)
    for row in g.rows:
        for domain, result in zip(row.dkim_domains, row.dkim_results, strict=False):
            dkim_domains[f"{domain}={result}"] += row.messages
            if result == "pass" and _org(domain) != org:
                unaligned[domain] += row.messages
    overrides = Counter[str]()
    for row in g.rows:
        for reason in row.overrides:
            overrides[reason] += row.messages
    firsts = [r.first_seen for r in g.rows if r.first_seen is not None]
    lasts = [r.last_seen for r in g.rows if r.last_seen is not None]
    evidence = Evidence(
        messages=messages,
        ips=_counts(ips),
        spf_results=_counts(results),
        spf_aligned_pass=sum(r.messages for r in g.rows if r.spf_aligned),
        dkim_aligned_pass=sum(r.messages for r in g.rows if r.dkim_aligned),
        dmarc_pass=sum(r.messages for r in g.rows if r.spf_aligned or r.dkim_aligned),
        dispositions=_counts(g.count(lambda r: r.disposition)),
        envelope_domains=_counts(envelopes),
        dkim_domains=_counts(dkim_domains),
        override_reasons=_counts(overrides),
        authorized_today=sum(r.messages for r in g.rows if r.authorized_today),
        recognised_by=d.source.via,
        first_seen=min(firsts) if firsts else None,
        last_seen=max(lasts) if lasts else None,
    )
    provider = catalogue.get(d.provider) if d.provider else None
    facts = Facts(
        domain=d.domain,
        source=d.source.name,
        provider_name=provider.name if provider else None,
        envelope=d.envelope,
        dkim_domain=unaligned.most_common(1)[0][0] if unaligned else None,
        spf_result=d.spf_result,
        messages=messages,
        ips=len(ips),
        already_fixed=d.fixed,
        platform_name=platform_name,
        still_failing=sum(r.messages for r in g.rows if r.authorized_today is False),
    )
    dmarc_fails = any(not (r.dkim_aligned or r.spf_aligned) for r in g.rows)
    return Diagnosis(
        domain=d.domain,
        category=d.category,
        source=d.source.name,
        provider=d.provider,
        ips=tuple(ip for ip, _ in ips.most_common()),
        messages=messages,
        share=messages / total if total else 0.0,
        explanation=explanation(d.category, facts),
        evidence=evidence,
        actions=tuple(advisor.actions(d)),
        severity=severity_of(d.category, dmarc_fails=dmarc_fails),
        already_fixed=d.fixed,
    )


def _with_policy_step(
    diagnoses: list[Diagnosis], resolver: Resolver, records: pd.DataFrame
) -> list[Diagnosis]:
    """Attach `tighten_policy` to each domain's largest passing legitimate source when the domain
    is ready for the next DMARC step (`readiness`)."""
    out = list(diagnoses)
    for domain in dict.fromkeys(d.domain for d in diagnoses):
        state = readiness(
            domain, out, resolver=resolver, fallback=_reported_policy(records, domain)
        )
        if state.record is None:
            continue
        mine = [i for i, d in enumerate(out) if d.domain == domain and d.passes_today]
        # A source with nothing else to do carries the step, so its fix stands alone.
        clean = [i for i in mine if out[i].category.dmarc_passes] or mine
        target = max(clean, key=lambda i: out[i].messages)
        current = out[target]
        kept = tuple(a for a in current.actions if a.message != _NOTHING)
        action = fixes.tighten_policy(domain, state.record, state.message)
        out[target] = replace(current, actions=(*kept, action))
    return out


def _reported_policy(records: pd.DataFrame, domain: str) -> str | None:
    """The p= the receivers applied, from the reports: used when DNS has no readable record."""
    if "policy_p" not in records.columns or "policy_domain" not in records.columns:
        return None
    pairs = records[["policy_domain", "policy_p"]].drop_duplicates()
    for name, value in pairs.itertuples(index=False, name=None):
        if str(name).lower() == domain and isinstance(value, str) and value:
            return value.lower()
    return None
