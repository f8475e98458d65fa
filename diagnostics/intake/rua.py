"""The exact `rua=` a customer publishes so that receivers send their reports to the desk, and the
record the report domain must publish when it is not the customer's own (RFC 7489 section 7.1).

    advice = rua_advice("example.com", ["dmarc-reports@reports.trekmail.net"],
                        current="v=DMARC1; p=quarantine; rua=mailto:dmarc@example.com")
    advice.record          # v=DMARC1; p=quarantine; rua=mailto:dmarc@example.com,mailto:dmarc-...
    advice.authorizations  # example.com._report._dmarc.reports.trekmail.net TXT "v=DMARC1"
    rua_advice_for(check_dmarc("example.com"), [...])  # from the record DNS gave

Pure: no DNS. The caller says what the domain publishes now (`current`), None when it publishes no
DMARC record, or `current_known=False` when that could not be read: then only the tag is given, never
a whole record to paste, since a record written without the current one would drop its tags (an
existing rua= among them, which would stop the reports someone else relies on).

Every tag of the current record is kept, in its order, and so is every address already in its rua=;
the desk's addresses are added after them. With no record, the advice starts monitoring: p=none.

RFC 7489 7.1: a receiver sends reports to an address outside the organizational domain of the
domain publishing the record only if the address's domain publishes
`<domain>._report._dmarc.<report domain>` TXT "v=DMARC1". The desk's report domain can instead
publish the wildcard `*._report._dmarc.<report domain>` once for every customer.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from diagnostics.dmarc.record import DmarcCheck, parse_dmarc
from diagnostics.domains import organizational_domain
from diagnostics.errors import InvalidInput

__all__ = ["Authorization", "RuaAdvice", "rua_advice", "rua_advice_for"]

_TAGS = ("rua", "ruf")


@dataclass(frozen=True, slots=True)
class Authorization:
    """The TXT record a report domain publishes to accept reports about `domain` (RFC 7489 7.1)."""

    domain: str
    report_domain: str

    @property
    def name(self) -> str:
        return f"{self.domain}._report._dmarc.{self.report_domain}"

    @property
    def wildcard(self) -> str:
        """The one record that accepts reports about every domain instead."""
        return f"*._report._dmarc.{self.report_domain}"

    value = "v=DMARC1"

    @property
    def line(self) -> str:
        return f'{self.name} TXT "{self.value}"'


@dataclass(frozen=True, slots=True)
class RuaAdvice:
    """What `domain` publishes so that its reports reach `addresses`.

    `tag` is the whole rua= (or ruf=) tag as it must read; `record` the whole DMARC record at
    `record_name` with that tag, or None when the current record is unknown (then change only the
    tag). `already` is True when the current record sends every report there already."""

    domain: str
    kind: str
    addresses: tuple[str, ...]
    tag: str
    record_name: str
    record: str | None
    current: str | None
    already: bool
    authorizations: tuple[Authorization, ...]

    def lines(self) -> list[str]:
        """The advice in plain words, one step a line."""
        if self.already:
            out = [f"{self.record_name} already sends {self.kind} reports to the desk: {self.tag}"]
        elif self.record is None:
            out = [
                f"The current DMARC record of {self.domain} could not be read. In it, set the "
                f"{self.kind}= tag to (keep every other tag as it is):",
                f"  {self.tag}",
            ]
        else:
            verb = "Change" if self.current else "Publish"
            out = [f"{verb} the TXT record at {self.record_name} to:", f'  "{self.record}"']
        for auth in self.authorizations:
            out.append(
                f"{auth.report_domain} is outside {organizational_domain(self.domain)}, so "
                f"receivers send reports there only once {auth.report_domain} publishes "
                "(RFC 7489 7.1):"
            )
            out.append(f"  {auth.line}")
            out.append(f'  (or once for every customer: {auth.wildcard} TXT "v=DMARC1")')
        return out

    def to_dict(self) -> dict[str, object]:
        return {
            "domain": self.domain,
            "kind": self.kind,
            "addresses": list(self.addresses),
            "tag": self.tag,
            "record_name": self.record_name,
            "record": self.record,
            "current": self.current,
            "already": self.already,
            "authorizations": [
                {"name": a.name, "type": "TXT", "value": a.value, "wildcard": a.wildcard}
                for a in self.authorizations
            ],
        }


def rua_advice(
    domain: str,
    addresses: Iterable[str],
    *,
    current: str | None = None,
    current_known: bool = True,
    kind: str = "rua",
) -> RuaAdvice:
    """The `kind` (rua or ruf) tag and record `domain` publishes so that its reports go to
    `addresses` (the desk's report addresses) as well as wherever they go now."""
    name = _domain(domain)
    if kind not in _TAGS:
        raise InvalidInput("The tag is rua (aggregate reports) or ruf (failure reports).")
    wanted = [_address(a) for a in addresses]
    if not wanted:
        raise InvalidInput("Give at least one report address.")
    pairs: list[tuple[str, str]] = []
    kept: list[str] = []
    if current_known and current:
        record = parse_dmarc(current, domain=name)
        pairs = [(tag, value) for tag, value in record.tags if tag != "v"]
        existing = dict(record.tags).get(kind, "")
        kept = [uri.strip() for uri in existing.split(",") if uri.strip()]
    have = {_mailbox_of(uri) for uri in kept}
    added = [a for a in dict.fromkeys(wanted) if a not in have]
    tag = f"{kind}=" + ",".join([*kept, *(f"mailto:{a}" for a in added)])
    text: str | None = None
    if current_known:
        if not any(t == "p" for t, _ in pairs):
            pairs.insert(0, ("p", "none"))  # no record (or one without a policy): monitor first
        if any(t == kind for t, _ in pairs):
            pairs = [(t, tag.partition("=")[2] if t == kind else v) for t, v in pairs]
        else:
            after = max(i for i, (t, _) in enumerate(pairs) if t in ("p", "sp", "pct", "rua"))
            pairs.insert(after + 1, (kind, tag.partition("=")[2]))
        text = "; ".join(["v=DMARC1", *(f"{t}={v}" for t, v in pairs)])
    org = organizational_domain(name)
    report_domains = dict.fromkeys(a.rpartition("@")[2] for a in wanted)
    authorizations = tuple(
        Authorization(name, report_domain)
        for report_domain in report_domains
        if organizational_domain(report_domain) != org
    )
    return RuaAdvice(
        domain=name,
        kind=kind,
        addresses=tuple(dict.fromkeys(wanted)),
        tag=tag,
        record_name=f"_dmarc.{name}",
        record=text,
        current=current if current_known else None,
        already=current_known and bool(current) and not added,
        authorizations=authorizations,
    )


def rua_advice_for(check: DmarcCheck, addresses: Iterable[str], *, kind: str = "rua") -> RuaAdvice:
    """`rua_advice` for the DMARC record DNS gave (`check_dmarc`): the record where it was found
    (the organizational domain's, when the domain inherits it), the monitoring record when there
    is none, and the tag alone when the record could not be read or is not one (never a whole
    record written without the one in force)."""
    if check.record is not None:
        where = check.found_at or check.domain
        return rua_advice(where, addresses, current=check.record.text, kind=kind)
    if any(f.code == "no_record" for f in check.findings):
        return rua_advice(check.domain, addresses, current=None, kind=kind)
    return rua_advice(check.found_at or check.domain, addresses, current_known=False, kind=kind)


def _domain(domain: str) -> str:
    name = domain.strip().rstrip(".").lower()
    labels = name.split(".")
    if len(labels) < 2 or not all(labels) or any(c.isspace() or c in "@/;," for c in name):
        raise InvalidInput(f"{domain!r} is not a domain name, e.g. example.com.")
    return name


def _address(address: str) -> str:
    text = address.strip().removeprefix("mailto:").strip("<>").strip()
    local, at, domain = text.rpartition("@")
    if not at or not local or any(c in text for c in " ;,!") or "." not in domain:
        raise InvalidInput(
            f"{address!r} is not a report address, e.g. dmarc-reports@reports.example.net."
        )
    return f"{local}@{domain.lower().rstrip('.')}"


def _mailbox_of(uri: str) -> str:
    """The address of a mailto: URI, as compared (a size limit "!10m" dropped)."""
    text = uri.strip()
    if text.lower().startswith("mailto:"):
        text = text[len("mailto:") :]
    text = text.partition("!")[0]
    local, _, domain = text.rpartition("@")
    return f"{local}@{domain.lower().rstrip('.')}"
