"""Explain a received message's authentication from its headers: did SPF, DKIM and DMARC pass, did
they align with the From domain, and if not, why, in plain words.

    analyze(raw_headers) -> HeaderReport

Reads Authentication-Results (with the authres package; a tolerant reader of our own takes over
for the forms authres refuses, such as Microsoft 365's header without an authserv-id),
ARC-Authentication-Results and ARC-Seal, DKIM-Signature (d=, s=), Received-SPF, Return-Path and
From. The verdicts are the receiver's (the topmost Authentication-Results, added by the last hop);
alignment is worked out here (RFC 7489 3.1: relaxed means the same organizational domain, by the
public suffix list; strict means the same name). Pure: no DNS.

Anything pasted, a whole message or garbage, gives a report; `report.readable` is False with a
`message` saying why when there is nothing to explain.
"""

from __future__ import annotations

import email.parser
import email.policy
import email.utils
import re
from dataclasses import dataclass, field
from email.message import Message

import authres

from diagnostics import providers as catalogue
from diagnostics.domains import organizational_domain
from diagnostics.findings import Finding, Severity
from diagnostics.wording import plural

__all__ = ["ArcInfo", "HeaderReport", "Method", "Signature", "analyze"]

PASSED = "pass"
# Real header blocks are a few kB (a long Gmail block is ~15 kB); a paste of a whole message or
# mailbox is cut here, and the report says so, rather than parsed for minutes.
_MAX_INPUT = 64_000
# authres reads one header in time quadratic in its length; a value this long is no real
# receiver's, so the tolerant reader below takes it.
_MAX_AUTHRES = 4_000
# Receivers a message passed; more Authentication-Results headers than this are not read for hops.
_MAX_HOPS = 50
# A result is a keyword (RFC 8601 2.2); "_" too, as Yahoo writes dkim=perm_fail, which must stay
# whole rather than become "perm", a result nobody reported.
_RESULT = re.compile(
    r"(?P<method>[a-z][a-z0-9_-]*)\s*=\s*(?P<result>[a-z][a-z0-9_-]*)(?P<rest>[^;]*)", re.IGNORECASE
)
# The lookbehind starts a match only at the start of a word: without it, a long run of letters
# with no "." is rescanned from every position (quadratic: seconds for 20 kB of pasted text).
_PROPERTY = re.compile(
    r"(?<![a-z])(?P<ptype>[a-z]+)\.(?P<name>[a-z-]+)\s*=\s*(?P<value>\"[^\"]*\"|[^\s;]+)"
)
_COMMENT = re.compile(r"\([^()]*\)")
_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"')  # a quoted-string, backslash escapes inside


@dataclass(frozen=True, slots=True)
class Signature:
    """One DKIM signature: its domain (d=), selector (s=), the receiver's result for it (None when
    the receiver did not report one), and whether d= aligns with From (relaxed and strict)."""

    domain: str
    selector: str | None
    result: str | None
    aligned: bool
    strictly_aligned: bool


@dataclass(frozen=True, slots=True)
class Method:
    """SPF, DKIM or DMARC as the receiver judged it. `result` is None when it was not reported;
    `domain` the domain it was checked for; `aligned` whether that counts for DMARC (None when it
    does not apply); `explanation` in plain words."""

    name: str
    result: str | None
    domain: str | None
    aligned: bool | None
    explanation: str

    @property
    def passed(self) -> bool:
        return self.result == PASSED


@dataclass(frozen=True, slots=True)
class ArcInfo:
    """The ARC chain: how many hops sealed it, the last seal's chain validation (cv=), and what
    the first sealer saw (its Authentication-Results) before any forwarding."""

    instances: int = 0
    chain: str | None = None
    first_hop: str | None = None
    first_results: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class HeaderReport:
    readable: bool
    message: str
    from_domain: str | None = None
    envelope_domain: str | None = None
    authserv_id: str | None = None
    spf: Method | None = None
    dkim: Method | None = None
    dmarc: Method | None = None
    signatures: tuple[Signature, ...] = ()
    arc: ArcInfo = field(default_factory=ArcInfo)
    received_spf: str | None = None
    forwarded: bool = False
    findings: tuple[Finding, ...] = ()

    def to_dict(self) -> dict[str, object]:
        def method(m: Method | None) -> dict[str, object] | None:
            if m is None:
                return None
            return {
                "result": m.result,
                "domain": m.domain,
                "aligned": m.aligned,
                "explanation": m.explanation,
            }

        return {
            "readable": self.readable,
            "message": self.message,
            "from_domain": self.from_domain,
            "envelope_domain": self.envelope_domain,
            "authserv_id": self.authserv_id,
            "spf": method(self.spf),
            "dkim": method(self.dkim),
            "dmarc": method(self.dmarc),
            "signatures": [
                {
                    "domain": s.domain,
                    "selector": s.selector,
                    "result": s.result,
                    "aligned": s.aligned,
                }
                for s in self.signatures
            ],
            "arc": {
                "instances": self.arc.instances,
                "chain": self.arc.chain,
                "first_hop": self.arc.first_hop,
                "first_results": dict(self.arc.first_results),
            },
            "received_spf": self.received_spf,
            "forwarded": self.forwarded,
            "findings": [f.to_dict() for f in self.findings],
        }


