"""The peer projects' test vectors (tests/data/peer-suites/, README.md there), run against the project.

    load() -> list[Vector]                 every vector of every suite, with its ruling if it has one
    with Runner() as runner:               one loopback nameserver per zone, started on first use
        runner.check(vector) -> Check      the project's answer, compared with the peer and the ruling
    table(checks) -> str                   per suite and area: vectors, agreeing with the peer, with
                                           the ruling where the peer is wrong, not applicable,
                                           disagreeing (each with the reason)

Each area asks the project through its public API, in the peer's vocabulary:

- dmarc-record: `parse_dmarc`. `error` (checkdmarc raises) is an ERROR finding; `valid` (mox,
  mail-auth) is whether receivers apply the record; p, sp, pct, adkim, aspf, rua/ruf addresses.
- dmarc-lookup: `check_dmarc` against the zone. `found` is a record that is there and applies;
  `org_record` the organizational-domain fallback; `applied` the policy for the domain;
  `temperror` a DNS failure; `queries` the questions the resolver sent.
- spf-parse: `parse_record` (validity, terms); spf-recognized: `is_spf_record`.
- spf-macro: a `kind: domain` macro is a domain-spec: valid when `v=spf1 exists:<macro>` parses,
  then `expand_domain`; `kind: explanation` goes through `macro_problem`/`expand` with the rules
  of exp= text. Cases that give no IP use none of the IP letters (192.0.2.3 is passed).
- spf-verify: `check_host` (or, where the peer evaluates a <domain> other than the sender's, the
  engine's Request with that domain: RFC 7208 4.1's check_host() arguments) against the zone, with
  a fresh resolver per case. `helo_then_mailfrom`: HELO first, MAIL FROM only when HELO passes.
- dkim-key: `parse_key_record`. `error`: a finding that makes the record itself unusable by RFC
  6376 (syntax, duplicate tag, version, unknown k=, no p=, a p= that is not a key); `revoked`: an
  empty p= and nothing else wrong; `valid` otherwise. The project's RFC 8301 judgements on a valid
  record (SHA-1 only, short keys, t=y) are not parse errors. Hash names compare without case (ABNF
  strings are case-insensitive).
- dkim-signature: d= and s= of a DKIM-Signature header through `diagnostics.headers.analyze`.
- authres: `diagnostics.headers.analyze` of an Authentication-Results header: the authserv-id (an
  absent one is ""), the first spf and dmarc results with their domains, and every dkim result
  with its domain and selector. Other methods (auth, iprev, arc, sender-id) are not exposed; the
  comparison still checks that none was taken for an spf, dkim or dmarc result.

A ruling (rulings.yml) names the winner: `peer` means the peer's expectation is the RFC's; for
`project` and `neither` the project must give `accept`; for `ambiguous` either is right.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml

from diagnostics._flow import run_flow
from diagnostics.dkim import parse_key_record
from diagnostics.dmarc.record import DmarcCheck, check_dmarc, parse_dmarc
from diagnostics.findings import Severity
from diagnostics.headers import analyze
from diagnostics.spf import check_host, expand, is_spf_record, macro_problem, parse_record
from diagnostics.spf.engine import evaluate
from diagnostics.spf.evaluate import make_request
from diagnostics.spf.macro import MacroContext, expand_domain
from diagnostics.spf.record import Mechanism
from diagnostics.spf.result import SpfResult
from tests.support.nameserver import LoopbackNameserver, zone_from_entries

SUITES = Path(__file__).parents[1] / "data" / "peer-suites"
# What a TIMEOUT entry costs, and how long a loaded machine's loopback answer may take: 0.3 s was
# once too short with four test workers on two cores.
DNS_TIMEOUT = 1.0
_SERVERS_KEPT = 4
# The address passed to macro cases that give none (they use no IP letter).
_NO_IP = "192.0.2.3"
# DKIM key findings that make the record itself unusable (RFC 6376 3.6.1); the others are the
# project's advice on a valid record.
_DKIM_RECORD_ERRORS = frozenset(
    {"syntax_error", "duplicate_tag", "bad_version", "unknown_key_type", "no_key", "bad_key"}
)
_KNOWN_HASHES = ("sha1", "sha256")
_KNOWN_FLAGS = ("y", "s")

# Vectors the project's API cannot express, each with the reason. Empty today: every vector the
# transcribers kept is observable (what they left out is under `skipped:` in each file).
NOT_APPLICABLE: dict[tuple[str, str], str] = {}

# Where the project, following the RFC, differs from a peer that rulings.yml does not rule on
# (the rulings were written against the project as it was). Each stays a disagreement in the
# counts, with the project's reading, until a ruling settles it.
UNRULED: dict[tuple[str, str], str] = {
    ("mjl-mox", "dmarc/parse_test.go TestParse/bad/34"): (
        "rua=mailto:...!<47 digits>: a size limit is 1*DIGIT with no bound (RFC 7489 6.4), so "
        "the address is usable and, with no p=, receivers apply p=none (6.6.3 step 6). The peer "
        "refuses the number because it overflows its integer type: an implementation limit, as "
        "the mox ruling on TestExpand/testDNS/22 reads an overflowing SPF digit count"
    ),
    ("mjl-mox", "TestVerifyScenarios/17"): (
        "permerror.example publishes 'v=spf1 a:%%', which RFC 7208 7.1 allows (domain-end may be "
        "the macro-expand %%, as the ruling on TestExpand/testDNS/29 says); a:%% looks up '%', "
        "finds nothing and does not match, so the include gives neutral. The peer's record "
        "parser refuses %% at the end of a domain-spec (its own expander accepts it)"
    ),
}


def pytest_param(vector: Vector) -> object:
    """`vector` as a test parameter: an expected failure (strict) when it is UNRULED."""
    import pytest

    reason = UNRULED.get((vector.suite, vector.id))
    marks = [pytest.mark.xfail(strict=True, reason=f"no ruling: {reason}")] if reason else []
    return pytest.param(vector, id=vector.key, marks=marks)


class Agreement(StrEnum):
    PEER = "agrees with the peer"
    RULING = "agrees with the ruling (peer wrong)"
    NOT_APPLICABLE = "not applicable"
    DISAGREES = "disagrees"


@dataclass(frozen=True)
class Vector:
    suite: str  # the folder, e.g. "mjl-mox"
    area: str
    id: str
    case: dict[str, Any]
    expect: dict[str, Any]
    ruling: dict[str, Any] | None = None
    zone: str | None = None
    harness: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.suite}::{self.area}::{self.id}"


@dataclass(frozen=True)
class Check:
    vector: Vector
    agreement: Agreement
    observed: dict[str, Any]
    detail: str = ""


# --- loading -------------------------------------------------------------------------------------


def _read(suite: str, name: str) -> Any:
    with (SUITES / suite / name).open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def _rulings(suite: str) -> dict[str, dict[str, Any]]:
    path = SUITES / suite / "rulings.yml"
    if not path.exists():
        return {}
    data = _read(suite, "rulings.yml") or {}
    return {str(k): v for k, v in data.items()}


def _vectors(
    suite: str,
    area: str,
    cases: list[dict[str, Any]],
    rulings: dict[str, dict[str, Any]],
    *,
    harness: dict[str, Any] | None = None,
    defaults: dict[str, Any] | None = None,
) -> Iterator[Vector]:
    for case in cases:
        merged = {**(defaults or {}), **case}
        case_id = str(case["id"])
        yield Vector(
            suite=suite,
            area=area,
            id=case_id,
            case=merged,
            expect=dict(case["expect"]),
            ruling=rulings.get(case_id),
            zone=case.get("zone"),
            harness=dict(harness or {}),
        )


def zones() -> dict[tuple[str, str], dict[str, Any]]:
    """(suite, zone name) -> zone data in the loopback nameserver's form."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for suite, name, key in (
        ("domainaware-checkdmarc", "dmarc.yml", "lookups"),
        ("postalsys-mailauth", "dmarc_lookup.yml", None),
        ("postalsys-mailauth", "spf_verify.yml", None),
        ("mjl-mox", "spf_verify.yml", None),
        ("stalwartlabs-mail-auth", "spf.yml", None),
    ):
        data = _read(suite, name)
        holder = data[key] if key else data
        for zone, entries in (holder.get("zones") or {}).items():
            found[(suite, f"{name}:{zone}")] = zone_from_entries(
                {n: _entries(v) for n, v in (entries or {}).items()}
            )
    return found


