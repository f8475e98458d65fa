"""Explain every DMARC source of a domain: why it passes or fails, and exactly what to change.

    explain(records, *, providers=(), hosts=(), resolver=None, enrichment=None, cache=None,
            platform="trekmail") -> list[Diagnosis]

`records` is the table of `load_reports(...).records` (or the store's). The work, in order:

1. Reduce (`combos`): one vectorised groupby over the verdict columns sums the messages, so the
   rest of the work is per distinct (domain, IP, verdicts) combination, never per report row.
2. Sources (`sources.identify`): the service behind each IP, from the providers' own published SPF
   networks (compiled once per call; where DNS cannot read one, the catalogue's dated copy of it)
   and from `enrichment` (the table `diagnostics.enrich.enrich` returns; None means no reverse-DNS
   knowledge, only the SPF networks), or from the rows an enrichment `cache` already holds. Each diagnosis says when it rests on the weaker evidence,
   and an address no evidence names while an include was unreadable is `undetermined`.
3. Today's SPF: each envelope domain that belongs to the customer is compiled once and every IP
   checked in bulk, to tell "already fixed" from "still failing" (neither, when DNS failed).
4. Classify (`categories.classify`) and group by (domain, source, category): one `Diagnosis`
   each, with its explanation (`wording`), evidence and actions (`advice` picks, `actions`
   builds), worst first. A mailbox provider's address (Google, Microsoft, Zoho) failing SPF for a
   domain whose MX it is not and whose SPF never listed it is read with what else is known:
   - the account is configured to send through that provider (`providers`, `hosts`: its
     connections): the customer's own provider, whose include is missing, never a forward;
   - an aligned DKIM signature whose selector follows that provider's own convention (the
     catalogue's: Microsoft 365's selector1/selector2, Google's google): the same;
   - otherwise it counts as a forwarder (a signature with the platform's or another provider's
     selector says where it was signed); when the MX look-up failed (timeout, SERVFAIL), whether
     it hosts the domain is unknown, so it is `undetermined` and the explanation names the
     look-up.
   The receiver's own word that it forwarded a message (an override reason) stands above all.
   Each diagnosis says what it rests on (`Evidence.basis`) and how sure it is (`Confidence`).
   Whose network an address is in (offline IP data) is carried as `Evidence.network_owners` and
   said for unknown senders, but never decides a category: Amazon's network hosts spoofers too.
5. Policy readiness (`policy`): when every legitimate source passes, the largest passing source
   carries a `tighten_policy` action with the next DMARC record.

DNS goes through `resolver` only (its cache makes each name one question per call).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import replace

import pandas as pd

from diagnostics import providers as catalogue
from diagnostics.dmarc.explain import _actions as fixes
from diagnostics.dmarc.explain._advice import NOTHING, Advisor, Draft, Group
from diagnostics.dmarc.explain._categories import (
    FORWARD_REASONS,
    Category,
    Signals,
    classify,
    severity_of,
)
from diagnostics.dmarc.explain._combos import Combination, reduce_records, rows_of
from diagnostics.dmarc.explain._diagnosis import Confidence, Counts, Diagnosis, Evidence
from diagnostics.dmarc.explain._policy import reported_policies
from diagnostics.dmarc.explain._readiness import NOT_LEGITIMATE, readiness
from diagnostics.dmarc.explain._selectors import selectors_by_source
from diagnostics.dmarc.explain._setup import SendingSetup
from diagnostics.dmarc.explain._sources import (
    MAILBOX_MX,
    Hosting,
    SourceId,
    identify,
    is_address,
    mailbox_hosting,
)
from diagnostics.dmarc.explain._wording import Facts, explanation
from diagnostics.dns import Resolver, get_resolver
from diagnostics.domains import organizational_domain
from diagnostics.enrich import EnrichmentCache, NetworkOwner, canonical_ip, to_frame
from diagnostics.errors import InvalidInput
from diagnostics.providers import Provider
from diagnostics.spf.compile import compile as compile_spf

__all__ = ["Diagnosis", "Evidence", "explain"]


def _today(rows: list[Combination], resolver: Resolver) -> None:
    """Fill `authorized_today` for rows whose envelope domain is the customer's: one compile per
    envelope domain, one bulk check over its IPs."""
    wanted: dict[str, list[str]] = {}
    for row in rows:
        own = organizational_domain(row.envelope) == organizational_domain(row.header)
        row.own_envelope = bool(row.envelope) and own
        if row.own_envelope and is_address(row.ip):
            wanted.setdefault(row.envelope, []).append(row.ip)
    verdicts: dict[tuple[str, str], str] = {}
    for envelope, ips in wanted.items():
        distinct = list(dict.fromkeys(ips))
        results = compile_spf(envelope, resolver=resolver).check_many(distinct)
        verdicts.update({(envelope, ip): r for ip, r in zip(distinct, results, strict=True)})
    for row in rows:
        found = verdicts.get((row.envelope, row.ip))
        # temperror: today's record could not be read, which says nothing either way.
        row.authorized_today = None if found in (None, "temperror") else found == "pass"


def _hosted(
    rows: list[Combination], sources: dict[str, SourceId], resolver: Resolver
) -> dict[str, Hosting]:
    """Per domain, the mailbox providers its MX (or its organization's) points at; asked only for
    domains that mailbox-provider addresses sent for."""
    domains = {r.domain for r in rows if sources[r.ip].provider in MAILBOX_MX}
    return {d: mailbox_hosting([d, organizational_domain(d)], resolver) for d in sorted(domains)}


def _weakest(*found: Confidence) -> Confidence:
    return max(found, key=lambda c: c.rank)


def _recognised(source: SourceId) -> tuple[str, Confidence]:
    """How the address was recognised, in words, and how sure that is."""
    if source.provider is None:
        if source.via == "service":
            return f"named {source.name} by the enrichment's service map only", Confidence.POSSIBLE
        return (
            "no provider's published networks, reverse DNS or service map names the address",
            Confidence.LIKELY,
        )
    name = catalogue.get(source.provider).name
    if source.via == "spf":
        return f"the address is in {name}'s published SPF networks today", Confidence.CERTAIN
    if source.via == "catalogue" and source.as_of is not None:
        return (
            f"the address is in {name}'s networks as our catalogue copied them on "
            f"{source.as_of.isoformat()} (today's DNS could not read them)",
            Confidence.LIKELY,
        )
    if source.via == "ptr" and source.reverse_dns:
        return f"recognised as {name} by reverse DNS only ({source.reverse_dns})", (
            Confidence.POSSIBLE
        )
    return f"recognised as {name} by the enrichment's service name only", Confidence.POSSIBLE


def _signer(row: Combination) -> tuple[Provider, str] | None:
    """The provider whose own selector convention an aligned, passing DKIM signature follows,
    with the selector: who signed the message for the customer's domain."""
    org = organizational_domain(row.header)
    for signature in row.signatures:
        if signature.result != "pass" or not signature.selector:
            continue
        if organizational_domain(signature.domain) != org:
            continue
        found = catalogue.by_selector(signature.selector)
        if found is not None:
            return found, signature.selector
    return None


def _classify(
    rows: list[Combination],
    sources: dict[str, SourceId],
    hosted: dict[str, Hosting],
    setup: SendingSetup,
) -> None:
    for row in rows:
        source = sources[row.ip]
        key, service_type = source.provider, source.service_type
        unreadable = bool(source.unreadable)
        said, confidence = _recognised(source)
        basis = [said]
        if key is not None and key in setup:
            basis.insert(0, setup.says(key))
        hosting = hosted.get(row.domain, Hosting())
        if (
            key in MAILBOX_MX
            and key not in hosting.mailboxes
            and row.authorized_today is not True
            and not row.spf_aligned
        ):
            name = catalogue.get(key).name
            signer = _signer(row)
            if key in setup:
                pass  # the account's own connection says it sends through this provider
            elif signer is not None and signer[0].key == key:
                # Signed for the customer's domain with this provider's own selector: the
                # customer sends through it (a relay, its mailboxes hosted elsewhere).
                basis.insert(0, f"DKIM selector {signer[1]} is {name}'s")
                confidence = _weakest(confidence, Confidence.LIKELY)
            elif hosting.unreadable:
                # The MX that would say whether this provider hosts the domain's mailboxes (a
                # missing include) or not (a forward) could not be read: either is a guess.
                key, service_type, unreadable = None, None, True
                row.mx_unreadable = hosting.unreadable
            else:
                # A mailbox provider that neither hosts this domain's mail nor is in its SPF, nor
                # signed it: one of its users forwarded the message.
                key, service_type = None, "Email Provider"
                basis.append(
                    f"{name} does not host {row.domain}'s mail (its MX points elsewhere) and "
                    f"{row.envelope}'s SPF record does not list it"
                )
                if signer is not None:
                    basis.append(
                        f"DKIM selector {signer[1]} is {signer[0].name}'s: signed there, then "
                        f"relayed by {name}"
                    )
                confidence = _weakest(confidence, Confidence.LIKELY)
        provider = catalogue.get(key) if key else None
        org = organizational_domain(row.header)
        unaligned = any(
            result == "pass" and organizational_domain(domain) != org
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
            unreadable=unreadable,
        )
        row.category = classify(signals)
        row.fixed = signals.already_fixed
        row.owner = source.owner
        basis, confidence = _category_basis(row, source, basis, confidence)
        row.basis, row.confidence = basis, confidence


def _category_basis(
    row: Combination, source: SourceId, basis: list[str], confidence: Confidence
) -> tuple[list[str], Confidence]:
    """The evidence the category itself adds to how the sender was recognised."""
    category = row.category
    if category is Category.FORWARDED and row.overrides & FORWARD_REASONS:
        # The receiver's own word: nothing we infer is stronger.
        return ["the receiver reported it forwarded", *basis], Confidence.CERTAIN
    if category is Category.UNDETERMINED:
        unread = row.mx_unreadable or source.unreadable
        if unread:
            what = "MX record" if row.mx_unreadable else "SPF record"
            basis.append(f"today's DNS could not read the {what} of {', '.join(unread)}")
        return basis, Confidence.POSSIBLE
    if category is Category.SPF_INCLUDE_MISSING:
        basis.append(f"SPF failed on {row.envelope}, the customer's own envelope domain")
        if row.authorized_today is False:
            basis.append(f"today's SPF record of {row.envelope} still does not authorize it")
    if row.fixed:
        basis.append(f"today's SPF record of {row.envelope} authorizes it")
    return basis, confidence


def _counts(counter: Counter[str]) -> Counts:
    return tuple((k, v) for k, v in counter.most_common() if k)


def explain(
    records: pd.DataFrame,
    *,
    providers: Sequence[str] = (),
    hosts: Sequence[str] = (),
    resolver: Resolver | None = None,
    enrichment: pd.DataFrame | None = None,
    cache: EnrichmentCache | None = None,
    platform: str = "trekmail",
) -> list[Diagnosis]:
    """Every source of every domain in `records`, diagnosed, worst first.

    `enrichment`: the table of `diagnostics.enrich.enrich` for these IPs (None: recognise providers
    by their SPF networks only). `cache`: when `enrichment` is None, the rows an enrichment cache
    already holds for these IPs are used (reverse DNS stored by an earlier run; no DNS is sent).
    `platform`: the catalogue key of the platform's managed sending, kept in every recommended SPF
    record. `providers` and `hosts`: what the account is configured to send through, its
    connections as catalogue keys and as SMTP host names (a host names its provider, and its
    region where it carries one: SES's fills the custom MAIL FROM records). Evidence: a configured
    provider's address failing SPF on the customer's own envelope is a missing include, never a
    forward. Raises InvalidInput for an unknown `platform` or provider key."""
    try:
        platform_provider = catalogue.get(platform)
    except KeyError as exc:
        raise InvalidInput(str(exc.args[0])) from None
    setup = SendingSetup.of(providers, hosts)
    if len(records) == 0:
        return []
    res = get_resolver(resolver)
    rows = rows_of(reduce_records(records))
    if enrichment is None and cache is not None:
        enrichment = _cached(rows, cache)
    sources = identify((r.ip for r in rows), resolver=res, enrichment=enrichment)
    _today(rows, res)
    _classify(rows, sources, _hosted(rows, sources, res), setup)

    drafts: dict[tuple[str, str, Category], Draft] = {}
    totals: Counter[str] = Counter()
    advisor = Advisor(res, platform_provider.key, setup, selectors_by_source(rows, sources))
    for row in rows:
        source = sources[row.ip]
        totals[row.domain] += row.messages
        key = (row.domain, source.name, row.category)
        draft = drafts.get(key)
        if draft is None:
            draft = drafts[key] = Draft(row.domain, row.category, source, Group())
        draft.group.rows.append(row)
        if source.provider and row.category not in (
            Category.FORWARDED,
            Category.UNAUTHORIZED,
            Category.UNDETERMINED,
        ):
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


def _cached(rows: list[Combination], cache: EnrichmentCache) -> pd.DataFrame | None:
    """The cache's rows for the sources' addresses, keyed by the address as the reports spell it."""
    spelled: dict[str, str] = {}
    for row in rows:
        canonical = canonical_ip(row.ip)
        if canonical is not None:
            spelled.setdefault(canonical, row.ip)
    found = cache.get_many(list(spelled))
    if not found:
        return None
    return to_frame(replace(entry, ip=spelled[ip]) for ip, entry in found.items())


def _diagnosis(d: Draft, total: int, advisor: Advisor, platform_name: str) -> Diagnosis:
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
    org = organizational_domain(d.domain)
    for row in g.rows:
        for domain, result in zip(row.dkim_domains, row.dkim_results, strict=False):
            dkim_domains[f"{domain}={result}"] += row.messages
            if result == "pass" and organizational_domain(domain) != org:
                unaligned[domain] += row.messages
    overrides = Counter[str]()
    for row in g.rows:
        for reason in row.overrides:
            overrides[reason] += row.messages
    mx_unreadable = tuple(dict.fromkeys(name for r in g.rows for name in r.mx_unreadable))
    owners = _owners(g.rows)
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
        networks_as_of=d.source.as_of,
        unreadable=d.source.unreadable,
        mx_unreadable=mx_unreadable,
        network_owners=tuple(o.name for o in owners),
        basis=tuple(
            dict.fromkeys(
                said for row in sorted(g.rows, key=lambda r: -r.messages) for said in row.basis
            )
        ),
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
        evidence=_evidence(d.source),
        unreadable=d.source.unreadable,
        mx_unreadable=mx_unreadable,
        owner=owners[0] if owners else None,
        owner_provider=_company_provider(owners[0]) if owners else None,
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
        confidence=_weakest(*(r.confidence for r in g.rows)),
    )


