"""SPF analysis of a domain: walk its whole include/redirect tree, count look-ups, find mistakes.

    analyze(domain, *, resolver=None, record=None) -> SpfAnalysis
    await analyze_async(domain, *, resolver=None, record=None) -> SpfAnalysis
    walk(domain, *, record=None) -> Generator[Question, Answer, SpfAnalysis]   a DNS flow

`record=` analyses that text as if `domain` published it (what `recommend` does with the record it
proposes), with everything it includes fetched from DNS as usual.

Unlike `check_host`, which follows the path one IP takes, this visits every term of every record,
so the totals are what the worst-case evaluation spends. Counting follows RFC 7208 4.6.4:

- include, a, mx, ptr, exists and redirect= cost one look-up each, wherever they sit, also after
  an `all` (checkers and some receivers count them; they are reported as terms_after_all);
- the query that fetches an included or redirected record is part of that one look-up, and the
  first query for the domain's own record costs nothing;
- exp= costs nothing (it is fetched only after a fail, outside the limit);
- the addresses of MX hosts cost nothing, but an mx term naming more than 10 MX hosts is a
  permerror;
- void look-ups (no such name, or no records) are counted over the whole tree, includes too: a
  or mx (for an IPv4 client: its A query), exists. More than 2 is a permerror.

Every outcome is a value. A name that cannot exist, a DNS time-out, garbage bytes in a TXT record:
each becomes a finding (codes in `diagnostics.spf.tree` and `lint`, plus `invalid_domain` and
`dns_error`), never an exception.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Generator
from dataclasses import dataclass, field

from diagnostics._flow import Question, run_flow, run_flow_async
from diagnostics.dns import Answer, Resolver, Status, get_resolver, normalize_name
from diagnostics.errors import InvalidInput
from diagnostics.findings import Finding, Severity
from diagnostics.spf.lint import covered_by, length_findings, record_findings, txt_strings
from diagnostics.spf.macro import MacroContext, MacroSyntaxError, expand_domain
from diagnostics.spf.record import Mechanism, SpfRecord, is_spf_record, parse_record
from diagnostics.spf.tree import MAX_LOOKUPS, MAX_VOID_LOOKUPS, Network, SpfAnalysis, SpfNode

__all__ = ["analyze", "analyze_async", "walk"]

_MAX_MX_NAMES = 10
# Bounds on a pathological tree (an include chain that never ends, a fan of hundreds of includes):
# well past the point where the look-up limit has already failed the record.
_MAX_DEPTH = 20
_MAX_NODES = 120
# Letters whose value depends on the connecting IP: a target using them cannot be fetched ahead.
_IP_LETTERS = frozenset("icvp")


def analyze(
    domain: str, *, resolver: Resolver | None = None, record: str | None = None
) -> SpfAnalysis:
    """Analyse the SPF record of `domain` and everything it includes or redirects to."""
    return run_flow(walk(domain, record=record), get_resolver(resolver))


async def analyze_async(
    domain: str, *, resolver: Resolver | None = None, record: str | None = None
) -> SpfAnalysis:
    """`analyze` for asyncio: DNS through `Resolver.query_async`."""
    return await run_flow_async(walk(domain, record=record), get_resolver(resolver))


@dataclass
class _Crossing:
    """Where a limit was crossed: the term, the domain it sits in, and the top-level term of the
    analysed domain under which it happened (what the person must change)."""

    term: str
    domain: str
    top: str | None


@dataclass
class _State:
    root: str
    sender: str
    record: str | None = None  # replaces the root's published TXT when given
    lookups: int = 0
    voids: int = 0
    nodes: int = 0
    top: str | None = None
    lookup_crossing: _Crossing | None = None
    void_crossing: _Crossing | None = None
    included: dict[str, str] = field(default_factory=dict)  # target -> where first included
    findings: list[Finding] = field(default_factory=list)
    truncated: bool = False

    def count_lookup(self, term: str, domain: str) -> None:
        self.lookups += 1
        if self.lookups == MAX_LOOKUPS + 1:
            self.lookup_crossing = _Crossing(term, domain, self.top)

    def count_void(self, term: str, domain: str) -> None:
        self.voids += 1
        if self.voids == MAX_VOID_LOOKUPS + 1:
            self.void_crossing = _Crossing(term, domain, self.top)


@dataclass
class _Builder:
    """A node while its record is being walked."""

    domain: str
    lookups: int = 0
    voids: int = 0
    networks: list[Network] = field(default_factory=list)
    children: list[SpfNode] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    static: bool = True


def walk(domain: str, *, record: str | None = None) -> Generator[Question, Answer, SpfAnalysis]:
    """The analysis as a generator of DNS questions (see `diagnostics.spf.engine` for the idea)."""
    try:
        name = _host_name(str(domain))
    except InvalidInput as exc:
        finding = Finding(
            "invalid_domain",
            Severity.ERROR,
            f"{exc} Check the spelling: only the domain part of an address (after the @) goes "
            "here.",
        )
        node = SpfNode(str(domain), None, error=str(exc), findings=(finding,))
        return SpfAnalysis(str(domain), None, 0, 0, node, (finding,))
    state = _State(root=name, sender=f"postmaster@{name}", record=record)
    tree = yield from _node(state, name, via=None, qualifier="+", policy=True, ancestors=())
    # Skipped when the domain's DNS is not answering: one time-out is enough to report that.
    unanswered = any(f.code == "dns_error" for f in tree.findings) and tree.record is None
    legacy = None if unanswered else (yield (name, "SPF"))
    if legacy is not None and any(is_spf_record(text) for text in legacy.records):
        state.findings.append(
            Finding(
                "deprecated_spf_rr",
                Severity.WARNING,
                f"{name} publishes a DNS record of type SPF (type 99). That type was retired in "
                "2014 (RFC 7208 3.1) and receivers ignore it; only the TXT record counts. Delete "
                "the SPF-type record so nobody edits it instead of the TXT record.",
            )
        )
    state.findings.extend(_limit_findings(state, name))
    state.findings.extend(_tree_overlaps(tree))
    if state.truncated:
        state.findings.append(
            Finding(
                "too_many_lookups",
                Severity.ERROR,
                f"The SPF tree of {name} has more than {_MAX_NODES} records or is more than "
                f"{_MAX_DEPTH} includes deep; the analysis stopped there. No receiver evaluates "
                "a tree this large: it fails with permerror.",
            )
        )
    every = [f for node in tree.walk() for f in node.findings] + state.findings
    every.sort(key=lambda f: f.severity.rank)
    return SpfAnalysis(name, tree.record, state.lookups, state.voids, tree, tuple(every))


def _host_name(domain: str) -> str:
    """`normalize_name`, refusing also what DNS could carry but no mail domain has (spaces,
    control characters). A pasted address ("info@example.com") means its domain."""
    name = normalize_name(domain.strip().rpartition("@")[2])
    if not _HOST.fullmatch(name):
        raise InvalidInput(
            f"{domain.strip()!r} is not a domain name: only letters, digits, hyphens, "
            "underscores and dots may appear in one."
        )
    return name


_HOST = re.compile(r"[a-z0-9_-]+(?:\.[a-z0-9_-]+)*")


def _node(
    state: _State,
    domain: str,
    *,
    via: str | None,
    qualifier: str,
    policy: bool,
    ancestors: tuple[str, ...],
) -> Generator[Question, Answer, SpfNode]:
    state.nodes += 1
    if not ancestors and state.record is not None:
        chunks = tuple(piece.encode("utf-8") for piece in txt_strings(state.record))
        answer = Answer(domain, "TXT", Status.OK, (state.record,), (chunks,))
    else:
        answer = yield (domain, "TXT")
    texts = [text for text in answer.records if is_spf_record(text)]
    problem = _record_problem(domain, answer, texts, via)
    if problem is not None:
        error, finding = problem
        return SpfNode(
            domain,
            None,
            via,
            qualifier,
            running_total=state.lookups,
            error=error,
            findings=(finding,) if finding else (),
        )
    if len(texts) > 1:
        finding = Finding(
            "multiple_records",
            Severity.ERROR,
            f"{domain} publishes {len(texts)} SPF records. There must be exactly one: receivers "
            "give 'permerror' and DMARC counts SPF as failed. Merge them into one TXT record "
            "starting with v=spf1 and delete the others.",
            via,
        )
        return SpfNode(
            domain,
            None,
            via,
            qualifier,
            running_total=state.lookups,
            error=f"{len(texts)} SPF records",
            findings=(finding,),
        )
    text = texts[0]
    strings = next(
        (s for s, t in zip(answer.strings, answer.records, strict=False) if t == text), ()
    )
    record = parse_record(text)
    build = _Builder(domain)
    build.findings.extend(record_findings(domain, record, policy=policy))
    build.findings.extend(length_findings(domain, text, strings))
    chain = (*ancestors, domain)
    for mech in record.mechanisms:
        if not ancestors:
            state.top = mech.text
        yield from _mechanism(state, build, mech, chain)
    redirect = record.redirect_term
    if redirect is not None:
        if not ancestors:
            state.top = redirect.text
        state.count_lookup(redirect.text, domain)
        build.lookups += 1
        target = _target(state, redirect.value, domain, build)
        if target is not None:
            child = yield from _follow(
                state,
                target,
                via=redirect.text,
                qualifier="+",
                policy=policy and record.all_term is None,
                chain=chain,
                build=build,
            )
            if child is not None:
                build.children.append(child)
    return SpfNode(
        domain,
        text,
        via,
        qualifier,
        lookups=build.lookups,
        void_lookups=build.voids,
        running_total=state.lookups,
        networks=tuple(build.networks),
        children=tuple(build.children),
        findings=tuple(build.findings),
        static=build.static and not _uses_macros(record),
    )


def _record_problem(
    domain: str, answer: Answer, texts: list[str], via: str | None
) -> tuple[str, Finding | None] | None:
    """Why `domain` has no single record to read, as (error, finding), or None when it has."""
    if answer.status.is_temporary:
        where = f" (reached through {via!r})" if via else ""
        error = f"the TXT look-up failed: {answer.describe()}"
        return error, Finding(
            "dns_error",
            Severity.ERROR,
            f"The SPF record of {domain}{where} could not be fetched: {answer.describe()}. "
            "Receivers give 'temperror' and retry later, so mail is delayed. Check the domain's "
            "DNS servers answer; then check again.",
            via,
        )
    if texts:
        return None
    reason = answer.describe() if answer.status.value != "ok" else "no TXT record starts v=spf1"
    if via is None:
        return f"no SPF record ({reason})", Finding(
            "no_record",
            Severity.ERROR,
            f"{domain} has no SPF record ({reason}). Receivers get 'none', so SPF can never "
            "pass for mail sent with this domain and DMARC must rely on DKIM alone. Publish one "
            "TXT record at the domain, e.g. 'v=spf1 include:spf.trekmail.net -all' plus the "
            "include of each provider you send through.",
        )
    kind = "redirect" if via.startswith("redirect") else "include"
    return f"no SPF record ({reason})", Finding(
        "include_without_record",
        Severity.ERROR,
        f"{via!r} points at {domain}, which has no SPF record ({reason}). Receivers give "
        f"'permerror' for the whole record when they reach this {kind}, and DMARC counts SPF "
        "as failed. Correct the name (check the provider's documentation) or remove the term.",
        via,
    )


def _mechanism(
    state: _State, build: _Builder, mech: Mechanism, chain: tuple[str, ...]
) -> Generator[Question, Answer, None]:
    domain = build.domain
    authorizes = mech.qualifier.value == "+"
    if mech.name in ("ip4", "ip6"):
        network = mech.network
        if network is not None and authorizes:
            build.networks.append(network)
        return
    if mech.name == "all" or not mech.uses_dns:
        return
    state.count_lookup(mech.text, domain)
    build.lookups += 1
    if mech.name == "ptr":
        build.static = False  # it matches by the client's own reverse DNS: no list of networks
        return
    target = _target(state, mech.domain_spec, domain, build)
    if target is None:
        return
    if mech.name == "include":
        child = yield from _follow(
            state,
            target,
            via=mech.text,
            qualifier=mech.qualifier.value,
            policy=False,
            chain=chain,
            build=build,
        )
        if child is not None:
            build.children.append(child)
    elif mech.name == "exists":
        build.static = False  # matches on a name existing, not on the client's address
        answer = yield (target, "A")
        _void_or_failed(state, build, mech, answer)
    elif mech.name == "a":
        yield from _addresses(state, build, mech, target, count_void=True)
    else:
        answer = yield (target, "MX")
        if _void_or_failed(state, build, mech, answer):
            return
        hosts = [host for _, host in answer.mx if host not in ("", ".")]
        if len(answer.mx) > _MAX_MX_NAMES:
            build.findings.append(
                Finding(
                    "too_many_lookups",
                    Severity.ERROR,
                    f"{mech.text!r} in {domain}: {target} has {len(answer.mx)} MX records, and an "
                    f"mx term may name at most {_MAX_MX_NAMES} (RFC 7208 4.6.4), so receivers "
                    "give 'permerror'. List the mail servers with ip4/ip6 instead.",
                    mech.text,
                )
            )
        for host in hosts[:_MAX_MX_NAMES]:
            yield from _addresses(state, build, mech, host, count_void=False)


def _addresses(
    state: _State, build: _Builder, mech: Mechanism, host: str, *, count_void: bool
) -> Generator[Question, Answer, None]:
    """Add the networks of `host`'s A and AAAA records with the term's prefix lengths."""
    cidr = {"A": 32 if mech.cidr4 is None else mech.cidr4}
    cidr["AAAA"] = 128 if mech.cidr6 is None else mech.cidr6
    for rdtype in ("A", "AAAA"):
        answer = yield (host, rdtype)
        if answer.status.is_temporary and not count_void:
            return  # an MX host that does not answer: its addresses are unknown, no verdict here
        if rdtype == "A" and count_void and _void_or_failed(state, build, mech, answer):
            if answer.status.is_temporary:
                return  # reported once; the AAAA query would only wait as long again
            continue
        if mech.qualifier.value != "+":
            continue
        for address in answer.records:
            try:
                build.networks.append(
                    ipaddress.ip_network(f"{address}/{cidr[rdtype]}", strict=False)
                )
            except ValueError:
                continue  # a prefix length too long is already a syntax error of the record


def _void_or_failed(state: _State, build: _Builder, mech: Mechanism, answer: Answer) -> bool:
    """Count a void look-up or report a failed one; True when there is nothing to read."""
    if answer.status.is_void:
        state.count_void(mech.text, build.domain)
        build.voids += 1
        return True
    if answer.status.is_temporary:
        build.findings.append(
            Finding(
                "dns_error",
                Severity.WARNING,
                f"{mech.text!r} in {build.domain}: the look-up of {answer.name} failed "
                f"({answer.describe()}). Receivers that reach this term give 'temperror' and "
                "retry later.",
                mech.text,
            )
        )
        return True
    return False


def _follow(
    state: _State,
    target: str,
    *,
    via: str,
    qualifier: str,
    policy: bool,
    chain: tuple[str, ...],
    build: _Builder,
) -> Generator[Question, Answer, SpfNode | None]:
    """Walk an include or redirect target, unless it loops or the tree is already too big."""
    domain = build.domain
    if target in chain:
        build.findings.append(
            Finding(
                "include_loop",
                Severity.ERROR,
                f"{via!r} in {domain} leads back to {target}, which is already being evaluated "
                f"({' -> '.join((*chain, target))}). The loop uses up the look-up limit, so "
                "receivers give 'permerror'. Remove the term that points back.",
                via,
            )
        )
        return None
    if len(chain) > _MAX_DEPTH or state.nodes >= _MAX_NODES:
        state.truncated = True
        return None
    if via.startswith("include"):
        first = state.included.get(target)
        if first is not None and first != domain:
            # The same record reached twice through different paths: evaluation fetches and
            # counts it twice. (Twice in one record is reported by the record's own lint.)
            build.findings.append(
                Finding(
                    "duplicate_include",
                    Severity.WARNING,
                    f"{target} is included by {domain} and also by {first}. Each include costs "
                    "look-ups again but authorizes nothing new. Keep only one of them.",
                    via,
                )
            )
        state.included.setdefault(target, domain)
    return (
        yield from _node(
            state, target, via=via, qualifier=qualifier, policy=policy, ancestors=chain
        )
    )


def _target(state: _State, spec: str | None, domain: str, build: _Builder) -> str | None:
    """The name a term points at, or None when it depends on the connecting IP or is unusable."""
    if spec is None:
        return domain
    if "%" in spec:
        if any(f"%{{{letter}" in spec.lower() for letter in _IP_LETTERS):
            build.static = False
            return None
        try:
            spec = expand_domain(spec, MacroContext(state.sender, domain, _PROBE_IP))
        except MacroSyntaxError:
            return None  # reported as a syntax error of the record
        build.static = False
    try:
        return normalize_name(spec)
    except InvalidInput:
        return None  # a name that cannot exist: receivers treat the term as not matching


_PROBE_IP = ipaddress.ip_address("192.0.2.1")


def _uses_macros(record: SpfRecord) -> bool:
    return any("%" in (m.domain_spec or "") for m in record.mechanisms) or "%" in (
        record.redirect or ""
    )


def _limit_findings(state: _State, domain: str) -> list[Finding]:
    found: list[Finding] = []
    crossing = state.lookup_crossing
    if crossing is not None:
        where = f"{crossing.term!r} in {crossing.domain}"
        if crossing.top is not None and crossing.top != crossing.term:
            where += f", reached through {crossing.top!r}"
        found.append(
            Finding(
                "too_many_lookups",
                Severity.ERROR,
                f"The SPF record of {domain} needs {state.lookups} DNS look-ups when every term "
                f"is counted; the limit is {MAX_LOOKUPS} (RFC 7208 4.6.4). Look-up number "
                f"{MAX_LOOKUPS + 1} is {where}: receivers that get that far give 'permerror' and "
                "DMARC counts SPF as failed. Remove includes you no longer use, or move a "
                "provider to its own return-path subdomain.",
                crossing.top or crossing.term,
            )
        )
    void = state.void_crossing
    if void is not None:
        found.append(
            Finding(
                "too_many_void_lookups",
                Severity.ERROR,
                f"The SPF tree of {domain} has {state.voids} look-ups that find nothing (no such "
                f"name or no records); at most {MAX_VOID_LOOKUPS} are allowed (RFC 7208 4.6.4). "
                f"Number {MAX_VOID_LOOKUPS + 1} is {void.term!r} in {void.domain}: receivers "
                "give 'permerror' there. Remove the terms that name hosts or domains that no "
                "longer exist.",
                void.top or void.term,
            )
        )
    return found


def _tree_overlaps(tree: SpfNode) -> list[Finding]:
    """ip4/ip6 ranges of the domain itself that an include already authorizes."""
    if tree.record is None:
        return []
    included = tuple(
        network
        for child in tree.children
        if child.qualifier == "+"
        for network in child.authorized_networks()
    )
    found: list[Finding] = []
    for mech in parse_record(tree.record).mechanisms:
        network = mech.network if mech.name in ("ip4", "ip6") else None
        if network is None or mech.qualifier.value != "+":
            continue
        wider = covered_by(network, included)
        if wider is not None:
            found.append(
                Finding(
                    "overlapping_networks",
                    Severity.INFO,
                    f"{mech.text!r} in {tree.domain} is already authorized by an include "
                    f"(it lies inside {wider}). It is harmless but redundant: remove it unless "
                    "you expect that provider's ranges to change.",
                    mech.text,
                )
            )
    return found