@dataclass(frozen=True, slots=True)
class _Result:
    method: str
    result: str
    props: tuple[tuple[str, str], ...]  # ("smtp.mailfrom", value), ("header.d", value)...
    comment: str = ""

    def prop(self, *names: str) -> str | None:
        for name in names:
            for key, value in self.props:
                if key == name:
                    return value.strip('"')
        return None


def _unfold(value: str) -> str:
    return re.sub(r"\r?\n[ \t]+", " ", value).strip()


def _domain_of(address: str | None) -> str | None:
    if not address:
        return None
    address = address.strip().strip("<>").strip('"')
    domain = address.rpartition("@")[2] if "@" in address else address
    domain = domain.strip().rstrip(".>").lower()
    return domain or None


def _tolerant(value: str) -> tuple[str | None, list[_Result]]:
    """A forgiving reader for headers authres rejects: `method=result props` between ';'."""
    parts = value.split(";")
    authserv = None
    head = _COMMENT.sub(" ", parts[0]).strip() if parts else ""
    if parts and "=" not in head:
        authserv = _authserv(parts[0])
        parts = parts[1:]
    results: list[_Result] = []
    for part in parts:
        comments = " ".join(_COMMENT.findall(part))
        match = _RESULT.match(_COMMENT.sub("", part).strip())
        if match is None:
            continue
        props = tuple(
            (f"{m.group('ptype').lower()}.{m.group('name').lower()}", m.group("value"))
            for m in _PROPERTY.finditer(match.group("rest"))
        )
        results.append(
            _Result(match.group("method").lower(), match.group("result").lower(), props, comments)
        )
    return authserv, results


def _authserv(head: str) -> str | None:
    """RFC 8601 2.2: authres-payload = [CFWS] authserv-id, and authserv-id is a token or a
    quoted-string. A comment before or after it is not part of it; inside quotes, "(" is just text."""
    text = head.strip()
    while (comment := _COMMENT.match(text)) is not None:
        text = text[comment.end() :].lstrip()
    quoted = _QUOTED.match(text)
    if quoted is not None:
        return re.sub(r"\\(.)", r"\1", quoted.group(1)) or None
    tokens = _COMMENT.sub(" ", text).split()
    return tokens[0] if tokens else None


def _parse_results(value: str) -> tuple[str | None, list[_Result]]:
    text = _unfold(value)
    if len(text) > _MAX_AUTHRES:
        return _tolerant(text)
    try:
        header = authres.AuthenticationResultsHeader.parse(f"Authentication-Results: {text}")
    except (authres.AuthResError, ValueError, IndexError, RecursionError):
        # RecursionError: authres recurses once per nested comment "((((..."
        return _tolerant(text)
    comments = {r.group(0) for r in _COMMENT.finditer(text)}
    results = []
    for r in header.results:
        props = tuple((f"{p.type}.{p.name}".lower(), str(p.value)) for p in r.properties)
        # authres drops comments; keep those of this method (the DMARC policy lives in one).
        own = " ".join(
            c for c in comments if re.search(rf"\b{r.method}\s*=\s*\w+\s*{re.escape(c)}", text)
        )
        results.append(_Result(str(r.method).lower(), str(r.result).lower(), props, own))
    return str(header.authserv_id), results


def _dkim_signatures(message: Message) -> list[tuple[str, str | None]]:
    found = []
    for value in message.get_all("DKIM-Signature") or []:
        tags = dict(
            (k.strip().lower(), v.strip())
            for k, _, v in (t.partition("=") for t in _unfold(str(value)).split(";"))
            if k.strip()
        )
        if tags.get("d"):
            found.append((tags["d"].lower().rstrip("."), tags.get("s")))
    return found


