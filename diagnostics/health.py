"""Domain health at a glance: SPF, DKIM, DMARC and MX of a sending domain, for the providers it uses.

    check_domain(domain, *, providers=None, selectors=None, platform="trekmail", resolver=None,
                 hosts=()) -> DomainHealth
    await check_domain_async(...) -> DomainHealth

Each part gets one status (ok / warning / error) and findings in plain words, each with the exact
change to make (the record to publish). The parts:

- SPF: the analysis of the domain's record, and for each provider (and the platform) whether it is
  authorized where its mail is SPF-checked, as the catalogue's `spf_at_from_domain` says: a
  provider whose envelope sender is the From domain (Mailgun, the mailbox providers, the platform)
  must be in its record (an error when missing); one whose mail is checked on its own domain or a
  return path, but whose or the platform's guidance asks for the include (SendGrid), is a warning
  that says why it is not a DMARC failure; one that says never (SES, Postmark) is not asked for:
  its custom return path (MAIL FROM) is what aligns SPF, given as exact records (the region from
  the account's SMTP `hosts`). Resend's include goes on its return-path subdomain. The record to
  publish comes from `diagnostics.spf.recommend`.
- DKIM: the platform's selector (`PLATFORM_SELECTOR`, the key TrekMail signs with), each
  provider's fixed selectors from the catalogue, and the selectors given in `selectors` (those
  seen signing in the domain's DMARC reports, `diagnostics.dmarc.selectors_seen`, key "" for a
  sender no provider names); selectors a provider makes up per customer (SES tokens, Postmark's
  NNNNpm) can only be checked when given. The part is an error only when no key a receiver could
  verify with is published: one working key is enough for DKIM (and DMARC) to pass, so a missing
  second key is a warning.
- DMARC: `diagnostics.dmarc.record.check_dmarc`.
- MX: the domain receives mail (replies, bounces; some receivers distrust From domains that
  cannot), and every exchange has an address.

The check is one DNS flow (diagnostics/_flow.py) made of the flows of its parts, each of which is
also a check of its own (`spf.analyze`, `spf.recommend`, `dkim.check_selector`, `check_dmarc`):
the async driver runs the parts, and the look-ups within a part that do not depend on each other,
concurrently. `check_domain` runs that same async check through the library's sync bridge
(diagnostics/_sync.py), so it keeps the concurrency, also from inside a running event loop (a
notebook).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from diagnostics import providers as catalogue
from diagnostics._flow import Flow, run_flow_async, together
from diagnostics._sync import run_sync
from diagnostics.dkim import SelectorCheck, selector_flow
from diagnostics.dmarc.record import DmarcCheck
from diagnostics.dmarc.record import record_flow as dmarc_flow
from diagnostics.dns import Answer, Resolver, Status, get_resolver, normalize_name
from diagnostics.errors import InvalidInput
from diagnostics.findings import Finding, Severity
from diagnostics.provider_records import return_path_records
from diagnostics.providers import PLATFORM, EnvelopeOwner, Provider, SpfAtFromDomain
from diagnostics.spf import SpfAnalysis, SpfRecommendation
from diagnostics.spf.analyze import walk as analysis_flow
from diagnostics.spf.recommend import recommendation_flow
from diagnostics.spf.tree import MAX_LOOKUPS
from diagnostics.verdict import Verdict, verdict_of

__all__ = [
    "PLATFORM",
    "PLATFORM_SELECTOR",
    "DomainHealth",
    "Part",
    "Verdict",
    "check_domain",
    "check_domain_async",
]

# The selector TrekMail signs customer domains with: TXT trekmail._domainkey.<domain>, as the
# catalogue says; used when a catalogue entry for the platform names none.
PLATFORM_SELECTOR = "trekmail"

_PART_LABELS = {"spf": "SPF", "dkim": "DKIM", "dmarc": "DMARC", "mx": "MX"}
_LITERAL = re.compile(r"[a-z0-9-]+")


@dataclass(frozen=True, slots=True)
class Part:
    """One part of the health check: `name` (spf, dkim, dmarc, mx: a code), one `status`, a
    one-line `summary` and the `findings`, errors first. `label` is the name as a person reads it."""

    name: str
    status: Verdict
    summary: str
    findings: tuple[Finding, ...] = ()

    @property
    def label(self) -> str:
        return _PART_LABELS.get(self.name, self.name.upper())

    def to_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "label": self.label,
            "status": self.status.value,
            "summary": self.summary,
            "findings": [f.to_dict() for f in self.findings],
        }


@dataclass(frozen=True, slots=True)
class DomainHealth:
    """The four parts, plus what they rest on for a page that wants the details: the SPF
    analysis and recommendation, every DKIM selector checked, the DMARC check, the MX records."""

    domain: str
    providers: tuple[str, ...]
    spf: Part
    dkim: Part
    dmarc: Part
    mx: Part
    spf_analysis: SpfAnalysis | None = None
    spf_recommendation: SpfRecommendation | None = None
    dkim_selectors: tuple[SelectorCheck, ...] = ()
    dmarc_check: DmarcCheck | None = None
    mx_records: tuple[tuple[int, str], ...] = field(default=())

    @property
    def parts(self) -> tuple[Part, ...]:
        return (self.spf, self.dkim, self.dmarc, self.mx)

    @property
    def status(self) -> Verdict:
        """The worst status of the four parts."""
        order = (Verdict.ERROR, Verdict.WARNING, Verdict.OK)
        return next(v for v in order if any(p.status is v for p in self.parts))

    @property
    def findings(self) -> tuple[Finding, ...]:
        every = [f for part in self.parts for f in part.findings]
        return tuple(sorted(every, key=lambda f: f.severity.rank))

    def to_dict(self) -> dict[str, object]:
        return {
            "domain": self.domain,
            "providers": list(self.providers),
            "status": self.status.value,
            "parts": {p.name: p.to_dict() for p in self.parts},
            "spf_record": self.spf_analysis.record if self.spf_analysis else None,
            "spf_recommended": (
                self.spf_recommendation.record if self.spf_recommendation else None
            ),
            "dkim_selectors": [s.to_dict() for s in self.dkim_selectors],
            "dmarc": self.dmarc_check.to_dict() if self.dmarc_check else None,
            "mx": [{"preference": p, "exchange": h} for p, h in self.mx_records],
        }


def _part(name: str, findings: list[Finding], ok: str, problem: str) -> Part:
    findings = sorted(findings, key=lambda f: f.severity.rank)
    status = verdict_of(findings)
    return Part(name, status, ok if status is Verdict.OK else problem, tuple(findings))


# --- SPF -------------------------------------------------------------------------------------


def _return_path(
    domain: str, provider: Provider, region: str | None = None
) -> Flow[Finding | None]:
    """For a provider whose envelope sender is its own domain: is its custom return path (with
    a fixed label) published, so SPF aligns? If not, the exact records that set it up (`region`:
    the account's, for a provider whose records name one). Numbered labels (SendGrid's emNNNN)
    cannot be guessed; the recommendation's notes already explain them."""
    rp = provider.return_path
    if rp is None or not _LITERAL.fullmatch(rp.label):
        return None
    name = f"{rp.label}.{domain}"
    answer: Answer = yield (name, rp.record_type)
    targets = [h for _, h in answer.mx] if rp.record_type == "MX" else list(answer.records)
    pattern = re.escape(rp.target).replace(re.escape("{region}"), r"[a-z0-9-]+")
    if any(re.fullmatch(pattern, t, re.IGNORECASE) for t in targets):
        return Finding(
            "return_path_aligned",
            Severity.INFO,
            f"{provider.name}: the custom return path {name} is set up, so SPF for its mail "
            f"is checked on your domain and aligns.",
            name,
        )
    records = return_path_records(provider, domain, region)
    listed = "; ".join(f'{r.name} {r.rdtype} "{r.value}"' for r in records)
    fill_in = next((r.fill_in for r in records if r.fill_in), None)
    what = "a custom MAIL FROM domain" if rp.record_type == "MX" else "a custom return path"
    return Finding(
        "return_path_missing",
        Severity.INFO,
        f"{provider.name}: no custom return path at {name} ({answer.describe()}), so SPF for its "
        f"mail passes on {provider.envelope.domain or 'its own domain'} and does not align with "
        f"{domain}; DMARC then relies on DKIM. To align SPF too, set up {what} in "
        f"{provider.name} and publish: {listed}."
        + (f" Fill in what is in angle brackets: {fill_in}." if fill_in else ""),
        name,
    )


