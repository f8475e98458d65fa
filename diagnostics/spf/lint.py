"""Checks of one SPF record on its own, without DNS: what `analyze` reports for each node.

record_findings(domain, record, *, policy) -> list[Finding]
    syntax_error, ptr_mechanism, pass_all, neutral_all, no_all, terms_after_all,
    duplicate_include, overlapping_networks. `policy` is True for the record whose `all`
    decides the domain's verdict (the domain itself and its redirect= chain); an included
    record's ?all or missing all only means "no match here", which is normal.
length_findings(domain, text, strings) -> list[Finding]
    record_too_long: over 450 bytes, or published as several strings split inside a term
    in a way that changes its meaning once the strings are joined (RFC 7208 3.3 joins them
    with nothing in between).
"""

from __future__ import annotations

import ipaddress
import itertools

from diagnostics.findings import Finding, Severity
from diagnostics.spf.record import Mechanism, Modifier, SpfRecord, parse_record
from diagnostics.spf.tree import Network

__all__ = ["MAX_RECORD_BYTES", "covered_by", "length_findings", "record_findings", "txt_strings"]

# RFC 7208 3.4: keep the whole DNS answer within 512 bytes; with the question and the other
# records of a typical answer, 450 bytes of SPF text is the practical ceiling.
MAX_RECORD_BYTES = 450


def record_findings(domain: str, record: SpfRecord, *, policy: bool) -> list[Finding]:
    found: list[Finding] = [_syntax(domain, record, problem) for problem in record.errors]
    mechanisms = record.mechanisms
    for mech in mechanisms:
        if mech.name == "ptr":
            found.append(
                Finding(
                    "ptr_mechanism",
                    Severity.WARNING,
                    f"{domain} uses {mech.text!r}. The ptr mechanism is slow, unreliable and "
                    "deprecated (RFC 7208 5.5): many receivers skip it or give it up after a "
                    "time-out, so mail it was meant to authorize can fail. Replace it with the "
                    "ip4/ip6 ranges or the include of the service that sends for you.",
                    mech.text,
                )
            )
    all_term = record.all_term
    if all_term is not None:
        found.extend(_all_findings(domain, all_term, policy=policy))
        found.extend(_after_all(domain, record, all_term))
    elif policy and record.redirect is None and record.is_valid:
        found.append(
            Finding(
                "no_all",
                Severity.WARNING,
                f"The SPF record of {domain} ends without an 'all' term or a redirect=, so "
                "mail from any server it does not list gets 'neutral': receivers treat it as "
                "if there were no SPF at all. End the record with -all (or ~all while you are "
                "still checking your senders).",
            )
        )
    found.extend(_duplicate_includes(domain, mechanisms))
    found.extend(_overlaps(domain, mechanisms))
    return found


def _syntax(domain: str, record: SpfRecord, problem: str) -> Finding:
    term = next((t for t in record.text.split(" ") if t and repr(t) in problem), None)
    return Finding(
        "syntax_error",
        Severity.ERROR,
        f"The SPF record of {domain} has a syntax error: {problem} Receivers give 'permerror' "
        "for the whole record, which DMARC treats as an SPF fail. Correct the term.",
        term,
    )


def _all_findings(domain: str, term: Mechanism, *, policy: bool) -> list[Finding]:
    if term.qualifier.value == "+":
        where = "" if policy else " (an included record), so every domain that includes it"
        return [
            Finding(
                "pass_all",
                Severity.ERROR,
                f"{domain}{where} ends with {term.text!r}: every server on the internet passes "
                "SPF for it, so SPF stops nothing and spammers can use your domain. Use -all "
                "(or ~all) after the senders you really use.",
                term.text,
            )
        ]
    if term.qualifier.value == "?" and policy:
        return [
            Finding(
                "neutral_all",
                Severity.WARNING,
                f"{domain} ends with {term.text!r}: mail from servers it does not list gets "
                "'neutral', which receivers treat like no SPF at all and DMARC counts as a fail "
                "of SPF. Once every sender is listed, use -all (or ~all).",
                term.text,
            )
        ]
    return []


def _after_all(domain: str, record: SpfRecord, all_term: Mechanism) -> list[Finding]:
    found: list[Finding] = []
    for term in record.terms:
        if isinstance(term, Mechanism) and term.position > all_term.position:
            found.append(
                Finding(
                    "terms_after_all",
                    Severity.WARNING,
                    f"In {domain}, {term.text!r} comes after {all_term.text!r}, which matches "
                    "every address, so it is never evaluated and the servers it names are not "
                    "authorized. Move it before the 'all' term.",
                    term.text,
                )
            )
        elif isinstance(term, Modifier) and term.name == "redirect":
            found.append(
                Finding(
                    "terms_after_all",
                    Severity.WARNING,
                    f"{domain} has both {all_term.text!r} and {term.text!r}; with an 'all' term "
                    "present the redirect is ignored (RFC 7208 6.1). Remove one of them: keep "
                    "the redirect only if the other domain's policy should apply.",
                    term.text,
                )
            )
    return found


