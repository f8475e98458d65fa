"""A domain's DMARC record (RFC 7489): find it, read it, and say what it does and what to change.

    organizational_domain(domain) -> str                       public-suffix list, no DNS
    parse_dmarc(text) -> DmarcRecord                           pure: tags, values, findings
    check_dmarc(domain, *, resolver=None) -> DmarcCheck        the record in DNS, org-domain fallback,
    await check_dmarc_async(...) -> DmarcCheck                 external report destinations authorized?

Why not checkdmarc for the look-ups: `checkdmarc.dmarc.parse_dmarc_record` queries DNS while it
parses (report destinations, their MX) through `checkdmarc.utils.query_dns`, whose cache is one
process-wide dict keyed by name and type only, not by nameserver. Two resolvers (two users of a
page, two tests with different zones) would be served each other's answers. So DNS goes through our
`Resolver` (its own cache), and the record is parsed here: the grammar is a dozen tags.

Report destinations outside the domain's organizational domain must authorize it (RFC 7489 7.1):
`<domain>._report._dmarc.<destination>` TXT "v=DMARC1", or the wildcard `*._report._dmarc.<dest>`.
"""

from __future__ import annotations

import asyncio
import functools
import re
from collections.abc import Generator
from dataclasses import dataclass, field

from publicsuffixlist import PublicSuffixList

from diagnostics.dns import Answer, Resolver, Status, get_resolver, normalize_name
from diagnostics.findings import Finding, Severity
from diagnostics.verdict import Verdict, verdict_of

__all__ = [
    "DmarcCheck",
    "DmarcRecord",
    "ReportDestination",
    "check_dmarc",
    "check_dmarc_async",
    "organizational_domain",
    "parse_dmarc",
    "plan",
]

_POLICIES = ("none", "quarantine", "reject")
_MAILTO = re.compile(r"mailto:([^@\s!,]+@([^@\s!,]+?))(?:!(\d+[kmgt]?))?", re.IGNORECASE)


@functools.cache
def _psl() -> PublicSuffixList:
    # The list bundled with the package: reading it is a one-off cost, and it never fetches.
    return PublicSuffixList()


def organizational_domain(domain: str) -> str:
    """The registered domain above `domain` (RFC 7489 3.2): "mail.example.co.uk" -> "example.co.uk".
    A public suffix itself, or a name the list cannot place, is returned as it is."""
    clean = domain.strip().rstrip(".").lower()
    found = _psl().privatesuffix(clean)
    return str(found) if found else clean


@dataclass(frozen=True, slots=True)
class ReportDestination:
    """One rua/ruf address. `external` when its domain is outside the organizational domain of
    the policy domain; `authorized` is None until DNS was asked (and for internal ones)."""

    tag: str
    uri: str
    address: str
    domain: str
    external: bool
    authorized: bool | None = None


@dataclass(frozen=True, slots=True)
class DmarcRecord:
    """A parsed record. Defaults of RFC 7489 6.3 are filled in (sp defaults to p, pct to 100,
    adkim/aspf to relaxed); `policy` is None when p= is missing or invalid."""

    text: str
    tags: tuple[tuple[str, str], ...]
    policy: str | None
    subdomain_policy: str | None
    pct: int
    adkim: str
    aspf: str
    rua: tuple[ReportDestination, ...]
    ruf: tuple[ReportDestination, ...]
    findings: tuple[Finding, ...] = ()

    @property
    def valid(self) -> bool:
        return self.policy is not None and not any(f.code == "syntax_error" for f in self.findings)


@dataclass(frozen=True, slots=True)
class DmarcCheck:
    """The DMARC record that applies to `domain`. `found_at` is where it was found (`domain`
    itself, or its organizational domain by fallback); `applied_policy` is what receivers apply to
    mail from `domain` (sp= when inherited by a subdomain)."""

    domain: str
    organizational_domain: str
    found_at: str | None
    record: DmarcRecord | None
    status: Verdict
    findings: tuple[Finding, ...] = field(default=())

    @property
    def inherited(self) -> bool:
        return self.found_at is not None and self.found_at != self.domain

    @property
    def applied_policy(self) -> str | None:
        if self.record is None:
            return None
        return self.record.subdomain_policy if self.inherited else self.record.policy

    def to_dict(self) -> dict[str, object]:
        record = self.record
        return {
            "domain": self.domain,
            "organizational_domain": self.organizational_domain,
            "found_at": self.found_at,
            "status": self.status.value,
            "record": record.text if record else None,
            "policy": record.policy if record else None,
            "subdomain_policy": record.subdomain_policy if record else None,
            "applied_policy": self.applied_policy,
            "pct": record.pct if record else None,
            "adkim": record.adkim if record else None,
            "aspf": record.aspf if record else None,
            "rua": [_dest(d) for d in record.rua] if record else [],
            "ruf": [_dest(d) for d in record.ruf] if record else [],
            "findings": [f.to_dict() for f in self.findings],
        }