def _include_findings(domain: str, recommendation: SpfRecommendation) -> list[Finding]:
    """The includes the recommendation adds, said as the catalogue's `spf_at_from_domain` rates
    them: a required one missing fails SPF (an error); an advised one does not fail DMARC, and
    the warning says why (never-ones are not added at all)."""
    added = [catalogue.get(k) for k in recommendation.added]
    required = [p for p in added if p.spf_at_from_domain is not SpfAtFromDomain.ADVISED]
    advised = [p for p in added if p.spf_at_from_domain is SpfAtFromDomain.ADVISED]
    if recommendation.record is None:
        if not added:
            return []
        return [
            Finding(
                "provider_not_authorized",
                Severity.ERROR if required else Severity.WARNING,
                f"{domain}'s SPF record does not authorize "
                f"{', '.join(p.name for p in added)}, and no record can be proposed: "
                f"{' '.join(recommendation.notes)}",
            )
        ]
    replacing = (
        f" (it replaces the current record, {recommendation.current})"
        if recommendation.current
        else ""
    )
    publish = (
        f"Publish this TXT record at {recommendation.domain}{replacing}: {recommendation.record}"
    )
    found: list[Finding] = []
    if required:
        includes = " ".join(f"include:{p.spf_include}" for p in required)
        found.append(
            Finding(
                "provider_not_authorized",
                Severity.ERROR,
                f"{domain}'s SPF record does not authorize "
                f"{' or '.join(p.name for p in required)} ({includes}), so "
                f"{'its' if len(required) == 1 else 'their'} mail fails SPF. {publish}",
                includes,
            )
        )
    for provider in advised:
        include = f"include:{provider.spf_include}"
        where = provider.envelope.domain or "its own domain"
        bounce = (
            " (or, once its custom return path is set up, on that subdomain of yours)"
            if provider.return_path is not None
            else ""
        )
        found.append(
            Finding(
                "provider_include_advised",
                Severity.WARNING,
                f"{domain}'s SPF record does not list {provider.name} ({include}). This is not "
                f"a DMARC failure: {provider.name}'s mail is SPF-checked on {where}{bounce}, "
                f"not on {domain}, so DMARC passes or fails on that domain and on DKIM. "
                f"{provider.name}'s own guidance, and the platform's, still ask for the include "
                f"on {domain}. " + ("Publish the record above." if required else publish),
                include,
            )
        )
    return found


