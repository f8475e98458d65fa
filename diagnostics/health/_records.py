"""The four record parts of the health check as DNS flows: SPF, DKIM, DMARC and MX (see the
package's docstring for what each one checks)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from diagnostics import providers as catalogue
from diagnostics._flow import Flow, together
from diagnostics.dkim import SelectorCheck, selector_flow
from diagnostics.dmarc.record import DmarcCheck
from diagnostics.dns import Answer, Status
from diagnostics.findings import Finding, Severity
from diagnostics.health._result import Part, make_part
from diagnostics.provider_records import return_path_records
from diagnostics.providers import EnvelopeOwner, Provider, SpfAtFromDomain
from diagnostics.spf import SpfAnalysis, SpfRecommendation
from diagnostics.spf.analyze import walk as analysis_flow
from diagnostics.spf.recommend import recommendation_flow
from diagnostics.spf.tree import MAX_LOOKUPS
from diagnostics.verdict import Verdict, verdict_of

__all__ = ["PLATFORM_SELECTOR", "dkim_flow", "dmarc_part", "mx_flow", "spf_flow"]

# The selector TrekMail signs customer domains with: TXT trekmail._domainkey.<domain>, as the
# catalogue says; used when a catalogue entry for the platform names none.
PLATFORM_SELECTOR = "trekmail"

_LITERAL = re.compile(r"[a-z0-9-]+")


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


def spf_flow(
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
    part = make_part("spf", findings, summary_ok, problem)
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


def dkim_flow(
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
    return make_part("dkim", findings, summary, summary), checks


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


def dmarc_part(check: DmarcCheck, keys: list[str]) -> Part:
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


def mx_flow(domain: str) -> Flow[tuple[Part, tuple[tuple[int, str], ...]]]:
    answer: Answer = yield (domain, "MX")
    findings: list[Finding] = []
    if answer.status.is_temporary:
        findings.append(
            Finding("dns_error", Severity.ERROR, f"MX of {domain}: {answer.describe()}.", domain)
        )
        return make_part("mx", findings, "", "MX could not be read"), ()
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
    return make_part("mx", findings, summary, summary), pairs