def _dest(d: ReportDestination) -> dict[str, object]:
    return {
        "uri": d.uri,
        "address": d.address,
        "external": d.external,
        "authorized": d.authorized,
    }


def _error(code: str, message: str, term: str | None = None) -> Finding:
    return Finding(code, Severity.ERROR, message, term)


def _uris(tag: str, value: str, org: str, findings: list[Finding]) -> list[ReportDestination]:
    found: list[ReportDestination] = []
    for raw in value.split(","):
        uri = raw.strip()
        match = _MAILTO.fullmatch(uri)
        if match is None:
            findings.append(
                _error(
                    "bad_report_uri",
                    f"{tag}={uri!r} is not a mailto: address, so no reports go there. "
                    f"Write it as {tag}=mailto:dmarc@{org}.",
                    tag,
                )
            )
            continue
        dest_domain = match.group(2).lower().rstrip(".")
        found.append(
            ReportDestination(
                tag=tag,
                uri=uri,
                address=match.group(1),
                domain=dest_domain,
                external=organizational_domain(dest_domain) != org,
            )
        )
    return found


def _choice(
    tags: dict[str, str], name: str, allowed: tuple[str, ...], findings: list[Finding]
) -> str | None:
    value = tags.get(name)
    if value is None:
        return None
    if value.lower() not in allowed:
        findings.append(
            _error(
                "syntax_error",
                f"{name}={value} is not one of {', '.join(allowed)}; receivers ignore it.",
                name,
            )
        )
        return None
    return value.lower()


def parse_dmarc(text: str, *, domain: str | None = None) -> DmarcRecord:
    """Parse a DMARC TXT value. `domain` (the policy domain) lets report addresses be judged
    internal or external; without it every address counts as external."""
    org = organizational_domain(domain) if domain else ""
    findings: list[Finding] = []
    pairs: list[tuple[str, str]] = []
    for part in text.split(";"):
        if not part.strip():
            continue
        name, eq, value = part.partition("=")
        name = name.strip().lower()
        if not eq or not re.fullmatch(r"[a-z]+", name):
            findings.append(
                _error("syntax_error", f"{part.strip()!r} is not a tag=value pair.", part.strip())
            )
            continue
        pairs.append((name, value.strip()))
    tags = dict(pairs)
    if not pairs or pairs[0] != ("v", "DMARC1"):
        findings.append(
            _error(
                "syntax_error",
                'The record must start with "v=DMARC1" (exactly, and first); receivers ignore '
                "it otherwise.",
                "v",
            )
        )
    policy = _choice(tags, "p", _POLICIES, findings)
    if "p" not in tags:
        findings.append(
            _error(
                "no_policy",
                "The record has no p= tag, so receivers ignore it. Add p=none to start monitoring.",
                "p",
            )
        )
    subdomain_policy = _choice(tags, "sp", _POLICIES, findings) or policy
    pct = 100
    if "pct" in tags:
        if tags["pct"].isdigit() and 0 <= int(tags["pct"]) <= 100:
            pct = int(tags["pct"])
        else:
            findings.append(
                _error("syntax_error", f"pct={tags['pct']} must be a number from 0 to 100.", "pct")
            )
    adkim = _choice(tags, "adkim", ("r", "s"), findings) or "r"
    aspf = _choice(tags, "aspf", ("r", "s"), findings) or "r"
    rua = _uris("rua", tags["rua"], org, findings) if tags.get("rua") else []
    ruf = _uris("ruf", tags["ruf"], org, findings) if tags.get("ruf") else []
    return DmarcRecord(
        text=text,
        tags=tuple(pairs),
        policy=policy,
        subdomain_policy=subdomain_policy,
        pct=pct,
        adkim=adkim,
        aspf=aspf,
        rua=tuple(rua),
        ruf=tuple(ruf),
        findings=tuple(findings),
    )