def _duplicate_includes(domain: str, mechanisms: tuple[Mechanism, ...]) -> list[Finding]:
    seen: set[str] = set()
    found: list[Finding] = []
    for mech in mechanisms:
        if mech.name != "include" or mech.domain_spec is None:
            continue
        key = mech.domain_spec.lower().rstrip(".")
        if key in seen:
            found.append(
                Finding(
                    "duplicate_include",
                    Severity.WARNING,
                    f"{domain} includes {key} more than once. The second include authorizes "
                    "nothing new but costs another of the 10 DNS look-ups. Remove it.",
                    mech.text,
                )
            )
        seen.add(key)
    return found


def _overlaps(domain: str, mechanisms: tuple[Mechanism, ...]) -> list[Finding]:
    literal: list[tuple[Mechanism, Network]] = []
    for mech in mechanisms:
        network = mech.network if mech.name in ("ip4", "ip6") else None
        if network is not None:
            literal.append((mech, network))
    found: list[Finding] = []
    for (a, net_a), (b, net_b) in itertools.combinations(literal, 2):
        if net_a.version != net_b.version or not net_a.overlaps(net_b):
            continue
        wider, narrower = (a, b) if net_a.prefixlen <= net_b.prefixlen else (b, a)
        same_effect = a.qualifier == b.qualifier
        advice = (
            f"Remove {narrower.text!r}."
            if same_effect
            else "The first one listed decides; check that this is what you meant."
        )
        found.append(
            Finding(
                "overlapping_networks",
                Severity.INFO if same_effect else Severity.WARNING,
                f"In {domain}, {narrower.text!r} lies inside {wider.text!r}. {advice}",
                narrower.text,
            )
        )
    return found


def covered_by(network: Network, others: tuple[Network, ...]) -> Network | None:
    """The first of `others` that contains all of `network`, or None."""
    for other in others:
        if isinstance(network, ipaddress.IPv4Network) and isinstance(other, ipaddress.IPv4Network):
            if network.subnet_of(other):
                return other
        elif (
            isinstance(network, ipaddress.IPv6Network)
            and isinstance(other, ipaddress.IPv6Network)
            and network.subnet_of(other)
        ):
            return other
    return None


def length_findings(domain: str, text: str, strings: tuple[bytes, ...]) -> list[Finding]:
    found: list[Finding] = []
    size = len(text.encode("utf-8"))
    if size > MAX_RECORD_BYTES:
        found.append(
            Finding(
                "record_too_long",
                Severity.WARNING,
                f"The SPF record of {domain} is {size} bytes. Above about {MAX_RECORD_BYTES} "
                "bytes the DNS answer may not fit in one UDP packet, and some receivers then "
                "fail to read it (temperror or permerror). Shorten it: remove includes you no "
                "longer use or move a provider to its own return-path subdomain.",
            )
        )
    if len(strings) > 1:
        bad = _bad_split(strings)
        if bad is not None:
            found.append(
                Finding(
                    "record_too_long",
                    Severity.ERROR,
                    f"The SPF record of {domain} is published as {len(strings)} strings, and the "
                    f"split after {bad!r} falls inside a term. Receivers join the strings with "
                    "nothing in between, so the record they read is not the one you meant. "
                    "Split only where the first string ends with a space (or the next starts "
                    "with one).",
                    bad,
                )
            )
    return found


def _bad_split(strings: tuple[bytes, ...]) -> str | None:
    """The text before the first split that changes the record's meaning, or None."""
    pieces = [s.decode("utf-8", errors="replace") for s in strings]
    joined = "".join(pieces)
    joined_errors = len(parse_record(joined).errors)
    offset = 0
    for index, piece in enumerate(pieces[:-1]):
        offset += len(piece)
        following = pieces[index + 1]
        if piece.endswith(" ") or following.startswith(" "):
            continue
        # The split is inside a term. That is legal (a long term may need it); it is a mistake
        # when the author clearly meant a space: with one, the record reads better.
        spaced = joined[:offset] + " " + joined[offset:]
        spaced_errors = len(parse_record(spaced).errors)
        tail = piece.rsplit(" ", 1)[-1]
        head = following.split(" ", 1)[0]
        both_whole_terms = _is_term(tail) and _is_term(head)
        if spaced_errors < joined_errors or (spaced_errors <= joined_errors and both_whole_terms):
            return tail or piece[-20:]
    return None


def _is_term(token: str) -> bool:
    """Whether `token` is a complete, valid SPF term on its own ("include:a.example", "-all")."""
    if not token or token.lower() == "v=spf1":
        return token.lower() == "v=spf1"
    parsed = parse_record("v=spf1 " + token)
    return parsed.is_valid and len(parsed.terms) == 1


def txt_strings(text: str) -> tuple[str, ...]:
    raw = text.encode("utf-8")
    pieces: list[str] = []
    while len(raw) > 255:
        cut = raw.rfind(b" ", 0, 255) + 1
        if cut <= 0:
            cut = 255  # one term over 255 bytes cannot be kept whole; split it where it must be
        pieces.append(raw[:cut].decode("utf-8", errors="replace"))
        raw = raw[cut:]
    pieces.append(raw.decode("utf-8", errors="replace"))
    return tuple(pieces)