def _spf(
    domain: str, keys: list[str], regions: Mapping[str, str] | None = None
) -> Flow[tuple[Part, SpfAnalysis, SpfRecommendation | None]]:
    recommendation: SpfRecommendation | None = None
    if keys:
        analysis, recommendation = yield from together(
            analysis_flow(domain), recommendation_flow(domain, keys)
        )
    else:
        analysis = yield from analysis_flow(domain)
    findings = [f for f in analysis.findings if f.severity is not Severity.INFO]
    if recommendation is not None:
        findings.extend(_include_findings(domain, recommendation))
        for key in keys:
            provider = catalogue.get(key)
            if provider.envelope.owner is EnvelopeOwner.SUBDOMAIN:
                if key not in recommendation.already_authorized and recommendation.other_records:
                    wanted = "; ".join(
                        f'{r.rdtype} {r.name} "{r.value}"' for r in recommendation.other_records
                    )
                    findings.append(
                        Finding(
                            "return_path_not_authorized",
                            Severity.ERROR,
                            f"{provider.name} sends with a return-path subdomain, where SPF is "
                            f"checked; it is not set up. Publish: {wanted}",
                            provider.key,
                        )
                    )
            elif key in recommendation.already_authorized:
                findings.append(
                    Finding(
                        "provider_authorized",
                        Severity.INFO,
                        f"{provider.name} is authorized by {domain}'s SPF record.",
                        provider.key,
                    )
                )
        # A provider's include that publishes nothing is news the analysis above cannot have.
        findings.extend(
            f
            for f in recommendation.findings
            if f.code == "include_without_record" and f not in findings
        )
        if recommendation.changed and recommendation.lookups_after > MAX_LOOKUPS:
            findings.append(
                Finding(
                    "recommended_record_too_long",
                    Severity.WARNING,
                    f"With every provider added the record needs {recommendation.lookups_after} "
                    f"DNS look-ups, over the limit of {MAX_LOOKUPS}. Ways out, best first: "
                    + " ".join(recommendation.ways_out),
                )
            )
        extra = yield from together(
            *(
                _return_path(domain, catalogue.get(key), (regions or {}).get(key))
                for key in keys
                if catalogue.get(key).envelope.owner is EnvelopeOwner.PROVIDER
            )
        )
        findings.extend(f for f in extra if f is not None)
    summary_ok = f"{analysis.record} ({analysis.lookups} of {MAX_LOOKUPS} look-ups)"
    if analysis.record:
        problem = analysis.record
    elif any(f.code == "dns_error" for f in analysis.tree.findings):
        # No answer is not "no record": saying it has none would send people to add a second one.
        problem = f"{domain}'s SPF record could not be read"
    else:
        problem = f"{domain} publishes no SPF record"
    part = _part("spf", findings, summary_ok, problem)
    if part.status is not Verdict.OK and analysis.record:
        part = Part("spf", part.status, f"needs attention: {analysis.record}", part.findings)
    return part, analysis, recommendation