def _is_dmarc(text: str) -> bool:
    return re.match(r"\s*v\s*=\s*DMARC1\b", text, re.IGNORECASE) is not None


Questions = list[tuple[str, str]]
# The checking logic asks for DNS answers in batches (questions that do not depend on each other)
# and never touches a socket: the sync driver asks them in turn, the async one concurrently.
Plan = Generator[Questions, list[Answer], "DmarcCheck"]


def _drive(plan: Plan, resolver: Resolver) -> DmarcCheck:
    try:
        batch = next(plan)
        while True:
            batch = plan.send([resolver.query(name, rdtype) for name, rdtype in batch])
    except StopIteration as done:
        result: DmarcCheck = done.value
        return result


async def _drive_async(plan: Plan, resolver: Resolver) -> DmarcCheck:
    try:
        batch = next(plan)
        while True:
            answers = await asyncio.gather(*(resolver.aquery(n, t) for n, t in batch))
            batch = plan.send(list(answers))
    except StopIteration as done:
        result: DmarcCheck = done.value
        return result


def _dmarc_records(answer: Answer) -> list[str]:
    return [r for r in answer.records if _is_dmarc(r)]


def _authorized(exact: Answer, wildcard: Answer) -> bool | None:
    if any(_is_dmarc(r) for r in (*exact.records, *wildcard.records)):
        return True
    if exact.status.is_temporary:
        return None
    return False


def _policy_findings(check_domain: str, record: DmarcRecord, inherited: bool) -> list[Finding]:
    findings: list[Finding] = []
    policy = record.subdomain_policy if inherited else record.policy
    tag = "sp" if inherited and "sp" in dict(record.tags) else "p"
    if policy == "none":
        findings.append(
            Finding(
                "policy_none",
                Severity.WARNING,
                f"The policy for {check_domain} is none ({tag}=none): receivers only report, "
                "they do not act on mail that fails DMARC, so anyone can still send as this "
                "domain. Once the reports show your sources pass, move to quarantine, then "
                "reject.",
                tag,
            )
        )
    elif record.pct < 100:
        findings.append(
            Finding(
                "pct_partial",
                Severity.WARNING,
                f"pct={record.pct}: the {policy} policy applies to only {record.pct}% of failing "
                "mail; the rest gets the next weaker policy (reject becomes quarantine, "
                "quarantine becomes none). Raise it to 100 when the reports look clean.",
                "pct",
            )
        )
    if not inherited and record.policy != "none" and record.subdomain_policy == "none":
        findings.append(
            Finding(
                "subdomains_unprotected",
                Severity.WARNING,
                f"sp=none: {check_domain} itself is protected (p={record.policy}), but mail "
                f"from any subdomain (e.g. billing.{check_domain}) that fails DMARC is still "
                f"delivered. Remove sp= or set sp={record.policy}.",
                "sp",
            )
        )
    if not record.rua:
        findings.append(
            Finding(
                "no_rua",
                Severity.WARNING,
                "No rua= address: nobody receives the aggregate reports that show which sources "
                f"fail. Add rua=mailto:dmarc-reports@{organizational_domain(check_domain)}.",
                "rua",
            )
        )
    if inherited:
        findings.append(
            Finding(
                "inherited",
                Severity.INFO,
                f"{check_domain} has no DMARC record of its own; the one of its organizational "
                f"domain applies, with its subdomain policy sp={record.subdomain_policy}.",
            )
        )
    return findings