def _aligned(domain: str | None, from_domain: str | None) -> tuple[bool, bool]:
    if not domain or not from_domain:
        return False, False
    strict = domain == from_domain
    return strict or organizational_domain(domain) == organizational_domain(from_domain), strict


def _provider_of(domain: str) -> str | None:
    """The provider whose default envelope domain `domain` is under, for a friendlier reason."""
    for provider in catalogue.all():
        own = provider.envelope.domain
        if own and (domain == own or domain.endswith("." + own)):
            return provider.name
    return None


def _spf(
    results: list[_Result],
    received_spf: str | None,
    envelope: str | None,
    from_domain: str | None,
    forwarded: bool,
) -> Method:
    spf = next((r for r in results if r.method == "spf"), None)
    result = spf.result if spf else (received_spf.split()[0].lower() if received_spf else None)
    domain = _domain_of(spf.prop("smtp.mailfrom", "smtp.helo")) if spf else None
    domain = domain or envelope
    aligned, _ = _aligned(domain, from_domain)
    if result is None:
        text = "The receiver did not report an SPF result."
    elif result == PASSED and aligned:
        text = (
            f"SPF passed for {domain}, which aligns with the From domain {from_domain}: this "
            "pass counts for DMARC."
        )
    elif result == PASSED:
        owner = _provider_of(domain or "")
        why = (
            f" {domain} is {owner}'s own bounce domain: set up a custom return path (MAIL FROM) "
            "on your domain with the provider to make SPF align."
            if owner
            else " To align, send with an envelope sender (Return-Path) on your own domain."
        )
        text = (
            f"SPF passed, but for {domain} (the envelope sender), not the From domain "
            f"{from_domain}: they are different organizations, so this pass does not count "
            f"for DMARC.{why}"
        )
    elif result in ("fail", "softfail"):
        text = (
            f"SPF {result}: the server that delivered the message is not authorized in "
            f"{domain}'s SPF record."
        )
        text += (
            " The message was forwarded, which changes the sending server; this is expected and "
            "only DKIM can survive it."
            if forwarded
            else f" If you send through a provider, add its include to {domain}'s SPF record."
        )
    elif result == "none":
        text = f"{domain} publishes no SPF record, so SPF cannot pass."
    elif result in ("permerror", "temperror"):
        text = f"SPF {result}: {domain}'s SPF record could not be evaluated " + (
            "(a broken record or more than 10 DNS look-ups); fix the record."
            if result == "permerror"
            else "(DNS did not answer in time); usually passes on retry."
        )
    else:
        text = f"SPF gave {result} for {domain}: the domain neither authorizes nor refuses it."
    return Method("spf", result, domain, aligned if result == PASSED else None, text)


def _dkim(sigs: list[Signature], from_domain: str | None, forwarded: bool) -> Method:
    if not sigs:
        return Method(
            "dkim",
            None,
            None,
            None,
            "The message has no DKIM signature, so only SPF can make DMARC pass. Set up DKIM "
            "for your domain with your sending provider.",
        )
    good = [s for s in sigs if s.result == PASSED and s.aligned]
    if good:
        return Method(
            "dkim",
            PASSED,
            good[0].domain,
            True,
            f"DKIM passed for {good[0].domain} (selector {good[0].selector}), which aligns with "
            f"the From domain {from_domain}: this pass counts for DMARC.",
        )
    passed = [s for s in sigs if s.result == PASSED]
    if passed:
        names = ", ".join(s.domain for s in passed)
        return Method(
            "dkim",
            PASSED,
            passed[0].domain,
            False,
            f"DKIM passed, but the message was signed by {names}, not by {from_domain}: the "
            "provider signs with its own domain until you set up its DKIM records for yours, "
            "so the pass does not count for DMARC.",
        )
    first = sigs[0]
    if first.result is None:
        text = (
            f"The message is signed by {first.domain} (selector {first.selector}), but the "
            "receiver reported no DKIM result for it."
        )
    elif first.result in ("fail", "neutral"):
        text = (
            f"The DKIM signature of {first.domain} did not verify: either the message was "
            "changed on the way"
            + (" (it was forwarded: lists and forwarders often edit messages)" if forwarded else "")
            + f", or the key at {first.selector}._domainkey.{first.domain} does not match the "
            "key the provider signs with (publish the current one)."
        )
    elif first.result in ("temperror", "permerror"):
        text = (
            f"DKIM for {first.domain} gave {first.result}: the key at "
            f"{first.selector}._domainkey.{first.domain} could not be fetched or read."
        )
    else:
        text = f"DKIM gave {first.result} for {first.domain}."
    return Method("dkim", first.result, first.domain, first.aligned, text)