# --- DKIM ------------------------------------------------------------------------------------


def _signer(key: str) -> str:
    """Who signs with a key's selectors, as the findings name it ("" is a sender of the domain's
    reports no provider names)."""
    return catalogue.get(key).name if key else "A sender in your DMARC reports"


def _wanted_selectors(
    keys: list[str], given: Mapping[str, Sequence[str]], platform: str | None
) -> tuple[list[tuple[str, str, str | None]], list[Finding]]:
    """(provider key, selector, expected CNAME pattern) to check, and notes on selectors that
    cannot be guessed. A provider's catalogue selectors are checked with those given for it; the
    selectors given for a provider not named (or for "", no provider) are checked too: they are
    the ones the domain's reports show signing."""
    wanted: list[tuple[str, str, str | None]] = []
    notes: list[Finding] = []
    order = ([platform] if platform else []) + [k for k in keys if k != platform]
    order += [k for k in given if k not in order]
    for key in order:
        if not key:
            wanted.extend(("", selector, None) for selector in dict.fromkeys(given[key]))
            continue
        provider = catalogue.get(key)
        dkim = provider.dkim
        selectors = [s for s in dkim.selectors if _LITERAL.fullmatch(s)]
        if key == platform and not selectors:
            selectors = [PLATFORM_SELECTOR]
        selectors = list(dict.fromkeys([*selectors, *given.get(key, ())]))
        if not selectors:
            notes.append(
                Finding(
                    "selector_unknown",
                    Severity.INFO,
                    f"{provider.name} makes its DKIM selectors per domain ({dkim.description}); "
                    "give the selectors it shows to check them.",
                    key,
                )
            )
        for selector in selectors:
            if key in given and not dkim.matches_selector(selector):
                notes.append(
                    Finding(
                        "selector_unexpected",
                        Severity.INFO,
                        f"{selector!r} does not look like a {provider.name} selector "
                        f"({dkim.description}); checked anyway.",
                        selector,
                    )
                )
            expected = None
            if dkim.record_type == "CNAME" and dkim.target:
                expected = dkim.target.replace("{selector}", re.escape(selector.lower()))
            wanted.append((key, selector, expected))
    return wanted, notes