def plan(domain: str) -> Plan:
    """The check of an already normalized `domain` as a generator of DNS question batches."""
    org = organizational_domain(domain)
    findings: list[Finding] = []
    found_at: str | None = domain
    (answer,) = yield [(f"_dmarc.{domain}", "TXT")]
    records = _dmarc_records(answer)
    if not records and not answer.status.is_temporary and org != domain:
        (answer,) = yield [(f"_dmarc.{org}", "TXT")]
        records = _dmarc_records(answer)
        found_at = org
    if answer.status.is_temporary or answer.status is Status.INVALID_NAME:
        findings.append(
            _error(
                "dns_error",
                f"The DMARC record of {domain} could not be read: {answer.describe()}.",
                answer.name,
            )
        )
        return DmarcCheck(domain, org, None, None, Verdict.ERROR, tuple(findings))
    if not records:
        findings.append(
            _error(
                "no_record",
                f"{domain} publishes no DMARC record"
                + (f" (nor does {org})" if org != domain else "")
                + ", so receivers have no policy "
                "and send no reports. Publish this TXT record at "
                f'_dmarc.{org}: "v=DMARC1; p=none; rua=mailto:dmarc-reports@{org}"',
                f"_dmarc.{org}",
            )
        )
        return DmarcCheck(domain, org, None, None, Verdict.ERROR, tuple(findings))
    if len(records) > 1:
        findings.append(
            _error(
                "multiple_records",
                f"_dmarc.{found_at} has {len(records)} DMARC records; receivers then ignore all "
                "of them (RFC 7489 6.6.3). Keep exactly one.",
                f"_dmarc.{found_at}",
            )
        )
        return DmarcCheck(domain, org, found_at, None, Verdict.ERROR, tuple(findings))
    assert found_at is not None
    record = parse_dmarc(records[0], domain=found_at)
    findings.extend(record.findings)
    if record.valid:
        findings.extend(_policy_findings(domain, record, found_at != domain))
    external = [d for d in (*record.rua, *record.ruf) if d.external]
    questions: Questions = []
    for dest in external:
        questions.append((f"{found_at}._report._dmarc.{dest.domain}", "TXT"))
        questions.append((f"*._report._dmarc.{dest.domain}", "TXT"))
    answers = (yield questions) if questions else []
    checked = {
        dest.uri: _authorized(answers[2 * i], answers[2 * i + 1]) for i, dest in enumerate(external)
    }
    rua = tuple(_with(d, checked) for d in record.rua)
    ruf = tuple(_with(d, checked) for d in record.ruf)
    for dest in (*rua, *ruf):
        if dest.authorized is False:
            findings.append(
                Finding(
                    "external_destination_unauthorized",
                    Severity.WARNING,
                    f"{dest.tag}={dest.uri} sends reports to {dest.domain}, outside {org}, and "
                    f"{dest.domain} has not agreed to take them, so receivers drop those reports "
                    f"(RFC 7489 7.1). {dest.domain} must publish this TXT record at "
                    f'{found_at}._report._dmarc.{dest.domain}: "v=DMARC1" (your report service '
                    "usually does this when you add the domain there).",
                    dest.uri,
                )
            )
    record = _replace_destinations(record, rua, ruf)
    findings.sort(key=lambda f: f.severity.rank)
    return DmarcCheck(domain, org, found_at, record, verdict_of(findings), tuple(findings))


def _with(dest: ReportDestination, checked: dict[str, bool | None]) -> ReportDestination:
    if not dest.external:
        return dest
    return ReportDestination(
        dest.tag, dest.uri, dest.address, dest.domain, dest.external, checked.get(dest.uri)
    )


def _replace_destinations(
    record: DmarcRecord,
    rua: tuple[ReportDestination, ...],
    ruf: tuple[ReportDestination, ...],
) -> DmarcRecord:
    return DmarcRecord(
        record.text,
        record.tags,
        record.policy,
        record.subdomain_policy,
        record.pct,
        record.adkim,
        record.aspf,
        rua,
        ruf,
        record.findings,
    )


def _clean(domain: str) -> str | None:
    try:
        return normalize_name(domain)
    except ValueError:
        return None


def _invalid(domain: str) -> DmarcCheck:
    finding = _error("invalid_domain", f"{domain!r} is not a domain name.", domain)
    return DmarcCheck(domain, domain, None, None, Verdict.ERROR, (finding,))


async def check_dmarc_async(domain: str, *, resolver: Resolver | None = None) -> DmarcCheck:
    """`check_dmarc` for asyncio (the look-ups for report destinations run concurrently)."""
    clean = _clean(domain)
    if clean is None:
        return _invalid(domain)
    return await _drive_async(plan(clean), get_resolver(resolver))


def check_dmarc(domain: str, *, resolver: Resolver | None = None) -> DmarcCheck:
    """The DMARC record that applies to `domain`, read and checked; every outcome is a value."""
    clean = _clean(domain)
    if clean is None:
        return _invalid(domain)
    return _drive(plan(clean), get_resolver(resolver))
