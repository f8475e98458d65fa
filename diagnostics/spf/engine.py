"""RFC 7208 check_host() as pure logic: it asks for DNS answers and never does I/O itself.

`evaluate(request)` is a DNS flow (diagnostics/_flow.py): a generator that yields questions
`(name, rdtype)`, one at a time, and must be sent the `diagnostics.dns.Answer` for each; when it
returns, its value is the `SpfResult`. `check_host` and `check_host_async` feed it with the sync and
async drivers of `_flow`, so both share every rule here, and a test or a bulk compiler can feed it
any answers it likes.

    Request(ip, sender, domain, helo, receiver, timestamp)   what to evaluate; already checked
    evaluate(request) -> Generator[Question, Answer, SpfResult]

Rules followed (RFC 7208): record selection from TXT only (4.4, 4.5; the SPF RR type is
ignored), syntax errors anywhere make a permerror (4.6), mechanisms in order (5), the 10 DNS
mechanism limit counting include a mx ptr exists and redirect (4.6.4; exp= not counted), the void
look-up limit of 2 (4.6.4), more than 10 MX names is a permerror and only the first 10 PTR names
are used (4.6.4), include result mapping (5.2), redirect (6.1), exp= (6.2), macros (7),
IPv4-mapped IPv6 addresses evaluated as IPv4 (5).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Generator
from dataclasses import dataclass, field
from functools import lru_cache

from diagnostics._flow import Question
from diagnostics.dns import Answer, Status, normalize_name
from diagnostics.errors import InvalidInput
from diagnostics.spf.macro import MacroContext, expand, expand_domain, macro_problem, uses_ptr
from diagnostics.spf.record import Mechanism, is_spf_record, parse_record
from diagnostics.spf.result import Result, SpfResult, TraceStep

__all__ = ["MAX_LOOKUPS", "MAX_VOID_LOOKUPS", "Question", "Request", "evaluate"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

MAX_LOOKUPS = 10
MAX_VOID_LOOKUPS = 2
MAX_MX_NAMES = 10
MAX_PTR_NAMES = 10


@dataclass(frozen=True, slots=True)
class Request:
    """One check_host() call, with arguments already validated: `ip` (IPv4-mapped addresses
    already turned into IPv4), `sender` as local@domain, `domain` the identity's domain."""

    ip: IPAddress
    sender: str
    domain: str
    helo: str = ""
    receiver: str = "unknown"
    timestamp: int | None = None
    original_ip: str = ""


class _Stop(Exception):
    """Ends the whole evaluation with permerror or temperror, from however deep it is.

    Private: it never leaves `evaluate`, which turns it into an SpfResult."""

    def __init__(self, result: Result, problem: str, *, reported: bool = False) -> None:
        super().__init__(problem)
        self.result = result
        self.problem = problem
        # True once a trace step states the problem, so the steps of the terms that led
        # there (an include, a redirect) just point down to it.
        self.reported = reported


@dataclass(frozen=True, slots=True)
class _Verdict:
    """What one level of check_host() gave, and which record's exp= applies if it is fail."""

    result: Result
    problem: str | None = None
    exp: tuple[str, str, int] | None = None  # exp domain-spec, its record's domain and depth


@dataclass
class _State:
    request: Request
    lookups: int = 0
    voids: int = 0
    trace: list[TraceStep] = field(default_factory=list)
    validated: list[str] | None = None  # validated PTR names, looked up at most once
    ptr_void: bool = False  # whether that PTR look-up found nothing

    def step(
        self, depth: int, domain: str, term: str, outcome: str, matched: bool | None = None
    ) -> None:
        self.trace.append(TraceStep(depth, domain, term, outcome, matched))

    def count_lookup(self, depth: int, domain: str, term: str) -> None:
        self.lookups += 1
        if self.lookups > MAX_LOOKUPS:
            problem = (
                f"{term!r} in {domain} needs DNS look-up number {self.lookups}; SPF allows at "
                f"most {MAX_LOOKUPS} (include, a, mx, ptr, exists and redirect each count one), "
                "so receivers give permerror."
            )
            raise _Stop(Result.PERMERROR, problem)

    def count_void(self, depth: int, domain: str, term: str) -> None:
        self.voids += 1
        if self.voids > MAX_VOID_LOOKUPS:
            problem = (
                f"{term!r} in {domain} is look-up number {self.voids} to find no record at all; "
                f"SPF allows at most {MAX_VOID_LOOKUPS} such void look-ups, so receivers give "
                "permerror. Remove terms that point at names that do not exist."
            )
            raise _Stop(Result.PERMERROR, problem)

    def context(self, domain: str) -> MacroContext:
        r = self.request
        return MacroContext(
            sender=r.sender,
            domain=domain,
            ip=r.ip,
            helo=r.helo,
            validated_domain=_pick_validated(self.validated or [], domain),
            receiver=r.receiver,
            timestamp=r.timestamp,
        )


