"""The SPF record a domain should publish so the providers it sends through are authorized.

    recommend(domain, providers, *, resolver=None, platform=PLATFORM, return_path=False)
        -> SpfRecommendation
    await recommend_async(...) -> SpfRecommendation
    recommendation_flow(domain, providers, ...) -> Generator[...]  the same as one DNS flow

`providers` are catalogue keys (`diagnostics.providers`). The new record keeps every existing term
in its order and the `all` qualifier, and inserts each missing include just before `all` (or
before redirect=, or at the end). The includes it adds are in one canonical order whatever order
the caller names the providers in: the `platform` first, then the catalogue's order, so one set of
providers gives the same record, byte for byte, on every page and command.

Which includes belong on a From domain follows the catalogue's `spf_at_from_domain`: required and
advised ones are added; a provider that says never (SES, Postmark: their mail is SPF-checked on
their own envelope domain, where it passes) is left out (`left_out`), with a note naming the
custom MAIL FROM / return path that aligns its SPF instead. With `return_path=True` the domain is
a return-path (MAIL FROM) domain of the providers, where every include belongs. A provider counts as already authorized when the current tree
reaches its include anywhere (e.g. through a company-wide _spf record), or when the ranges the
tree lists cover every range of the provider's include: found by walking the tree, never by
matching text. An include today's DNS cannot read (timeout, SERVFAIL), or finds no record for while
the catalogue confirms it, is still added, with a note; an unconfirmed include without a record is
left out. Providers whose envelope sender is always a return-path subdomain (Resend) get
their records listed for that subdomain instead of the domain's own record.

When the result needs more than 10 look-ups, `.ways_out` lists, in this order: includes that
authorize nothing the named providers need, providers that can move to their return-path
subdomain, and a flattened record (only for trees without macros, exists or ptr; its ranges need
upkeep).
"""

from __future__ import annotations

import re
from collections.abc import Generator, Sequence
from dataclasses import dataclass

from diagnostics import providers as catalogue
from diagnostics._flow import Question, run_flow, run_flow_async
from diagnostics.dns import Answer, Resolver, get_resolver
from diagnostics.errors import InvalidInput
from diagnostics.findings import Finding, Severity
from diagnostics.providers import PLATFORM, EnvelopeOwner, Provider, SpfAtFromDomain
from diagnostics.spf.analyze import walk
from diagnostics.spf.lint import MAX_RECORD_BYTES, covered_by, txt_strings
from diagnostics.spf.record import is_spf_record, parse_record
from diagnostics.spf.tree import MAX_LOOKUPS, SpfAnalysis, SpfNode

__all__ = ["DnsRecord", "SpfRecommendation", "recommend", "recommend_async", "recommendation_flow"]

_ALL = re.compile(r"[+\-~?]?all", re.IGNORECASE)
_REDIRECT = re.compile(r"redirect=", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class DnsRecord:
    """A record to publish: at `name`, of type `rdtype`, with `value`; `why` in plain words.

    `template`: some part of it is not known to the desk (a provider's per-account token, a
    region no connection or report shows), so it is not ready to publish: the unknown part is
    written in angle brackets in words (`feedback-smtp.<your SES region>.amazonses.com`), never
    as something that looks real, and `fill_in` says where to find it. A page shows a template
    as such, without a copy button."""

    name: str
    rdtype: str
    value: str
    why: str
    template: bool = False
    fill_in: str | None = None

    def to_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "type": self.rdtype,
            "value": self.value,
            "why": self.why,
            "template": self.template,
            "fill_in": self.fill_in,
        }