def _owners(rows: list[Combination]) -> list[NetworkOwner]:
    """The distinct network owners of the rows' addresses, most messages first."""
    weight: Counter[NetworkOwner] = Counter()
    for row in rows:
        if row.owner is not None:
            weight[row.owner] += row.messages
    return [owner for owner, _ in weight.most_common()]


def _company_provider(owner: NetworkOwner) -> str | None:
    """The catalogue provider run by the company owning this network (by ASN): a label only."""
    found = catalogue.by_asn(owner.asn) if owner.asn is not None else None
    return found.name if found else None


def _evidence(source: SourceId) -> str:
    """The sentence saying how a source was recognised, when that is weaker than today's DNS."""
    include = catalogue.get(source.provider).spf_include if source.provider else None
    if include is not None and include in source.unreadable:
        dns = f"today's DNS could not read {include}"
    elif include is not None and include in source.absent:
        dns = f"today's DNS has no SPF record for {include}"
    else:
        dns = ""
    if source.via == "catalogue" and source.as_of is not None:
        return (
            f"Recognised as {source.name} by its published SPF networks as of "
            f"{source.as_of.isoformat()} (our catalogue's copy), because {dns}: weaker evidence "
            "than today's record."
        )
    if source.via == "ptr" and source.reverse_dns:
        because = f", because {dns}" if dns else ""
        return f"Recognised as {source.name} by reverse DNS {source.reverse_dns}{because}."
    return ""


def _with_policy_step(
    diagnoses: list[Diagnosis], resolver: Resolver, records: pd.DataFrame
) -> list[Diagnosis]:
    """Attach `tighten_policy` to each domain's largest passing legitimate source when the domain
    is ready for the next DMARC step (`readiness`)."""
    out = list(diagnoses)
    reported = reported_policies(records)
    for domain in dict.fromkeys(d.domain for d in diagnoses):
        state = readiness(domain, out, resolver=resolver, fallback=reported.get(domain))
        if state.step is None:  # not ready, or at p=reject already
            continue
        mine = [
            i
            for i, d in enumerate(out)
            if d.domain == domain and d.passes_today and d.category not in NOT_LEGITIMATE
        ]
        # A source with nothing else to do carries the step, so its fix stands alone.
        clean = [i for i in mine if out[i].category.dmarc_passes] or mine
        target = max(clean, key=lambda i: out[i].messages)
        current = out[target]
        kept = tuple(a for a in current.actions if a.message != NOTHING)
        action = fixes.tighten_policy(domain, state.record, state.message)
        out[target] = replace(current, actions=(*kept, action))
    return out