def evaluate(request: Request) -> Generator[Question, Answer, SpfResult]:
    """check_host() for `request`: yields DNS questions, receives Answers, returns the result."""
    state = _State(request)
    explanation: str | None = None
    try:
        verdict = yield from _check_host(state, request.domain, 0)
        if verdict.result is Result.FAIL and verdict.exp is not None:
            explanation = yield from _explanation(state, *verdict.exp)
    except _Stop as stop:
        verdict = _Verdict(stop.result, stop.problem)
    return SpfResult(
        result=verdict.result,
        domain=request.domain,
        ip=request.original_ip or str(request.ip),
        sender=request.sender,
        explanation=explanation,
        problem=verdict.problem,
        lookups=state.lookups,
        void_lookups=state.voids,
        trace=tuple(state.trace),
    )


def _check_host(state: _State, domain: str, depth: int) -> Generator[Question, Answer, _Verdict]:
    """One level of check_host(): fetch the record of `domain` and evaluate it.

    Returns pass/fail/softfail/neutral/none; permerror and temperror raise _Stop, since at any
    depth they decide the whole evaluation (an include maps them to the same result)."""
    answer = yield (domain, "TXT")
    if answer.status.is_temporary:
        state.step(depth, domain, "TXT look-up", answer.describe())
        raise _Stop(
            Result.TEMPERROR,
            f"The TXT look-up for {domain} failed ({answer.describe()}); "
            "receivers give temperror and try again later.",
            reported=True,
        )
    if answer.status is not Status.OK:
        state.step(depth, domain, "TXT look-up", answer.describe())
        return _Verdict(Result.NONE, f"{domain} has no SPF record ({answer.describe()}).")
    records = [text for text in answer.records if is_spf_record(text)]
    if not records:
        state.step(depth, domain, "TXT look-up", "no TXT record starts with v=spf1")
        return _Verdict(Result.NONE, f"{domain} publishes no SPF record (no TXT 'v=spf1 ...').")
    if len(records) > 1:
        state.step(depth, domain, "TXT look-up", f"{len(records)} SPF records")
        raise _Stop(
            Result.PERMERROR,
            f"{domain} publishes {len(records)} SPF records; there must be exactly one, so "
            "receivers give permerror. Merge them into one TXT record.",
            reported=True,
        )
    record = parse_record(records[0])
    if record.errors:
        state.step(depth, domain, record.text, "syntax error: " + " ".join(record.errors))
        raise _Stop(
            Result.PERMERROR,
            f"The SPF record of {domain} has a syntax error: " + " ".join(record.errors),
            reported=True,
        )
    state.step(depth, domain, record.text, "SPF record found")
    exp = (record.exp, domain, depth) if record.exp is not None else None
    for mechanism in record.mechanisms:
        index = _reserve(state, depth, domain, mechanism.text)
        try:
            matched, reason = yield from _mechanism(state, mechanism, domain, depth)
        except _Stop as stop:
            _fill_stopped(state, index, stop)
            raise
        _fill(state, index, reason, matched)
        if matched:
            return _Verdict(Result(mechanism.qualifier.result), exp=exp)
    redirect = record.redirect_term
    if redirect is None:
        state.step(depth, domain, "(end of record)", "no mechanism matched: neutral")
        return _Verdict(Result.NEUTRAL, exp=exp)
    index = _reserve(state, depth, domain, redirect.text)
    try:
        verdict, target = yield from _redirect(state, redirect.value, domain, depth)
    except _Stop as stop:
        _fill_stopped(state, index, stop)
        raise
    _fill(state, index, f"no mechanism matched; {target} gave {verdict.result.value}", None)
    # RFC 7208 6.2: after redirect, the exp= of the target's record applies, not this one's.
    return verdict


def _redirect(
    state: _State, spec: str, domain: str, depth: int
) -> Generator[Question, Answer, tuple[_Verdict, str]]:
    state.count_lookup(depth, domain, f"redirect={spec}")
    target = (yield from _target(state, spec, domain)).rstrip(".")
    bad = _name_problem(target)
    if bad is not None:
        raise _Stop(Result.PERMERROR, f"redirect= in {domain} names {target!r}, which {bad}.")
    verdict = yield from _check_host(state, target, depth + 1)
    if verdict.result is Result.NONE:
        raise _Stop(
            Result.PERMERROR,
            f"redirect={target} in {domain} points at a domain without an SPF record; "
            "receivers give permerror.",
        )
    return verdict, target