@dataclass(frozen=True, slots=True)
class SpfRecommendation:
    """`domain`: where `record` goes (the From domain). `current`: what it publishes now (None
    when it has no SPF record). `record`: the exact TXT value to publish (None when none can be
    proposed; `notes` say why), `strings` the same cut into 255-byte strings for DNS editors that
    want them. `lookups_after`: what `record` costs, its whole tree counted. `already_authorized`
    and `added`: provider keys. `other_records`: records for other names (return-path
    subdomains). `findings`: problems the proposed record still has, plus provider problems.
    `ways_out`: when over 10 look-ups, the options in order; `flattened` the flattened variant.
    `left_out`: provider keys whose include does not belong on this domain (their
    `spf_at_from_domain` is never), so it was not added; the notes say what aligns them instead.
    """

    domain: str
    current: str | None
    record: str | None
    lookups_after: int
    already_authorized: tuple[str, ...]
    added: tuple[str, ...]
    notes: tuple[str, ...]
    findings: tuple[Finding, ...]
    other_records: tuple[DnsRecord, ...] = ()
    ways_out: tuple[str, ...] = ()
    flattened: str | None = None
    strings: tuple[str, ...] = ()
    left_out: tuple[str, ...] = ()

    @property
    def changed(self) -> bool:
        return self.record is not None and self.record != self.current

    def to_dict(self) -> dict[str, object]:
        return {
            "domain": self.domain,
            "current": self.current,
            "record": self.record,
            "changed": self.changed,
            "lookups_after": self.lookups_after,
            "already_authorized": list(self.already_authorized),
            "added": list(self.added),
            "left_out": list(self.left_out),
            "notes": list(self.notes),
            "findings": [f.to_dict() for f in self.findings],
            "other_records": [r.to_dict() for r in self.other_records],
            "ways_out": list(self.ways_out),
            "flattened": self.flattened,
        }


def recommend(
    domain: str,
    providers: Sequence[str],
    *,
    resolver: Resolver | None = None,
    platform: str | None = PLATFORM,
    return_path: bool = False,
) -> SpfRecommendation:
    """The SPF record `domain` should publish to authorize `providers` (catalogue keys).

    `platform`: the catalogue key of the platform's managed sending, whose include comes first
    when it is among `providers` (it is not added otherwise: a caller for a domain on the platform
    names it). `return_path`: `domain` is the providers' return-path (MAIL FROM) domain, not a
    From domain, so every include goes on it.

    Raises InvalidInput for a provider key the catalogue does not know (the message lists them);
    every DNS outcome, a bad domain name included, is reported in the result instead.
    """
    steps = recommendation_flow(domain, providers, platform=platform, return_path=return_path)
    return run_flow(steps, get_resolver(resolver))


async def recommend_async(
    domain: str,
    providers: Sequence[str],
    *,
    resolver: Resolver | None = None,
    platform: str | None = PLATFORM,
    return_path: bool = False,
) -> SpfRecommendation:
    """`recommend` for asyncio."""
    steps = recommendation_flow(domain, providers, platform=platform, return_path=return_path)
    return await run_flow_async(steps, get_resolver(resolver))


@dataclass(frozen=True, slots=True)
class _Include:
    """A provider include the record needs, with what its own tree costs and authorizes."""

    provider: Provider
    domain: str
    tree: SpfAnalysis