def _dkim(
    domain: str,
    keys: list[str],
    given: Mapping[str, Sequence[str]],
    platform: str | None,
) -> Flow[tuple[Part, tuple[SelectorCheck, ...]]]:
    wanted, findings = _wanted_selectors(keys, given, platform)
    checks = yield from together(
        *(selector_flow(domain, sel, expected_cname=exp) for _, sel, exp in wanted)
    )
    working = [c for c, w in zip(checks, wanted, strict=True) if c.status is not Verdict.ERROR]
    for check, (key, _, _) in zip(checks, wanted, strict=True):
        name = _signer(key)
        for finding in check.findings:
            severity = finding.severity
            message = f"{name}, selector {check.selector}: {finding.message}"
            if severity is Severity.ERROR and working:
                # Another key verifies, so mail still passes DKIM: worth fixing, not an outage.
                severity = Severity.WARNING
                message += f" (Mail signed with selector {working[0].selector} still passes DKIM.)"
            findings.append(Finding(finding.code, severity, message, check.name))
    if not checks:
        findings.append(
            Finding("no_selectors", Severity.WARNING, "No DKIM selector to check was given.")
        )
    elif not working:
        findings.append(
            Finding(
                "no_working_key",
                Severity.ERROR,
                f"No DKIM key a receiver could verify with is published for {domain}, so DKIM "
                "fails and DMARC depends on SPF alone (which breaks when mail is forwarded). "
                "Publish the key records listed above.",
            )
        )
    summary = ", ".join(f"{c.selector} ({c.status.value})" for c in checks) or "nothing checked"
    return _part("dkim", findings, summary, summary), checks


# --- DMARC and MX ----------------------------------------------------------------------------


def _alignment_findings(check: DmarcCheck, keys: list[str]) -> list[Finding]:
    """Strict SPF alignment (aspf=s) against providers whose mail is SPF-checked on a subdomain:
    such a pass can never align, so DMARC rests on DKIM alone for them."""
    record = check.record
    if record is None or record.aspf != "s":
        return []
    names = [
        catalogue.get(k).name
        for k in keys
        if catalogue.get(k).envelope.owner is EnvelopeOwner.SUBDOMAIN
        or (
            catalogue.get(k).envelope.owner is EnvelopeOwner.PROVIDER
            and catalogue.get(k).return_path is not None
        )
    ]
    if not names:
        return []
    return [
        Finding(
            "strict_spf_alignment",
            Severity.WARNING,
            f"aspf=s (strict SPF alignment): mail through {', '.join(names)} is SPF-checked on "
            f"a return-path subdomain of {check.domain}, which never matches the From domain "
            "exactly, so DMARC passes for that mail only through DKIM. Remove aspf=s (relaxed is the "
            "default) unless you mean it.",
            "aspf",
        )
    ]


def _dmarc_part(check: DmarcCheck, keys: list[str]) -> Part:
    extra = _alignment_findings(check, keys)
    if extra:
        findings = tuple(sorted((*check.findings, *extra), key=lambda f: f.severity.rank))
        check = DmarcCheck(
            check.domain,
            check.organizational_domain,
            check.found_at,
            check.record,
            verdict_of(findings),
            findings,
        )
    record = check.record
    if record is None:
        summary = "no usable DMARC record"
    else:
        summary = (
            f"p={check.applied_policy} pct={record.pct} adkim={record.adkim} aspf={record.aspf}"
        )
        if check.inherited:
            summary += f" (from {check.found_at})"
    return Part("dmarc", check.status, summary, check.findings)


def _mx(domain: str) -> Flow[tuple[Part, tuple[tuple[int, str], ...]]]:
    answer: Answer = yield (domain, "MX")
    findings: list[Finding] = []
    if answer.status.is_temporary:
        findings.append(
            Finding("dns_error", Severity.ERROR, f"MX of {domain}: {answer.describe()}.", domain)
        )
        return _part("mx", findings, "", "MX could not be read"), ()
    pairs = tuple(answer.mx) if answer.status is Status.OK else ()
    if not pairs:
        findings.append(
            Finding(
                "no_mx",
                Severity.WARNING,
                f"{domain} has no MX record: replies and bounces to it cannot be delivered, and "
                "some receivers distrust mail from a domain that cannot receive. Publish the MX "
                "records of your mailbox host.",
                domain,
            )
        )
    elif any(host in ("", ".") for _, host in pairs):
        findings.append(
            Finding(
                "null_mx",
                Severity.WARNING,
                f"{domain} publishes a null MX (RFC 7505): it declares it receives no mail. Many "
                "receivers reject mail whose From domain says so; remove it if you send from here.",
                domain,
            )
        )
    else:
        answers: list[Answer] = yield [
            (host, rdtype) for _, host in pairs for rdtype in ("A", "AAAA")
        ]
        for index, (_, host) in enumerate(pairs):
            a, aaaa = answers[2 * index], answers[2 * index + 1]
            if a.status is not Status.OK and aaaa.status is not Status.OK:
                findings.append(
                    Finding(
                        "mx_without_address",
                        Severity.WARNING,
                        f"The mail server {host} has no address ({a.describe()}); mail to "
                        f"{domain} through it cannot be delivered. Fix its A record or the MX.",
                        host,
                    )
                )
    summary = ", ".join(f"{p} {h}" for p, h in pairs) or "no MX"
    return _part("mx", findings, summary, summary), pairs