def _dmarc(results: list[_Result], spf: Method, dkim: Method, from_domain: str | None) -> Method:
    dmarc = next((r for r in results if r.method == "dmarc"), None)
    computed = PASSED if (spf.passed and spf.aligned) or (dkim.passed and dkim.aligned) else "fail"
    result = dmarc.result if dmarc else None
    policy = re.search(r"\bp=(\w+)", dmarc.comment) if dmarc else None
    domain = (dmarc.prop("header.from") if dmarc else None) or from_domain
    if result is None:
        text = "The receiver did not report DMARC. From the results above it would " + (
            "pass." if computed == PASSED else "fail: neither SPF nor DKIM passed aligned."
        )
    elif result == PASSED:
        via = (
            " and ".join(m.name.upper() for m in (spf, dkim) if m.passed and m.aligned)
            or "an aligned pass"
        )
        text = f"DMARC passed for {domain} through {via}."
    elif result == "fail":
        text = (
            f"DMARC failed for {domain}: neither SPF nor DKIM passed for a domain aligned with "
            "the From domain."
        )
        if policy:
            text += f" The domain's policy is p={policy.group(1).lower()}."
    elif result == "none":
        text = f"{domain} publishes no DMARC record, so the receiver applied no policy."
    else:
        text = f"DMARC gave {result} for {domain}."
    return Method("dmarc", result, domain, None, text)


def _arc(message: Message) -> ArcInfo:
    seals = [_unfold(str(v)) for v in message.get_all("ARC-Seal") or []]
    if not seals:
        return ArcInfo()

    def instance(value: str) -> int:
        found = re.search(r"\bi\s*=\s*(\d+)", value)
        return int(found.group(1)) if found else 0

    last = max(seals, key=instance)
    chain = re.search(r"\bcv\s*=\s*(\w+)", last)
    first_hop = None
    first_results: tuple[tuple[str, str], ...] = ()
    for value in message.get_all("ARC-Authentication-Results") or []:
        text = _unfold(str(value))
        if instance(text) != 1:
            continue
        rest = text.split(";", 1)[1] if ";" in text else ""
        first_hop, results = _parse_results(rest)
        first_results = tuple((r.method, r.result) for r in results)
    return ArcInfo(
        instances=max(instance(s) for s in seals),
        chain=chain.group(1).lower() if chain else None,
        first_hop=first_hop,
        first_results=first_results,
    )


def _unreadable(message: str) -> HeaderReport:
    return HeaderReport(
        readable=False,
        message=message,
        findings=(Finding("unreadable", Severity.ERROR, message),),
    )


def analyze(raw_headers: str) -> HeaderReport:
    """Explain the authentication of the message whose headers (or whole text) are `raw_headers`."""
    try:
        return _analyze(raw_headers)
    except Exception as exc:
        # Pasted text is arbitrary; a page must show a sentence, never a traceback. The parsers
        # below are lenient, so this is a last resort, and the type names what broke.
        return _unreadable(
            f"These headers could not be read ({type(exc).__name__}); paste them again from "
            '"Show original", without edits.'
        )