def recommendation_flow(
    domain: str,
    providers: Sequence[str],
    *,
    platform: str | None = PLATFORM,
    return_path: bool = False,
) -> Generator[Question, Answer, SpfRecommendation]:
    """The recommendation as a generator of DNS questions (driven like `check_host`)."""
    chosen = _providers(providers, platform)
    current = yield from walk(domain)
    name = current.domain
    unreadable = any(f.code in ("invalid_domain", "dns_error") for f in current.tree.findings)
    if current.record is None and unreadable:
        why = current.tree.findings[0].message
        return SpfRecommendation(
            name, None, None, 0, (), (), (f"No record can be proposed: {why}",), current.findings
        )
    notes: list[str] = []
    findings: list[Finding] = []
    other: list[DnsRecord] = []
    authorized: list[str] = []
    left_out: list[str] = []
    needed: list[_Include] = []
    texts = yield from _current_texts(name, current)
    base = current.tree
    if len(texts) > 1:
        # Several records: what they authorize together is what the merged record will.
        merged, _ = _build(texts, [])
        base = (yield from walk(name, record=merged)).tree
    for provider in chosen:
        include = provider.spf_include
        if include is None:
            continue
        if provider.envelope.owner is EnvelopeOwner.SUBDOMAIN:
            done = yield from _subdomain(provider, name, notes, other)
            if done:
                authorized.append(provider.key)
            continue
        if provider.spf_at_from_domain is SpfAtFromDomain.NEVER and not return_path:
            left_out.append(provider.key)
            notes.append(_left_out_note(provider, name))
            continue
        shared = next((i for i in needed if i.domain == include), None)
        if shared is not None:  # two providers with one include (SparkPost US and EU): add once
            needed.append(_Include(provider, include, shared.tree))
            notes.extend(_envelope_notes(provider, name))
            continue
        tree = yield from walk(include)
        if _authorizes(base, include, tree):
            authorized.append(provider.key)
            notes.append(_already_note(provider, base, include, name))
        elif tree.record is None and _trusted(provider, tree):
            # Today's DNS failed to read it (timeout, SERVFAIL), or answers for no such include
            # although the provider's documentation confirms it (a filtered or sandboxed
            # resolver): leaving it out would propose a record that still fails this provider.
            needed.append(_Include(provider, include, tree))
            notes.append(
                f"{provider.name}'s include {include} could not be read today "
                f"({tree.tree.error}); it is added as {provider.name} documents it ({provider.docs}), "
                "and the look-up count leaves out its own look-ups until it can be read."
            )
        elif tree.record is None:
            findings.append(_missing_include(provider, include, tree))
        else:
            needed.append(_Include(provider, include, tree))
        notes.extend(_envelope_notes(provider, name))
    additions = list(dict.fromkeys(i.domain for i in needed))
    added = tuple(dict.fromkeys(i.provider.key for i in needed))
    record, build_notes = _build(texts, additions)
    notes.extend(build_notes)
    if record is None:
        return SpfRecommendation(
            name,
            current.record,
            None,
            current.lookups,
            tuple(authorized),
            (),
            tuple(notes),
            tuple(findings) + current.findings,
            tuple(other),
            left_out=tuple(left_out),
        )
    after = yield from walk(name, record=record)
    findings = list(after.findings) + findings
    ways_out: list[str] = []
    flattened = None
    if after.lookups > MAX_LOOKUPS:
        ways_out, flattened = _ways_out(after, chosen, name)
        notes.append(
            f"The proposed record needs {after.lookups} DNS look-ups, over the limit of "
            f"{MAX_LOOKUPS}: receivers would give 'permerror'. See the ways out, in order of "
            "preference."
        )
    findings.sort(key=lambda f: f.severity.rank)
    return SpfRecommendation(
        domain=name,
        current=current.record,
        record=record,
        lookups_after=after.lookups,
        already_authorized=tuple(authorized),
        added=added,
        notes=tuple(dict.fromkeys(notes)),
        findings=tuple(findings),
        other_records=tuple(other),
        ways_out=tuple(ways_out),
        flattened=flattened,
        strings=txt_strings(record),
        left_out=tuple(left_out),
    )


def _providers(keys: Sequence[str], platform: str | None) -> list[Provider]:
    """The providers named, each once, in the canonical order: the platform first, then the
    catalogue's order (so the includes a record gains never depend on how a caller listed them)."""
    if isinstance(keys, str):
        keys = [keys]  # a single key passed bare: treat it as a list of one, not of letters
    chosen: list[Provider] = []
    for key in keys:
        try:
            provider = catalogue.get(key)
        except KeyError as exc:
            raise InvalidInput(str(exc.args[0])) from None
        if provider not in chosen:
            chosen.append(provider)
    order = {key: index for index, key in enumerate(catalogue.keys())}
    return sorted(chosen, key=lambda p: (p.key != platform, order[p.key]))


