"""A domain's DMARC record (RFC 7489, RFC 9989): find it, read it, say what it does and what to change.

    parse_dmarc(text) -> DmarcRecord                           pure: tags, values, findings
    check_dmarc(domain, *, resolver=None) -> DmarcCheck        the record in DNS, org-domain fallback,
    await check_dmarc_async(...) -> DmarcCheck                 external report destinations authorized?
    record_flow(domain)                                        the check as one DNS flow (_flow.py)

Why not checkdmarc for the look-ups: `checkdmarc.dmarc.parse_dmarc_record` queries DNS while it
parses (report destinations, their MX) through `checkdmarc.utils.query_dns`, whose cache is one
process-wide dict keyed by name and type only, not by nameserver. Two resolvers (two users of a
page, two tests with different zones) would be served each other's answers. So DNS goes through our
`Resolver` (its own cache), and the record is parsed here: the grammar is a dozen tags. The
organizational domain comes from diagnostics/domains.py, the library's one public suffix list.

Report destinations outside the domain's organizational domain must authorize it (RFC 7489 7.1):
`<domain>._report._dmarc.<destination>` TXT "v=DMARC1", or the wildcard `*._report._dmarc.<dest>`.

A record is read as receivers read it. RFC 9989 obsoletes RFC 7489; where they differ:
- a missing or bad p=, or a bad sp=: receivers still apply RFC 7489 6.6.3 step 6 (p=none when
  rua= has a usable address, so reports keep coming; otherwise no DMARC at all). RFC 9989 reads a
  missing p= as none, which the finding says.
- pct= is honoured as RFC 7489 says (receivers that follow it still read it), but RFC 9989
  removed it, so a bad value is a warning, not an error, and the partial-policy warning says that
  RFC 9989 receivers apply the policy in full. rf= and ri= (also removed) are noted.
- np=, psd= and t= (RFC 9989) are checked; receivers that follow only RFC 7489 ignore them.
- the tags may come in any order after v=DMARC1 (RFC 7489's grammar put p= second).
Both agree that a tag named twice voids the record (RFC 6376 3.2 tag-list), that a malformed tag
is skipped and the rest applied (RFC 7489 6.3), and that the record begins with v=DMARC1, exactly.
"""

from __future__ import annotations

import dataclasses
import re
from collections import Counter
from collections.abc import Generator
from dataclasses import dataclass, field

from diagnostics._flow import Question, run_flow, run_flow_async
from diagnostics.dns import Answer, Resolver, Status, get_resolver, normalize_name
from diagnostics.domains import organizational_domain
from diagnostics.findings import Finding, Severity
from diagnostics.verdict import Verdict, verdict_of

__all__ = [
    "DmarcCheck",
    "DmarcRecord",
    "ReportDestination",
    "check_dmarc",
    "check_dmarc_async",
    "parse_dmarc",
    "record_flow",
    "starting_record",
]