def _mechanism(
    state: _State, mech: Mechanism, domain: str, depth: int
) -> Generator[Question, Answer, tuple[bool, str]]:
    """Whether `mech` matches, and why or why not in a few words."""
    ip = state.request.ip
    if mech.name == "all":
        return True, "always matches"
    if mech.name in ("ip4", "ip6"):
        network = mech.network
        assert network is not None
        if network.version != ip.version:
            return False, f"the IP is IPv{ip.version}, this is an IPv{network.version} network"
        if ip in network:
            return True, f"{ip} is in {network}"
        return False, f"{ip} is not in {network}"
    state.count_lookup(depth, domain, mech.text)
    target = domain
    if mech.domain_spec is not None:
        target = yield from _target(state, mech.domain_spec, domain)
    target = target.rstrip(".")
    if mech.name == "ptr":
        return (yield from _ptr(state, target, mech, domain, depth))
    bad = _name_problem(target)
    if bad is not None:
        if mech.name == "include":
            raise _Stop(Result.PERMERROR, f"{mech.text!r} in {domain}: {target!r} {bad}.")
        # The target came out of a macro (the syntax was checked): treat it as a name that
        # cannot exist, a no-match, as most receivers do (RFC 7208 leaves this open).
        return False, f"{target!r} {bad}"
    if mech.name == "include":
        return (yield from _include(state, target, mech, domain, depth))
    if mech.name == "exists":
        answer = yield (target, "A")
        _raise_temporary(answer, mech, domain)
        if answer.status.is_void:
            state.count_void(depth, domain, mech.text)
            return False, f"{target}: {answer.describe()}"
        return True, f"{target} exists ({', '.join(answer.records)})"
    if mech.name == "a":
        answer = yield (target, _rdtype(ip))
        _raise_temporary(answer, mech, domain)
        if answer.status.is_void:
            state.count_void(depth, domain, mech.text)
            return False, f"{target}: {answer.describe()}"
        return _match_addresses(ip, answer.records, mech, target)
    return (yield from _mx(state, target, mech, domain, depth))


def _include(
    state: _State, target: str, mech: Mechanism, domain: str, depth: int
) -> Generator[Question, Answer, tuple[bool, str]]:
    verdict = yield from _check_host(state, target, depth + 1)
    if verdict.result is Result.NONE:
        raise _Stop(
            Result.PERMERROR,
            f"{mech.text!r} in {domain} includes {target}, which has no SPF record; receivers "
            "give permerror. Fix or remove the include.",
        )
    if verdict.result is Result.PASS:
        return True, f"{target} gave pass"
    return False, f"{target} gave {verdict.result.value}"


def _mx(
    state: _State, target: str, mech: Mechanism, domain: str, depth: int
) -> Generator[Question, Answer, tuple[bool, str]]:
    ip = state.request.ip
    answer = yield (target, "MX")
    _raise_temporary(answer, mech, domain)
    if answer.status.is_void:
        state.count_void(depth, domain, mech.text)
        return False, f"{target}: {answer.describe()}"
    hosts = [host for _, host in answer.mx]
    if len(hosts) > MAX_MX_NAMES:
        raise _Stop(
            Result.PERMERROR,
            f"{mech.text!r} in {domain}: {target} has {len(hosts)} MX records; SPF allows "
            f"at most {MAX_MX_NAMES} for an mx mechanism, so receivers give permerror.",
        )
    checked: list[str] = []
    for host in hosts:
        if host in (".", ""):  # a null MX (RFC 7505): the domain takes no mail
            continue
        addresses = yield (host, _rdtype(ip))
        _raise_temporary(addresses, mech, domain)
        matched, reason = _match_addresses(ip, addresses.records, mech, host)
        if matched:
            return True, f"MX {reason}"
        checked.append(host)
    if not checked:
        return False, f"{target} has no usable MX host"
    return False, f"{ip} is not an address of the MX hosts {', '.join(checked)}"


def _ptr(
    state: _State, target: str, mech: Mechanism, domain: str, depth: int
) -> Generator[Question, Answer, tuple[bool, str]]:
    names = yield from _validated_names(state, depth, domain, mech.text)
    wanted = target.lower()
    for name in names:
        if name == wanted or name.endswith("." + wanted):
            return True, f"{state.request.ip} has the validated name {name}, in {target}"
    if not names:
        return False, f"{state.request.ip} has no validated host name"
    return False, f"validated names {', '.join(names)} are not in {target}"


def _validated_names(
    state: _State, depth: int, domain: str, term: str | None
) -> Generator[Question, Answer, list[str]]:
    """RFC 7208 5.5: PTR names of the IP (first 10) whose own A/AAAA records include the IP."""
    if state.validated is not None:
        if state.ptr_void and term is not None:
            state.count_void(depth, domain, term)
        return state.validated
    ip = state.request.ip
    answer = yield (ip.reverse_pointer, "PTR")
    names: list[str] = []
    state.ptr_void = answer.status.is_void
    if answer.status.is_void and term is not None:
        state.count_void(depth, domain, term)
    if answer.status is Status.OK:
        # DNS errors on a name only skip that name: the sender does not control the PTR
        # records of whoever connects, so they must not turn into an error result.
        for name in answer.records[:MAX_PTR_NAMES]:
            if _name_problem(name) is not None:
                continue
            addresses = yield (name, _rdtype(ip))
            if addresses.status is Status.OK and any(
                _same_ip(ip, text) for text in addresses.records
            ):
                names.append(name.lower())
    state.validated = names
    return names