def _left_out_note(provider: Provider, domain: str) -> str:
    """Why a provider whose include never belongs on the From domain was not added, and what
    aligns its SPF instead."""
    where = provider.envelope.domain or f"{provider.name}'s own domain"
    text = (
        f"{provider.name}'s include (include:{provider.spf_include}) is not added: its mail is "
        f"SPF-checked on its own envelope domain ({where}), where it passes, so the include on "
        f"{domain} would change nothing for DMARC. DMARC passes for its mail through DKIM for "
        f"{domain}"
    )
    if provider.return_path is not None:
        text += (
            f"; to align SPF too, set up a custom return path "
            f"({provider.return_path.description.rstrip('.')})"
        )
    return text + "."


def _authorizes(tree: SpfNode, include: str, provider_tree: SpfAnalysis) -> bool:
    """Whether the current tree already covers the provider: it reaches the include somewhere, or
    (a flattened record) its own ranges cover every range the provider's include lists."""
    if tree.find(include) is not None:
        return True
    theirs = provider_tree.authorized_networks()
    if not theirs or not provider_tree.tree.is_static():
        return False
    ours = tree.authorized_networks()
    return all(covered_by(network, ours) is not None for network in theirs)


def _already_note(provider: Provider, tree: SpfNode, include: str, domain: str) -> str:
    node = tree.find(include)
    if node is None:
        return (
            f"{provider.name} is already authorized: the ranges {domain} lists cover every "
            f"range of include:{include}. Those ranges were copied from the provider (flattened) "
            "and must be kept up to date by hand."
        )
    path = [n.via for n in _path(tree, node) if n.via]
    through = " -> ".join(path)
    return f"{provider.name} is already authorized ({domain} -> {through})."


def _path(tree: SpfNode, target: SpfNode) -> list[SpfNode]:
    if tree is target:
        return [tree]
    for child in tree.children:
        found = _path(child, target)
        if found:
            return [tree, *found]
    return []


def _trusted(provider: Provider, tree: SpfAnalysis) -> bool:
    """An include without a readable record that still belongs in the record: DNS failed to
    answer (temporary), or the include is confirmed against the provider's documentation."""
    failed = any(f.code == "dns_error" for f in tree.findings)
    return failed or provider.is_confirmed("spf_include")


def _missing_include(provider: Provider, include: str, tree: SpfAnalysis) -> Finding:
    reason = tree.tree.error or "no SPF record"
    hedge = (
        ""
        if provider.is_confirmed("spf_include")
        else " This include is not confirmed against the provider's documentation."
    )
    return Finding(
        "include_without_record",
        Severity.ERROR,
        f"{provider.name}'s SPF include {include} has no usable SPF record right now ({reason}), "
        "so adding it would make receivers give 'permerror'. It was left out; check "
        f"{provider.docs} for the current include and try again.{hedge}",
        f"include:{include}",
    )


def _envelope_notes(provider: Provider, domain: str) -> list[str]:
    notes: list[str] = []
    if not provider.is_confirmed("spf_include"):
        notes.append(
            f"include:{provider.spf_include} for {provider.name} is not confirmed against the "
            f"provider's documentation; check {provider.docs}."
        )
    owner = provider.envelope.owner
    return_path = provider.return_path
    if owner is EnvelopeOwner.PROVIDER:
        where = provider.envelope.domain or f"{provider.name}'s own domain"
        text = (
            f"{provider.name} uses its own envelope sender ({where}) by default: SPF for its "
            f"mail is checked on that domain and does not align with {domain}, so DMARC relies "
            "on DKIM until you set up a custom return path"
        )
        if return_path is not None:
            text += f" ({return_path.description.rstrip('.')})"
        notes.append(text + ".")
    elif owner is EnvelopeOwner.CUSTOMER and provider.key.startswith("mailgun"):
        notes.append(
            f"{provider.name} uses the sending domain you registered with it as the envelope "
            f"sender. If that is a subdomain (e.g. mg.{domain}), publish the include on that "
            f"subdomain's SPF record instead of {domain}'s."
        )
    return notes