def _analyze(raw_headers: str) -> HeaderReport:
    if not isinstance(raw_headers, str) or not raw_headers.strip():
        return _unreadable('Nothing was pasted: copy the message\'s headers ("Show original").')
    truncated = len(raw_headers) > _MAX_INPUT
    # Lone surrogates (bytes a terminal could not decode) would break every later encode.
    text = raw_headers[:_MAX_INPUT].encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    text = text.lstrip("\ufeff").lstrip()
    # "From " mbox separators and blank lines before the headers are common in pastes.
    text = re.sub(r"\AFrom [^\n]*\n", "", text)
    message = email.parser.HeaderParser(policy=email.policy.compat32).parsestr(text)
    results_headers = message.get_all("Authentication-Results") or []
    from_value = message.get("From")
    if not results_headers and from_value is None and not message.get_all("DKIM-Signature"):
        return _unreadable(
            "These do not look like e-mail headers: there is no From, Authentication-Results or "
            'DKIM-Signature line. Paste the headers from your mail program\'s "Show original" '
            'or "View source".'
        )
    from_domain = _domain_of(email.utils.parseaddr(_unfold(str(from_value or "")))[1])
    envelope = _domain_of(str(message.get("Return-Path") or "")) or None
    received = message.get("Received-SPF")
    received_spf = _unfold(str(received)) if received else None

    authserv: str | None = None
    results: list[_Result] = []
    if results_headers:
        authserv, results = _parse_results(str(results_headers[0]))
    arc = _arc(message)
    hops = {_parse_results(str(v))[0] for v in results_headers[:_MAX_HOPS]} - {None}
    # Gmail seals ARC i=1 on mail it receives directly, so one seal by the receiver itself is not
    # forwarding; a seal by another host, a second seal, or results from two receivers are.
    first_sealer_elsewhere = arc.first_hop is not None and arc.first_hop != authserv
    forwarded = arc.instances > 1 or first_sealer_elsewhere or len(hops) > 1

    signed = _dkim_signatures(message)
    reported = [r for r in results if r.method == "dkim"]
    signatures: list[Signature] = []
    for r in reported:
        domain = _domain_of(r.prop("header.d", "header.i")) or ""
        selector = r.prop("header.s") or next((s for d, s in signed if d == domain), None)
        aligned, strict = _aligned(domain, from_domain)
        signatures.append(Signature(domain, selector, r.result, aligned, strict))
    for domain, selector in signed:
        if not any(s.domain == domain for s in signatures):
            aligned, strict = _aligned(domain, from_domain)
            signatures.append(Signature(domain, selector, None, aligned, strict))

    spf = _spf(results, received_spf, envelope, from_domain, forwarded)
    dkim = _dkim(signatures, from_domain, forwarded)
    dmarc = _dmarc(results, spf, dkim, from_domain)

    findings: list[Finding] = []
    if truncated:
        findings.append(
            Finding(
                "input_truncated",
                Severity.INFO,
                f"Only the first {_MAX_INPUT // 1000} kB were read: headers are never longer. If "
                "a whole message or mailbox was pasted, paste just the headers of one message.",
            )
        )
    if from_domain is None:
        findings.append(
            Finding(
                "no_from",
                Severity.WARNING,
                "No From address was found, so alignment cannot be judged.",
            )
        )
    if results_headers == []:
        findings.append(
            Finding(
                "no_results",
                Severity.WARNING,
                "There is no Authentication-Results header: paste the headers as the receiving "
                "mailbox shows them (the recipient's copy, not the sent copy).",
            )
        )
    if forwarded:
        first = ", ".join(f"{m}={r}" for m, r in arc.first_results)
        text = "The message was forwarded or relayed by another server before delivery"
        if arc.instances:
            text += (
                f"; its ARC chain ({plural(arc.instances, 'hop')}, chain {arc.chain or 'unknown'}) "
                "records "
                f"what the first hop saw" + (f": {first}" if first else "")
            )
        findings.append(
            Finding(
                "forwarded",
                Severity.INFO,
                text + ". An SPF failure here is caused by the forwarding, not by your setup.",
            )
        )
    for method in (spf, dkim, dmarc):
        if method.result not in (None, PASSED) or (method.passed and method.aligned is False):
            severity = Severity.ERROR if method.name == "dmarc" else Severity.WARNING
            if forwarded and method.name == "spf":
                severity = Severity.INFO
            code = f"{method.name}_{'not_aligned' if method.passed else method.result}"
            findings.append(Finding(code, severity, method.explanation))
        elif method.result is None and method.name == "dkim":
            findings.append(Finding("dkim_none", Severity.WARNING, method.explanation))
    findings.sort(key=lambda f: f.severity.rank)

    summary = (
        f"SPF {spf.result or 'not reported'}"
        + (" (aligned)" if spf.aligned else " (not aligned)" if spf.passed else "")
        + f", DKIM {dkim.result or 'none'}"
        + (" (aligned)" if dkim.aligned else " (not aligned)" if dkim.passed else "")
        + f", DMARC {dmarc.result or 'not reported'}"
        + (f" for {from_domain}" if from_domain else "")
        + "."
    )
    return HeaderReport(
        readable=True,
        message=summary,
        from_domain=from_domain,
        envelope_domain=envelope,
        authserv_id=authserv,
        spf=spf,
        dkim=dkim,
        dmarc=dmarc,
        signatures=tuple(signatures),
        arc=arc,
        received_spf=received_spf,
        forwarded=forwarded,
        findings=tuple(findings),
    )