def _explanation(
    state: _State, spec: str, domain: str, depth: int
) -> Generator[Question, Answer, str | None]:
    """RFC 6.2: the exp= text, or None when anything about it is wrong (never an error)."""
    term = f"exp={spec}"
    target = (yield from _target(state, spec, domain)).rstrip(".")
    if _name_problem(target) is not None:
        state.step(depth, domain, term, f"{target!r} is not a valid name: no explanation")
        return None
    answer = yield (target, "TXT")  # not counted: RFC 7208 4.6.4 leaves exp= out
    if answer.status is not Status.OK or len(answer.records) != 1:
        state.step(depth, domain, term, f"{target}: {answer.describe()}: no explanation")
        return None
    text = answer.records[0]
    problem = macro_problem(text, explanation=True)
    if problem is not None:
        state.step(depth, domain, term, f"the text is not valid: {problem}")
        return None
    if uses_ptr(text):
        yield from _validated_names(state, depth, domain, None)
    explanation = expand(text, state.context(domain), explanation=True)
    state.step(depth, domain, term, f"explanation: {explanation}")
    return explanation


def _target(state: _State, spec: str, domain: str) -> Generator[Question, Answer, str]:
    """Expand a domain-spec, looking up the validated PTR name first when it uses %{p}."""
    if uses_ptr(spec):
        yield from _validated_names(state, 0, domain, None)
    return expand_domain(spec, state.context(domain))


def _reserve(state: _State, depth: int, domain: str, term: str) -> int:
    """Hold this term's place in the trace, ahead of the steps of the domain it leads to."""
    state.trace.append(TraceStep(depth, domain, term, "evaluating", None))
    return len(state.trace) - 1


def _fill_stopped(state: _State, index: int, stop: _Stop) -> None:
    if stop.reported:
        _fill(state, index, f"{stop.result.value} (see below)", None)
    else:
        _fill(state, index, f"{stop.result.value}: {stop.problem}", None)
        stop.reported = True


def _fill(state: _State, index: int, outcome: str, matched: bool | None) -> None:
    old = state.trace[index]
    state.trace[index] = TraceStep(old.depth, old.domain, old.term, outcome, matched)


def _raise_temporary(answer: Answer, mech: Mechanism, domain: str) -> None:
    if answer.status.is_temporary:
        raise _Stop(
            Result.TEMPERROR,
            f"{mech.text!r} in {domain}: the {answer.rdtype} look-up for {answer.name} failed "
            f"({answer.describe()}); receivers give temperror and try again later.",
        )


def _match_addresses(
    ip: IPAddress, records: tuple[str, ...], mech: Mechanism, host: str
) -> tuple[bool, str]:
    prefix = mech.cidr4 if ip.version == 4 else mech.cidr6
    prefix = prefix if prefix is not None else ip.max_prefixlen
    for text in records:
        try:
            network = ipaddress.ip_network(f"{text}/{prefix}", strict=False)
        except ValueError:
            continue
        if network.version == ip.version and ip in network:
            shown = text if prefix == ip.max_prefixlen else str(network)
            return True, f"{ip} is {host}'s address {shown}"
    shown = ", ".join(records) or "none"
    suffix = "" if prefix == ip.max_prefixlen else f" (compared as /{prefix})"
    return False, f"{ip} is not among {host}'s addresses {shown}{suffix}"


def _same_ip(ip: IPAddress, text: str) -> bool:
    try:
        return ipaddress.ip_address(text) == ip
    except ValueError:
        return False


def _rdtype(ip: IPAddress) -> str:
    return "A" if ip.version == 4 else "AAAA"


@lru_cache(maxsize=4096)  # pure; the same targets come back in every evaluation
def _name_problem(name: str) -> str | None:
    """None when `name` can be asked of DNS, else why not (a long or empty label, ...)."""
    try:
        normalize_name(name)
    except InvalidInput as exc:
        return f"is not a valid domain name ({exc})"
    return None


def _pick_validated(names: list[str], domain: str) -> str | None:
    """RFC 7208 7.3 %{p}: the domain itself, else a subdomain of it, else any validated name."""
    domain = domain.lower().rstrip(".")
    for name in names:
        if name == domain:
            return name
    for name in names:
        if name.endswith("." + domain):
            return name
    return names[0] if names else None