def _subdomain(
    provider: Provider, domain: str, notes: list[str], other: list[DnsRecord]
) -> Generator[Question, Answer, bool]:
    """Providers whose envelope sender is always LABEL.domain: check and list its records."""
    return_path = provider.return_path
    include = provider.spf_include
    if return_path is None or include is None:
        return False
    sub = f"{return_path.label}.{domain}"
    found = yield from walk(sub)
    if found.tree.find(include) is not None:
        notes.append(
            f"{provider.name} sends with the envelope sender {sub}, whose SPF record already "
            f"includes {include}. Nothing to change on {domain} for it."
        )
        return True
    value = return_path.spf or f"v=spf1 include:{include} ~all"
    other.append(DnsRecord(sub, "TXT", value, f"SPF for {provider.name}'s return-path subdomain"))
    if return_path.record_type == "MX":
        unknown = return_path.needs_region
        other.append(
            DnsRecord(
                sub,
                "MX",
                "10 " + return_path.target_for(unknown=f"<{provider.name}'s region>"),
                f"bounces for {provider.name}",
                template=unknown,
                fill_in=f"{provider.name} shows this record, region included, when you add the "
                "domain"
                if unknown
                else None,
            )
        )
    notes.append(
        f"{provider.name} always sends with the envelope sender {sub}, so its SPF include goes "
        f"on {sub}, not on {domain}: publish the records listed for {sub}."
    )
    return False


def _current_texts(name: str, current: SpfAnalysis) -> Generator[Question, Answer, list[str]]:
    """The SPF record texts the domain publishes now (several when it wrongly has more)."""
    if current.record is not None:
        return [current.record]
    if not current.has("multiple_records"):
        return []
    answer = yield (name, "TXT")
    # DNS returns a record set in any order: sort, so the same data always gives the same advice.
    return sorted(text for text in answer.records if is_spf_record(text))


def _build(texts: list[str], additions: list[str]) -> tuple[str | None, list[str]]:
    """The new record text and notes about how it was made."""
    includes = [f"include:{domain}" for domain in additions]
    if not texts:
        if not includes:
            return None, [
                "The domain has no SPF record and no provider needs one added; name the "
                "providers you send through to get a record."
            ]
        return " ".join(["v=spf1", *includes, "-all"]), []
    notes: list[str] = []
    if len(texts) > 1:
        tokens = _merge(texts)
        notes.append(
            f"The domain publishes {len(texts)} SPF records; the proposed record merges them "
            "(ending with ~all when they ended differently). Publish it and delete the others."
        )
    else:
        tokens = [t for t in texts[0].split(" ") if t][1:]
        if not parse_record(texts[0]).is_valid:
            notes.append(
                "The current record has syntax errors (see the findings); the proposed record "
                "keeps every term as it was, so correct those terms too."
            )
    present = {t.lower() for t in tokens}
    includes = [i for i in includes if i.lower() not in present]
    at = next((i for i, t in enumerate(tokens) if _ALL.fullmatch(t)), None)
    if at is None:
        at = next((i for i, t in enumerate(tokens) if _REDIRECT.match(t)), len(tokens))
    tokens[at:at] = includes
    return " ".join(["v=spf1", *tokens]), notes


def _merge(texts: list[str]) -> list[str]:
    """Terms of several records as one: every term once, in order, one `all` at the end, one
    redirect= only when no record has `all`. When the records end differently, ~all: the merged
    record authorizes senders that only one of them listed, so start soft and tighten later."""
    terms: list[str] = []
    finals: set[str] = set()
    redirect: str | None = None
    for text in texts:
        for token in [t for t in text.split(" ") if t][1:]:
            if _ALL.fullmatch(token):
                finals.add(token.lower().lstrip("+") if token[0] in "+-~?" else "all")
            elif _REDIRECT.match(token):
                redirect = redirect or token
            elif token.lower() not in {t.lower() for t in terms}:
                terms.append(token)
    if finals:
        return [*terms, finals.pop() if len(finals) == 1 else "~all"]
    return [*terms, redirect] if redirect is not None else terms