# --- the whole check -------------------------------------------------------------------------


def _keys(
    providers: Sequence[str] | None,
    platform: str | None,
    hosts: Sequence[str] = (),
    selectors: Mapping[str, Sequence[str]] | None = None,
) -> list[str]:
    keys = [catalogue.get(k).key for k in (providers or ())]  # KeyError names the known keys
    keys += [p.key for p in map(catalogue.match_host, hosts) if p is not None]
    for key in selectors or {}:
        if key:
            catalogue.get(key)
    if platform:
        catalogue.get(platform)
        keys = [platform, *[k for k in keys if k != platform]]
    return list(dict.fromkeys(keys))


def _regions(hosts: Sequence[str]) -> dict[str, str]:
    """Provider key -> the region its SMTP host names, for the hosts that name one."""
    found: dict[str, str] = {}
    for host in hosts:
        provider = catalogue.match_host(host)
        region = provider.region_of(host) if provider is not None else None
        if provider is not None and region is not None:
            found.setdefault(provider.key, region)
    return found


def _health(
    name: str,
    keys: list[str],
    selectors: Mapping[str, Sequence[str]],
    platform: str | None,
    regions: Mapping[str, str],
) -> Flow[DomainHealth]:
    """The whole check of the normalized `name` as one flow: the four parts side by side."""
    (spf, analysis, rec), (dkim, checks), dmarc, (mx, pairs) = yield from together(
        _spf(name, keys, regions),
        _dkim(name, keys, selectors, platform),
        dmarc_flow(name),
        _mx(name),
    )
    return DomainHealth(
        domain=name,
        providers=tuple(keys),
        spf=spf,
        dkim=dkim,
        dmarc=_dmarc_part(dmarc, keys),
        mx=mx,
        spf_analysis=analysis,
        spf_recommendation=rec,
        dkim_selectors=checks,
        dmarc_check=dmarc,
        mx_records=pairs,
    )


async def check_domain_async(
    domain: str,
    *,
    providers: Sequence[str] | None = None,
    selectors: Mapping[str, Sequence[str]] | None = None,
    platform: str | None = PLATFORM,
    resolver: Resolver | None = None,
    hosts: Sequence[str] = (),
) -> DomainHealth:
    """`check_domain` for asyncio."""
    try:
        name = normalize_name(domain)
        keys = _keys(providers, platform, hosts, selectors)
    except KeyError as exc:
        raise InvalidInput(str(exc.args[0])) from None
    flow = _health(name, keys, selectors or {}, platform, _regions(hosts))
    return await run_flow_async(flow, get_resolver(resolver))


def check_domain(
    domain: str,
    *,
    providers: Sequence[str] | None = None,
    selectors: Mapping[str, Sequence[str]] | None = None,
    platform: str | None = PLATFORM,
    resolver: Resolver | None = None,
    hosts: Sequence[str] = (),
) -> DomainHealth:
    """SPF, DKIM, DMARC and MX of `domain` for the `providers` it sends through (catalogue keys;
    the `platform` is always added). `selectors` maps a provider key to DKIM selectors to check
    besides the catalogue's (e.g. {"ses": [token1, token2, token3]}, or what
    `diagnostics.dmarc.selectors_seen` found in the domain's reports; key "" for a sender no
    provider names). `hosts`: the account's SMTP hosts; each the catalogue knows adds its
    provider and its region (SES's, for the exact custom MAIL FROM records).

    Raises InvalidInput for a name that cannot be a domain or an unknown provider key; every DNS
    outcome is reported in the result."""
    # The async driver, not the sync one: the parts' look-ups overlap instead of adding up.
    return run_sync(
        lambda: check_domain_async(
            domain,
            providers=providers,
            selectors=selectors,
            platform=platform,
            resolver=resolver,
            hosts=hosts,
        )
    )