_POLICIES = ("none", "quarantine", "reject")
_MAILTO = re.compile(r"mailto:([^@\s!,]+@([^@\s!,]+?))(?:!(\d+[kmgt]?))?", re.IGNORECASE)
# White space as the record grammar has it: WSP between tokens, FWS (line breaks too) around tags.
_WSP = " \t"
_FWS = " \t\r\n"
# RFC 7489 6.4: "v" *WSP "=" *WSP "DMARC1" first, then ";" or the end. "v" is case-insensitive,
# "DMARC1" is not (%x44 %x4d %x41 %x52 %x43 %x31).
_VERSION = re.compile(r"[vV][ \t]*=[ \t]*DMARC1[ \t]*(?:;|\Z)")
# RFC 6376 3.2 (DMARC uses DKIM's tag-list): tag-name = ALPHA *ALNUMPUNC, "_" included.
_TAG_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
# RFC 7489 6.4 dmarc-fo: "0" / "1" / "d" / "s", separated by ":" with optional WSP.
_FO = re.compile(r"[01ds](?:[ \t]*:[ \t]*[01ds])*", re.IGNORECASE)


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
    """A parsed record, as receivers apply it. Defaults of RFC 7489 6.3 are filled in (sp
    defaults to p, pct to 100, adkim/aspf to relaxed, fo to 0); `policy` is what receivers apply
    (p=none when p= or sp= is bad but rua= is usable, RFC 7489 6.6.3) and None when they discard
    the record. RFC 9989's tags: `non_existent_policy` (np=, None when absent: sp= applies),
    `psd` (y, n, u or None), `testing` (t=y). `tags` keeps every tag=value pair as written, in
    order, with names in lower case."""

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
    non_existent_policy: str | None = None
    psd: str | None = None
    testing: bool = False
    failure_options: str = "0"

    @property
    def valid(self) -> bool:
        """Whether receivers apply the record at all."""
        return self.policy is not None


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
            "non_existent_policy": record.non_existent_policy if record else None,
            "pct": record.pct if record else None,
            "adkim": record.adkim if record else None,
            "aspf": record.aspf if record else None,
            "fo": record.failure_options if record else None,
            "psd": record.psd if record else None,
            "testing": record.testing if record else None,
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
        uri = raw.strip(_WSP)
        match = _MAILTO.fullmatch(uri)
        if match is None:
            findings.append(
                _error(
                    "bad_report_uri",
                    f"{tag}={uri!r} is not a mailto: address (with no spaces inside), so no "
                    f"reports go there. Write it as {tag}=mailto:dmarc@{org or 'example.com'}.",
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


@dataclass(frozen=True, slots=True)
class _Closed:
    """A tag whose value is one of a closed set, what receivers do with a bad one, and where the
    tag is defined."""

    values: tuple[str, ...]
    fallback: str
    rfc: str


# The tags other than p= and sp= (RFC 7489 step 6 decides those) whose value is one of a few
# words. A bad value is an error to fix, but receivers only drop that tag (RFC 7489 6.3).
_CLOSED = {
    "adkim": _Closed(("r", "s"), "use relaxed DKIM alignment (adkim=r)", "RFC 7489"),
    "aspf": _Closed(("r", "s"), "use relaxed SPF alignment (aspf=r)", "RFC 7489"),
    "np": _Closed(
        _POLICIES,
        "apply sp= (or p=) to subdomains that do not exist as well",
        "RFC 9989; receivers that still follow RFC 7489 ignore np= whatever its value",
    ),
    "psd": _Closed(
        ("y", "n", "u"),
        "take it as psd=u (not said whether this domain is a public suffix)",
        "RFC 9989; receivers that still follow RFC 7489 ignore psd= whatever its value",
    ),
    "t": _Closed(
        ("y", "n"),
        "apply the policy in full (t=n)",
        "RFC 9989; receivers that still follow RFC 7489 ignore t= whatever its value",
    ),
}


def _closed(tags: dict[str, str], name: str, findings: list[Finding]) -> str | None:
    value = tags.get(name)
    if value is None:
        return None
    rule = _CLOSED[name]
    if value.lower() in rule.values:
        return value.lower()
    findings.append(
        _error(
            "syntax_error",
            f"{name}={value} is not {_either(rule.values)} ({rule.rfc}). Receivers drop the tag "
            f"and {rule.fallback}.",
            name,
        )
    )
    return None


def _either(values: tuple[str, ...]) -> str:
    return ", ".join(values[:-1]) + f" or {values[-1]}"


def _version_problem(text: str) -> Finding:
    """Why `text` does not start as a DMARC record must: "v=DMARC1" first (RFC 7489 6.4, 6.6.3
    step 3), white space allowed only around "=" and before the ";"."""
    if text[:1].isspace():
        why = (
            "The record starts with white space. A DMARC record must begin with v=DMARC1, and "
            "receivers discard one that does not (RFC 7489 6.6.3). Remove the leading space."
        )
    elif re.match(rf"[vV][{_WSP}]*=[{_WSP}]*DMARC1[{_WSP}]*[^;{_WSP}]", text):
        why = (
            'A ";" must follow v=DMARC1 before the next tag; without it receivers read the '
            "version as something else and discard the record. Write v=DMARC1; p=..."
        )
    elif re.match(rf"[vV][{_WSP}]*=[{_WSP}]*DMARC1", text, re.IGNORECASE):
        why = (
            "The version must be written DMARC1, in capitals; receivers discard a record "
            'with any other spelling (RFC 7489 6.4). Write "v=DMARC1".'
        )
    else:
        why = (
            'The record must start with "v=DMARC1" (exactly, and first); receivers ignore it '
            "otherwise."
        )
    return _error("syntax_error", why, "v")


def _split(text: str, findings: list[Finding]) -> list[tuple[str, str]]:
    """The tag=value pairs of `text` in order, names in lower case (DMARC tag names are
    case-insensitive). A part that is not a tag=value pair is dropped with a warning: receivers
    discard a syntax error in the rest of a record and apply what remains (RFC 7489 6.3)."""
    pairs: list[tuple[str, str]] = []
    for index, part in enumerate(text.split(";")):
        spec = part.strip(_FWS)
        if not spec:
            continue
        name, eq, value = spec.partition("=")
        name = name.strip(_FWS)
        if not eq or not _TAG_NAME.fullmatch(name):
            if index > 0:  # a bad first part is the version problem, said once
                findings.append(
                    Finding(
                        "malformed_tag",
                        Severity.WARNING,
                        f"{spec!r} is not a tag=value pair, so receivers skip it and apply the "
                        "rest of the record (RFC 7489 6.3). Remove it, or write it as tag=value.",
                        spec,
                    )
                )
            continue
        pairs.append((name.lower(), value.strip(_FWS)))
    return pairs


def _duplicates(pairs: list[tuple[str, str]]) -> list[Finding]:
    counts = Counter(name for name, _ in pairs)
    return [
        _error(
            "duplicate_tag",
            f"The tag {name}= appears {count} times. A DMARC record may name each tag only once "
            "(RFC 7489 6.3, after RFC 6376 3.2), so receivers discard the whole record and no "
            f"policy applies. Keep one {name}=.",
            name,
        )
        for name, count in counts.items()
        if count > 1
    ]


def _policy_tag(
    tags: dict[str, str], name: str, rua: bool, findings: list[Finding]
) -> tuple[str | None, bool]:
    """(value, bad) for p= or sp=; a bad value is an error whose consequence RFC 7489 6.6.3 step 6
    decides: with a usable rua= address receivers act as if the record said p=none and keep
    sending reports, without one they apply no DMARC at all."""
    value = tags.get(name)
    if value is None:
        return None, False
    if value.lower() in _POLICIES:
        return value.lower(), False
    if rua:
        then = (
            "Receivers then set the record aside and act as if it said p=none, still sending "
            "reports to rua= (RFC 7489 6.6.3)"
            + (f", so p={tags['p']} is not applied" if name == "sp" and "p" in tags else "")
            + "."
        )
    else:
        then = (
            "With no usable rua= address either, receivers ignore the whole record "
            "(RFC 7489 6.6.3)"
            + (f", p={tags['p']} included" if name == "sp" and "p" in tags else "")
            + "."
        )
    fix = "Write none, quarantine or reject" + (
        ", or remove sp= (subdomains then get p=)." if name == "sp" else "."
    )
    findings.append(
        _error(
            "syntax_error", f"{name}={value} is not none, quarantine or reject. {then} {fix}", name
        )
    )
    return None, True


def _no_policy(rua: bool) -> Finding:
    if rua:
        return Finding(
            "no_policy",
            Severity.WARNING,
            "The record has no p= tag. Because it has a rua= address, receivers act as if it "
            "said p=none (RFC 7489 6.6.3; RFC 9989 reads a missing p= as none too): they send "
            "reports but do not act on mail that fails DMARC. Write p=none, and tighten it once "
            "the reports look clean.",
            "p",
        )
    return _error(
        "no_policy",
        "The record has no p= tag and no rua= address, so receivers that follow RFC 7489 ignore "
        "it (RFC 7489 6.6.3); RFC 9989 reads a missing p= as p=none, which asks for nothing "
        "either. Add p=none and a rua= address to start monitoring.",
        "p",
    )


def _pct(tags: dict[str, str], findings: list[Finding]) -> int:
    value = tags.get("pct")
    if value is None:
        return 100
    if value.isdigit() and int(value) <= 100:
        return int(value)
    # RFC 7489 6.3: a bad value gives way to the default (100); RFC 9989 removed pct= and its
    # receivers ignore it whatever it says. Either way the policy applies in full.
    findings.append(
        Finding(
            "bad_pct",
            Severity.WARNING,
            f"pct={value} is not a whole number from 0 to 100. Receivers that still follow "
            "RFC 7489 ignore it and apply the policy to all mail (pct=100); RFC 9989 removed pct= "
            "and its receivers ignore it whatever its value. Remove pct= (RFC 9989's t=y marks "
            "a policy as a test).",
            "pct",
        )
    )
    return 100


def _fo(tags: dict[str, str], findings: list[Finding]) -> str:
    value = tags.get("fo")
    if value is None:
        return "0"
    if _FO.fullmatch(value):
        return re.sub(rf"[{_WSP}]", "", value).lower()
    findings.append(
        _error(
            "syntax_error",
            f"fo={value} is not a list of 0, 1, d and s separated by ':' (RFC 7489 6.3). Receivers "
            "drop it and use fo=0 (a failure report only when both SPF and DKIM fail). Write, "
            "for example, fo=1.",
            "fo",
        )
    )
    return "0"


def _removed(tags: dict[str, str]) -> list[Finding]:
    gone = [name for name in ("rf", "ri") if name in tags]
    if not gone:
        return []
    names = " and ".join(f"{n}=" for n in gone)
    return [
        Finding(
            "removed_tag",
            Severity.INFO,
            f"{names} {'is' if len(gone) == 1 else 'are'} no longer part of DMARC: RFC 9989 "
            f"removed {'it' if len(gone) == 1 else 'them'}, and receivers that follow it ignore "
            f"{'it' if len(gone) == 1 else 'them'}. Harmless; it can go.",
            ",".join(gone),
        )
    ]


def parse_dmarc(text: str, *, domain: str | None = None) -> DmarcRecord:
    """Parse a DMARC TXT value as receivers read it (RFC 7489, with RFC 9989's np, psd and t).
    `domain` (the policy domain) lets report addresses be judged internal or external; without it
    every address counts as external.

    Receivers discard the record (`policy` None) when it does not start with v=DMARC1 or names a
    tag twice. A missing or bad p=, or a bad sp=, leaves p=none when a rua= address is usable and
    no policy otherwise (RFC 7489 6.6.3 step 6). Any other bad tag is dropped and its default
    used (RFC 7489 6.3); each problem is a finding."""
    org = organizational_domain(domain) if domain else ""
    findings: list[Finding] = []
    version_ok = _VERSION.match(text) is not None
    if not version_ok:
        findings.append(_version_problem(text))
    pairs = _split(text, findings)
    duplicates = _duplicates(pairs)
    findings.extend(duplicates)
    tags: dict[str, str] = {}
    for name, value in pairs:
        tags.setdefault(name, value)
    rua = _uris("rua", tags["rua"], org, findings) if "rua" in tags else []
    ruf = _uris("ruf", tags["ruf"], org, findings) if "ruf" in tags else []
    policy, _ = _policy_tag(tags, "p", bool(rua), findings)
    subdomain_policy, bad_sp = _policy_tag(tags, "sp", bool(rua), findings)
    if "p" not in tags:
        findings.append(_no_policy(bool(rua)))
    if not version_ok or duplicates:
        policy = subdomain_policy = None
    elif policy is None or bad_sp:
        # RFC 7489 6.6.3 step 6: as if "v=DMARC1; p=none" with a usable rua=, else nothing.
        policy = subdomain_policy = "none" if rua else None
    else:
        subdomain_policy = subdomain_policy or policy
    adkim = _closed(tags, "adkim", findings) or "r"
    aspf = _closed(tags, "aspf", findings) or "r"
    np = _closed(tags, "np", findings)
    psd = _closed(tags, "psd", findings)
    testing = _closed(tags, "t", findings) == "y"
    pct = _pct(tags, findings)
    fo = _fo(tags, findings)
    findings.extend(_removed(tags))
    findings.sort(key=lambda f: f.severity.rank)
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
        non_existent_policy=np if policy is not None else None,
        psd=psd,
        testing=testing,
        failure_options=fo,
    )


def _is_dmarc(text: str) -> bool:
    """A TXT string that starts as a DMARC record (RFC 7489 6.6.3 step 3)."""
    return _VERSION.match(text) is not None


def _near_dmarc(text: str) -> bool:
    """Meant as a DMARC record but not one: leading white space, dmarc1 in small letters, no ";"
    after the version. Receivers discard these; the check says why instead of "no record"."""
    return re.match(r"\s*v\s*=\s*dmarc1", text, re.IGNORECASE) is not None


def _dmarc_records(answer: Answer) -> list[str]:
    """The DMARC records among the TXT strings; failing any, the ones meant as DMARC records
    but discarded by receivers (so the check can say why rather than "no record")."""
    records = [r for r in answer.records if _is_dmarc(r)]
    return records or [r for r in answer.records if _near_dmarc(r)]


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
                f"pct={record.pct}: receivers that follow RFC 7489 apply the {policy} policy to "
                f"only {record.pct}% of failing mail; the rest gets the next weaker policy (reject "
                "becomes quarantine, quarantine becomes none). RFC 9989 removed pct=, and "
                "receivers that follow it apply the policy to all mail. Raise it to 100 (or "
                "remove it) when the reports look clean; t=y is RFC 9989's way to test.",
                "pct",
            )
        )
    if record.testing and policy != "none":
        findings.append(
            Finding(
                "testing_mode",
                Severity.WARNING,
                f"t=y marks the policy as a test: receivers that follow RFC 9989 apply one step "
                f"less than {tag}={policy} (reject becomes quarantine, quarantine becomes none). "
                "Remove t=y once the reports look clean.",
                "t",
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


def starting_record(org: str) -> str:
    """The DMARC record to start with where `org` publishes none: monitoring (p=none), with a
    report address at the domain, so the reports show what passes before anything is tightened."""
    return f"v=DMARC1; p=none; rua=mailto:dmarc-reports@{org}"


def record_flow(domain: str) -> Generator[list[Question], list[Answer], DmarcCheck]:
    """The check of an already normalized `domain` as a DNS flow (diagnostics/_flow.py): it asks in
    batches, the look-ups for report destinations all at once."""
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
                f'_dmarc.{org}: "{starting_record(org)}"',
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
    questions: list[Question] = []
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
    return dataclasses.replace(record, rua=rua, ruf=ruf)


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
    return await run_flow_async(record_flow(clean), get_resolver(resolver))


def check_dmarc(domain: str, *, resolver: Resolver | None = None) -> DmarcCheck:
    """The DMARC record that applies to `domain`, read and checked; every outcome is a value."""
    clean = _clean(domain)
    if clean is None:
        return _invalid(domain)
    return run_flow(record_flow(clean), get_resolver(resolver))