def _ways_out(
    after: SpfAnalysis, chosen: list[Provider], domain: str
) -> tuple[list[str], str | None]:
    ways: list[str] = []
    wanted = {p.spf_include for p in chosen if p.spf_include}
    tree = after.tree
    for child in tree.children:
        if not child.via or not child.via.lower().startswith(("include:", "+include:")):
            continue
        if any(child.find(include) is not None for include in wanted):
            continue
        nothing = not child.authorized_networks() and child.is_static()
        reason = (
            "authorizes no address at all" if nothing else "is not one of the providers you named"
        )
        ways.append(
            f"Remove {child.via}: it {reason}. If nothing you still use sends through it, "
            f"that saves {_cost(child)} look-ups."
        )
    for provider in chosen:
        node = tree.find(provider.spf_include) if provider.spf_include else None
        if node is None:
            continue
        if provider.key.startswith("mailgun"):
            # Mailgun's envelope sender is the domain registered with it: register a subdomain.
            ways.append(
                f"Send {provider.name} mail from a subdomain registered in Mailgun (e.g. "
                f"mg.{domain}); its envelope sender and SPF include then live on that subdomain, "
                f"so {node.via} can leave {domain}: saves {_cost(node)} look-ups."
            )
            continue
        if provider.return_path is None or provider.envelope.owner is not EnvelopeOwner.PROVIDER:
            continue
        ways.append(
            f"Move {provider.name} to its return-path subdomain "
            f"({provider.return_path.description.rstrip('.')}). "
            f"Its mail is then SPF-checked there, so {node.via} can leave {domain}: saves "
            f"{_cost(node)} look-ups."
        )
    flattened = _flatten(after)
    if flattened is not None:
        size = len(flattened.encode("utf-8"))
        split = (
            f" It is {size} bytes, over the {MAX_RECORD_BYTES} that fit safely in one answer: "
            f"split the ranges over two records (e.g. _spf1.{domain} and _spf2.{domain}) and "
            "include those, 2 look-ups."
            if size > MAX_RECORD_BYTES
            else ""
        )
        ways.append(
            "Publish the flattened record: the same ranges written out as ip4/ip6, no look-ups "
            "at all. Warning: providers change their ranges without notice, so a flattened "
            "record needs upkeep (re-check it at least monthly) or their mail starts failing "
            f"SPF.{split}"
        )
    else:
        ways.append(
            "A flattened record is not offered: the tree uses macros, exists or ptr, whose "
            "matches cannot be written out as ranges."
        )
    return ways, flattened


def _cost(node: SpfNode) -> int:
    """Look-ups saved by removing the term that leads to `node` (the term itself plus its tree)."""
    return 1 + node.total_lookups


def _flatten(after: SpfAnalysis) -> str | None:
    """The tree as one record of ranges, when that is the same policy: static, and only "+" terms
    besides the final all (a "-ip4" or "~include" cannot be flattened into a list of passes)."""
    tree = after.tree
    if not tree.is_static():
        return None
    final: str | None = None
    for node in tree.walk():
        if node.record is None:
            return None
        record = parse_record(node.record)
        for mech in record.mechanisms:
            if mech.name == "all":
                continue
            if mech.qualifier.value != "+":
                return None
        if node is tree or (node.via or "").startswith("redirect="):
            all_term = record.all_term
            final = all_term.text if all_term is not None else final
    networks = [
        f"ip{network.version}:{network.network_address}"
        + ("" if network.prefixlen == network.max_prefixlen else f"/{network.prefixlen}")
        for network in after.authorized_networks()
    ]
    return " ".join(["v=spf1", *networks, final or "~all"])