def _entries(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def load() -> list[Vector]:
    """Every vector of every suite, in file order."""
    out: list[Vector] = []

    suite = "domainaware-checkdmarc"
    rulings = _rulings(suite)
    dmarc = _read(suite, "dmarc.yml")
    out += _vectors(suite, "dmarc-record", dmarc["records"], rulings)
    out += _zoned(suite, "dmarc.yml", "dmarc-lookup", dmarc["lookups"]["cases"], rulings)
    spf = _read(suite, "spf.yml")
    out += _vectors(suite, "spf-parse", spf["syntax"], rulings)
    out += _vectors(suite, "spf-recognized", spf["recognized"], rulings)

    suite = "emersion-go-msgauth"
    rulings = _rulings(suite)
    out += _authres_vectors(suite, rulings)
    out += _vectors(suite, "dkim-key", _read(suite, "dkim.yml")["keys"], rulings)

    suite = "mjl-mox"
    rulings = _rulings(suite)
    out += _vectors(suite, "spf-parse", _read(suite, "spf_parse.yml")["cases"], rulings)
    macro = _read(suite, "spf_macro.yml")
    out += _vectors(suite, "spf-macro", macro["cases"], rulings, defaults=macro["defaults"])
    verify = _read(suite, "spf_verify.yml")
    out += _zoned(suite, "spf_verify.yml", "spf-verify", verify["cases"], rulings, verify)
    out += _vectors(suite, "dmarc-record", _read(suite, "dmarc.yml")["cases"], rulings)
    out += _vectors(suite, "dkim-key", _read(suite, "dkim.yml")["keys"], rulings)
    out += _authres_vectors(suite, rulings)

    suite = "postalsys-mailauth"
    rulings = _rulings(suite)
    lookup = _read(suite, "dmarc_lookup.yml")
    out += _zoned(suite, "dmarc_lookup.yml", "dmarc-lookup", lookup["cases"], rulings)
    verify = _read(suite, "spf_verify.yml")
    out += _zoned(suite, "spf_verify.yml", "spf-verify", verify["cases"], rulings, verify)
    macro = _read(suite, "spf_macro.yml")
    out += _vectors(suite, "spf-macro", macro["cases"], rulings, defaults=macro["defaults"])

    suite = "stalwartlabs-mail-auth"
    rulings = _rulings(suite)
    verify = _read(suite, "spf.yml")
    out += _zoned(suite, "spf.yml", "spf-verify", verify["cases"], rulings, verify)
    out += _vectors(suite, "dmarc-record", _read(suite, "dmarc.yml")["cases"], rulings)
    dkim = _read(suite, "dkim.yml")
    out += _vectors(suite, "dkim-key", dkim["keys"], rulings)
    out += _vectors(suite, "dkim-signature", dkim["signatures"], rulings)
    return out


def _authres_vectors(suite: str, rulings: dict[str, dict[str, Any]]) -> list[Vector]:
    # The project exposes the first spf and dmarc result and every dkim result: the peer's
    # expectation is compared in that shape (no authres ruling carries an `accept`).
    cases = _read(suite, "authres.yml")["cases"]
    return [
        dataclasses.replace(v, expect={**v.expect, "results": _exposed(v.expect["results"])})
        for v in _vectors(suite, "authres", cases, rulings)
    ]


def _zoned(
    suite: str,
    file: str,
    area: str,
    cases: list[dict[str, Any]],
    rulings: dict[str, dict[str, Any]],
    data: dict[str, Any] | None = None,
) -> list[Vector]:
    harness = (data or {}).get("harness") or {}
    return [
        dataclasses.replace(v, zone=f"{file}:{v.zone}")
        for v in _vectors(suite, area, cases, rulings, harness=harness)
    ]


# --- comparing -----------------------------------------------------------------------------------


def differences(observed: dict[str, Any], wanted: dict[str, Any]) -> list[str]:
    """What in `observed` differs from `wanted` (only the keys `wanted` names)."""
    ignore_case = bool(wanted.get("ignore_case"))
    out: list[str] = []
    for key, value in wanted.items():
        if key in ("ignore_case", "known_hashes_only", "known_flags_only"):
            continue
        got = observed.get(key, "<absent>")
        if key == "result" and isinstance(value, list):
            ok = got in value
        elif key in ("hashes", "flags", "services") and isinstance(got, list):
            known = {"hashes": _KNOWN_HASHES, "flags": _KNOWN_FLAGS}.get(key)
            if known and wanted.get(f"known_{key}_only"):
                got = [g for g in got if g in known]
            ok = [str(g).lower() for g in got] == [str(v).lower() for v in value]
        elif ignore_case and isinstance(value, str) and isinstance(got, str):
            ok = got.lower() == value.lower()
        else:
            ok = got == value
        if not ok:
            out.append(f"{key}: project {got!r}, wanted {value!r}")
    return out


def judge(vector: Vector, observed: dict[str, Any]) -> Check:
    ruling = vector.ruling
    against_peer = differences(observed, vector.expect)
    if ruling is None or ruling.get("winner") == "peer":
        if not against_peer:
            return Check(vector, Agreement.PEER, observed)
        why = "; ".join(against_peer)
        if ruling is not None:
            why += f" (ruling: the peer is right, {ruling.get('rfc')})"
        return Check(vector, Agreement.DISAGREES, observed, why)
    accept = ruling.get("accept") or {}
    if ruling.get("winner") == "ambiguous" and not against_peer:
        return Check(vector, Agreement.PEER, observed)
    against_ruling = differences(observed, accept)
    if not against_ruling:
        return Check(vector, Agreement.RULING, observed)
    return Check(
        vector, Agreement.DISAGREES, observed, "; ".join(against_ruling) + " (against the ruling)"
    )


# --- asking the project --------------------------------------------------------------------------


class Runner:
    """Starts one loopback nameserver per zone on first use; stop() (or `with`) stops them."""

    def __init__(self) -> None:
        self._zones = zones()
        self._servers: dict[tuple[str, str], LoopbackNameserver] = {}

    def __enter__(self) -> Runner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        for server in self._servers.values():
            server.stop()
        self._servers.clear()

    def server(self, vector: Vector) -> LoopbackNameserver:
        assert vector.zone is not None
        key = (vector.suite, vector.zone)
        if key not in self._servers:
            # Cases of one zone mostly come together: a few servers at a time are enough.
            while len(self._servers) >= _SERVERS_KEPT:
                oldest = next(iter(self._servers))
                self._servers.pop(oldest).stop()
            server = LoopbackNameserver(self._zones[key])
            server.start()
            self._servers[key] = server
        return self._servers[key]

    def check(self, vector: Vector) -> Check:
        reason = NOT_APPLICABLE.get((vector.suite, vector.id))
        if reason is not None:
            return Check(vector, Agreement.NOT_APPLICABLE, {}, reason)
        observe = _OBSERVERS[vector.area]
        check = judge(vector, observe(self, vector))
        unruled = UNRULED.get((vector.suite, vector.id))
        if unruled is not None and check.agreement is Agreement.DISAGREES:
            return dataclasses.replace(check, detail=f"{check.detail}. No ruling; {unruled}.")
        return check


def _dmarc_record(_: Runner, v: Vector) -> dict[str, Any]:
    record = parse_dmarc(str(v.case["record"]), domain=v.case.get("domain"))
    return {
        "error": any(f.severity is Severity.ERROR for f in record.findings),
        "valid": record.valid,
        "p": record.policy,
        "sp": record.subdomain_policy,
        "pct": record.pct,
        "adkim": record.adkim,
        "aspf": record.aspf,
        "rua": [d.address for d in record.rua],
        "ruf": [d.address for d in record.ruf],
    }


def _dmarc_lookup(runner: Runner, v: Vector) -> dict[str, Any]:
    resolver = runner.server(v).resolver(timeout=DNS_TIMEOUT, cache=False)
    check = check_dmarc(str(v.case["domain"]), resolver=resolver)
    return {**dmarc_observed(check), "queries": resolver.queries_sent}


def dmarc_observed(check: DmarcCheck) -> dict[str, Any]:
    """What a dmarc-lookup vector compares, from a DMARC check (the health check's DMARC part
    is compared the same way, tests/diagnostics/health/test_peer_dmarc.py)."""
    record = check.record
    observed: dict[str, Any] = {
        "found": record is not None and record.valid,
        "temperror": any(f.code == "dns_error" for f in check.findings),
        "org_record": check.inherited,
        "applied": check.applied_policy,
    }
    if record is not None:
        observed.update(
            p=record.policy,
            sp=record.subdomain_policy,
            pct=record.pct,
            adkim=record.adkim,
            aspf=record.aspf,
            rua=[d.address for d in record.rua],
            ruf=[d.address for d in record.ruf],
        )
    return observed


def _terms(record: Any) -> list[dict[str, Any]]:
    terms: list[dict[str, Any]] = []
    for term in record.terms:
        if isinstance(term, Mechanism):
            one: dict[str, Any] = {"q": term.qualifier.value, "name": term.name}
            if term.domain_spec is not None:
                one["spec"] = term.domain_spec
            if term.address is not None:
                one["address"] = term.address
            if term.cidr4 is not None:
                one["c4"] = term.cidr4
            if term.cidr6 is not None:
                one["c6"] = term.cidr6
            terms.append(one)
        else:
            terms.append({"modifier": term.name, "value": term.value})
    return terms


def _spf_parse(_: Runner, v: Vector) -> dict[str, Any]:
    record = parse_record(str(v.case["record"]))
    return {"valid": record.is_valid, "terms": _terms(record)}


def _spf_recognized(_: Runner, v: Vector) -> dict[str, Any]:
    return {"spf": is_spf_record(str(v.case["record"]))}


def _spf_macro(_: Runner, v: Vector) -> dict[str, Any]:
    case = v.case
    context = case.get("context") or {}
    macro = str(case["macro"])
    ctx = MacroContext(
        sender=str(case["sender"]),
        domain=str(context.get("domain", case["domain"])),
        ip=ipaddress.ip_address(str(context.get("ip", _NO_IP))),
        helo=str(case.get("helo", "")),
        receiver=str(case.get("receiver", "unknown")),
        timestamp=context.get("timestamp"),
    )
    if case.get("kind", "domain") == "explanation":
        if macro_problem(macro, explanation=True) is not None:
            return {"error": True}
        return {"error": False, "value": expand(macro, ctx, explanation=True)}
    if not parse_record(f"v=spf1 exists:{macro}").is_valid:
        return {"error": True}
    return {"error": False, "value": expand_domain(macro, ctx)}


def _spf_verify(runner: Runner, v: Vector) -> dict[str, Any]:
    case, harness = v.case, v.harness
    resolver = runner.server(v).resolver(timeout=DNS_TIMEOUT, cache=False)
    receiver = str(harness.get("receiver", "unknown"))
    host = str(case["host"])
    mailfrom = str(case.get("mailfrom") or "")
    helo = str(case.get("helo") or "")
    outcome: SpfResult
    if harness.get("identity") == "helo_then_mailfrom":
        outcome = check_host(host, "", helo, resolver=resolver, receiver=receiver)
        if outcome.result == "pass":
            outcome = check_host(host, mailfrom, helo, resolver=resolver, receiver=receiver)
    elif case.get("domain"):
        # check_host(<ip>, <domain>, <sender>) with a <domain> other than the sender's.
        request = make_request(host, mailfrom, helo, receiver=receiver)
        assert not isinstance(request, SpfResult)
        request = dataclasses.replace(request, domain=str(case["domain"]))
        outcome = run_flow(evaluate(request), resolver)
    else:
        outcome = check_host(host, mailfrom, helo, resolver=resolver, receiver=receiver)
    observed: dict[str, Any] = {"result": outcome.result.value}
    if outcome.result == "fail":
        observed["explanation"] = outcome.explanation
    return observed


def _dkim_key(_: Runner, v: Vector) -> dict[str, Any]:
    key = parse_key_record(str(v.case["record"]))
    codes = {f.code for f in key.findings}
    if codes & _DKIM_RECORD_ERRORS:
        outcome = "error"
    elif key.revoked:
        outcome = "revoked"
    else:
        outcome = "valid"
    return {
        "outcome": outcome,
        "key_type": key.key_type.value if key.key_type else None,
        "hashes": list(key.hash_algorithms),
        "services": list(key.service_types),
        "flags": list(key.flags),
    }


def _folded(value: str) -> str:
    """A header value whose continuation lines start with white space, as a header needs."""
    lines = value.replace("\r\n", "\n").split("\n")
    return "\r\n".join([lines[0], *(ln if ln[:1] in (" ", "\t") else " " + ln for ln in lines[1:])])


def _dkim_signature(_: Runner, v: Vector) -> dict[str, Any]:
    report = analyze(f"DKIM-Signature: {_folded(str(v.case['value']))}\r\n")
    first = report.signatures[0] if report.signatures else None
    return {"d": first.domain if first else None, "s": first.selector if first else None}


def _exposed(results: list[dict[str, Any]]) -> dict[str, Any]:
    """The part of a peer's result list the project exposes: first spf, first dmarc, every dkim."""
    view: dict[str, Any] = {"spf": None, "dmarc": None, "dkim": []}
    for r in results:
        method = r["method"]
        if method in ("spf", "dmarc") and view[method] is None:
            view[method] = {k: r[k] for k in ("result", "domain") if k in r}
        elif method == "dkim":
            view["dkim"].append({k: r[k] for k in ("result", "domain", "selector") if k in r})
    return view


def _shaped(found: dict[str, Any], keys: dict[str, Any] | None) -> dict[str, Any]:
    # The keys the peer states; a result the peer does not have shows its result and domain.
    return {k: found[k] for k in (keys or ("result", "domain"))}


def _authres(_: Runner, v: Vector) -> dict[str, Any]:
    report = analyze(f"Authentication-Results: {_folded(str(v.case['value']).rstrip())}\r\n")
    wanted = v.expect["results"]  # already in the exposed shape (see _authres_vectors)
    spf = dmarc = None
    if report.spf is not None and report.spf.result is not None:
        spf = _shaped({"result": report.spf.result, "domain": report.spf.domain}, wanted["spf"])
    if report.dmarc is not None and report.dmarc.result is not None:
        found = {"result": report.dmarc.result, "domain": report.dmarc.domain}
        dmarc = _shaped(found, wanted["dmarc"])
    dkim = []
    for i, sig in enumerate(s for s in report.signatures if s.result is not None):
        keys = wanted["dkim"][i] if i < len(wanted["dkim"]) else None
        found = {"result": sig.result, "domain": sig.domain, "selector": sig.selector}
        dkim.append(_shaped(found, keys))
    return {
        "authserv_id": report.authserv_id or "",
        "results": {"spf": spf, "dmarc": dmarc, "dkim": dkim},
    }


_OBSERVERS = {
    "dmarc-record": _dmarc_record,
    "dmarc-lookup": _dmarc_lookup,
    "spf-parse": _spf_parse,
    "spf-recognized": _spf_recognized,
    "spf-macro": _spf_macro,
    "spf-verify": _spf_verify,
    "dkim-key": _dkim_key,
    "dkim-signature": _dkim_signature,
    "authres": _authres,
}


# --- the table -----------------------------------------------------------------------------------


def table(checks: list[Check]) -> str:
    """Per suite and area: vectors, agreeing with the peer, with the ruling where the peer is
    wrong, not applicable, disagreeing; then the totals and each not-applicable reason."""
    rows: Counter[tuple[str, str, Agreement]] = Counter()
    for c in checks:
        rows[(c.vector.suite, c.vector.area, c.agreement)] += 1
    keys = sorted({(s, a) for s, a, _ in rows})
    header = ("suite", "area", "vectors", "peer", "ruling", "n/a", "disagree")
    lines = [header]
    totals = Counter[Agreement]()
    for suite, area in keys:
        counts = {g: rows[(suite, area, g)] for g in Agreement}
        totals.update(counts)
        lines.append(
            (
                suite,
                area,
                str(sum(counts.values())),
                str(counts[Agreement.PEER]),
                str(counts[Agreement.RULING]),
                str(counts[Agreement.NOT_APPLICABLE]),
                str(counts[Agreement.DISAGREES]),
            )
        )
    lines.append(
        (
            "all",
            "",
            str(sum(totals.values())),
            str(totals[Agreement.PEER]),
            str(totals[Agreement.RULING]),
            str(totals[Agreement.NOT_APPLICABLE]),
            str(totals[Agreement.DISAGREES]),
        )
    )
    widths = [max(len(row[i]) for row in lines) for i in range(len(header))]
    text = []
    for row in lines:
        text.append(
            "  ".join(
                cell.ljust(w) if i < 2 else cell.rjust(w)
                for i, (cell, w) in enumerate(zip(row, widths, strict=True))
            )
        )
    out = "\n".join(text)
    na = [c for c in checks if c.agreement is Agreement.NOT_APPLICABLE]
    if na:
        out += "\n\nnot applicable:\n" + "\n".join(f"- {c.vector.key}: {c.detail}" for c in na)
    bad = [c for c in checks if c.agreement is Agreement.DISAGREES]
    if bad:
        out += "\n\ndisagreeing:\n" + "\n".join(f"- {c.vector.key}: {c.detail}" for c in bad)
    return out
