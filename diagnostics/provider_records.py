"""The DNS records a provider's set-up asks for, filled in from what the desk knows.

    return_path_records(provider, domain, region=None)              -> tuple[DnsRecord, ...]
    dkim_records(provider, domain, selectors=(), cnames={})         -> tuple[DnsRecord, ...]

A record offered to copy must be the real one: a placeholder that looks like a value
(`feedback-smtp.REGION.amazonses.com`, `TOKEN1._domainkey`) breaks mail once published. So each
value comes from what is known: the region from the account's SMTP host (SES's
email-smtp.REGION.amazonaws.com), DKIM selectors and SES tokens from the DMARC reports (the
selectors seen signing for the domain), a provider's CNAME target from DNS where the CNAME is
already published. What is truly unknown makes the record a template (`DnsRecord.template`): the
unknown part written in angle brackets in words (`<your Amazon SES region>`), and `fill_in` saying
where to find it. Pure: the callers look things up (explain through its resolver, health through
its own) and pass what they found.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from diagnostics.providers import EnvelopeOwner, Provider
from diagnostics.spf.recommend import DnsRecord

__all__ = ["dkim_records", "return_path_records"]

# Regex fragments of the catalogue's patterns, as a person reads the value they stand for.
_NUMBER = re.compile(r"\\d(?:\+|\{\d*,?\d*\})?")
_CLASS = re.compile(r"\[[^\]]*\](?:[+*]|\{\d*,?\d*\})?")
_LITERAL = re.compile(r"[a-z0-9-]+")


def _is_pattern(text: str) -> bool:
    return bool(_NUMBER.search(text) or _CLASS.search(text))


def _marked(pattern: str) -> str:
    """A catalogue regex (`em\\d+`, `u\\d+\\.wl\\d+\\.sendgrid\\.net`) as a value whose unknown
    parts are marked: em<number>, u<number>.wl<number>.sendgrid.net."""
    text = _NUMBER.sub("<number>", pattern)
    text = _CLASS.sub("<name>", text)
    return text.replace("\\.", ".").replace("\\", "")


def _region_fill_in(provider: Provider) -> str:
    if provider.key == "ses":
        return (
            "the region of your SES SMTP host, email-smtp.<region>.amazonaws.com (the region "
            "where your domain is verified in SES)"
        )
    return f"the region {provider.name} shows for your domain in its set-up"


def return_path_records(
    provider: Provider, domain: str, region: str | None = None
) -> tuple[DnsRecord, ...]:
    """The records of `provider`'s custom return path (MAIL FROM) under `domain`, which make SPF
    align for its mail; () when it offers none, or its envelope is the customer's own already.
    `region`: the provider's region for this account, where its target names one (SES)."""
    rp = provider.return_path
    if rp is None or provider.envelope.owner is EnvelopeOwner.CUSTOMER:
        return ()
    unknown: list[str] = []
    name_unknown = _is_pattern(rp.label)
    label = _marked(rp.label) if name_unknown else rp.label
    if name_unknown:
        unknown.append(f"the exact name ({rp.description.rstrip('.')})")
    name = f"{label}.{domain}"
    if rp.needs_region and region is None:
        target = rp.target_for(unknown=f"<your {provider.name} region>")
        unknown.append(_region_fill_in(provider))
    else:
        target = rp.target_for(region)
    if _is_pattern(target):
        target = _marked(target)
        if not name_unknown:
            unknown.append(f"the exact target ({rp.description.rstrip('.')})")
    value = f"10 {target}" if rp.record_type == "MX" else target
    fill_in = f"{provider.name} shows it: {'; '.join(unknown)}" if unknown else None
    records = [
        DnsRecord(
            name, rp.record_type, value, f"{provider.name} return path", bool(unknown), fill_in
        )
    ]
    if rp.spf:
        # The subdomain's own SPF record is fixed text: unknown only when its name is.
        records.append(
            DnsRecord(
                name,
                "TXT",
                rp.spf,
                f"SPF for {provider.name}'s return path",
                name_unknown,
                fill_in if name_unknown else None,
            )
        )
    return tuple(records)


def _default_selectors(provider: Provider) -> list[str]:
    """The selectors to write when none were seen: the provider's fixed ones, else marked
    placeholders (SES shows three tokens; other providers one selector of their choosing)."""
    literal = [s for s in provider.dkim.selectors if _LITERAL.fullmatch(s)]
    if literal:
        return literal
    if provider.key == "ses":
        return [f"<SES DKIM token {n}>" for n in (1, 2, 3)]
    return [f"<selector {provider.name} shows>"]


def dkim_records(
    provider: Provider,
    domain: str,
    selectors: Sequence[str] = (),
    cnames: Mapping[str, str] | None = None,
) -> tuple[DnsRecord, ...]:
    """The DKIM key records `provider` needs on `domain`: CNAMEs to keys it hosts, or the TXT key
    it shows. `selectors`: the ones known for this domain (seen in its reports); `cnames`: the
    CNAME targets DNS already holds, by selector (used when they are the provider's)."""
    dkim = provider.dkim
    chosen = list(dict.fromkeys(s.lower() for s in selectors)) or _default_selectors(provider)
    found = {k.lower(): v.rstrip(".").lower() for k, v in (cnames or {}).items()}
    shows = f"{provider.name} shows it: {dkim.description}"
    records: list[DnsRecord] = []
    for selector in chosen:
        unknown_selector = selector.startswith("<")
        name = f"{selector}._domainkey.{domain}"
        why = f"{provider.name} DKIM key"
        if dkim.record_type == "CNAME" and dkim.target:
            pattern = dkim.target.replace("{selector}", re.escape(selector))
            seen = found.get(selector) or _sibling(selector, found)
            if seen is not None and not unknown_selector and re.fullmatch(pattern, seen, re.I):
                records.append(DnsRecord(name, "CNAME", seen, why))
                continue
            target = dkim.target.replace("{selector}", selector)
            marked = _is_pattern(target) or unknown_selector
            value = _marked(target) if _is_pattern(target) else target
            records.append(DnsRecord(name, "CNAME", value, why, marked, shows if marked else None))
        else:
            value = f"v=DKIM1; k=rsa; p=<the public key {provider.name} shows>"
            records.append(DnsRecord(name, "TXT", value, why, True, shows))
    return tuple(records)


def _sibling(selector: str, found: Mapping[str, str]) -> str | None:
    """The target of `selector` read off another selector's published CNAME: a provider's pair
    differ only there (SendGrid's s1.domainkey.u77.wl88.sendgrid.net and s2.domainkey.u77...;
    Microsoft's selector1-... and selector2-...). The caller checks it against the pattern."""
    for other, target in found.items():
        if other != selector and target.startswith(other):
            return selector + target[len(other) :]
    return None
