"""What one `<record>` of an aggregate report says, read from any tree of elements.

Both readers call `read_record`: the lxml reader with lxml elements, the fast reader with the small
elements of `_tree.py`. One reading for both is what makes their tables identical, whatever order,
whitespace or optional elements a receiver writes (RFC 7489's schema uses `xs:all`: any order is
valid). An element here is anything with `tag` (a string, possibly `{namespace}name`; lxml gives
comments a non-string tag), `text` (the text before its first child, or None) and its children by
iteration.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from typing import Any, NamedTuple

from diagnostics.dmarc.parse._columns import MAX_COUNT

# (domain, selector or scope, result) of one DKIM or SPF result.
AuthResult = tuple[str, str | None, str | None]


class RecordValues(NamedTuple):
    """A record's source address and count as written, and its other values normalised in the
    order of `COMBO_COLUMNS`."""

    ip: str | None
    count_text: str | None
    combo: tuple[str | None, ...]


@lru_cache(maxsize=4096)
def local(tag: str) -> str:
    """An element name without its namespace."""
    return tag.rpartition("}")[2]


def clean(text: str | None) -> str | None:
    if text is None:
        return None
    text = text.strip()
    return text or None


def lower(text: str | None) -> str | None:
    if text is None:
        return None
    text = text.strip().lower()
    return text or None


def count_of(text: str | bytes | None) -> int | None:
    """A record's count as a number, or None when it is not a whole number of messages in range."""
    if text is None:
        return None
    try:
        value = int(text.strip())
    except ValueError:
        return None
    return value if 0 <= value <= MAX_COUNT else None


def read_record(record: Any) -> RecordValues:
    """The values of one `<record>` element. Later duplicates of a single value win, as they
    always have; repeated reasons and auth results are all kept, in order."""
    ip = count = disposition = dkim_v = spf_v = None
    header_from = envelope_from = envelope_to = None
    reasons: list[str] = []
    dkim: list[AuthResult] = []
    spf: list[AuthResult] = []
    for section in record:
        tag = section.tag
        if not isinstance(tag, str):
            continue
        name = local(tag)
        if name == "row":
            for item in section:
                if not isinstance(item.tag, str):
                    continue
                key = local(item.tag)
                if key == "source_ip":
                    ip = item.text
                elif key == "count":
                    count = item.text
                elif key == "policy_evaluated":
                    for verdict in item:
                        if not isinstance(verdict.tag, str):
                            continue
                        vkey = local(verdict.tag)
                        if vkey == "disposition":
                            disposition = verdict.text
                        elif vkey == "dkim":
                            dkim_v = verdict.text
                        elif vkey == "spf":
                            spf_v = verdict.text
                        elif vkey == "reason":
                            for part in verdict:
                                if isinstance(part.tag, str) and local(part.tag) == "type":
                                    reason = clean(part.text)
                                    if reason:
                                        reasons.append(reason)
        elif name in ("identifiers", "identities"):
            for item in section:
                if not isinstance(item.tag, str):
                    continue
                key = local(item.tag)
                if key == "header_from":
                    header_from = item.text
                elif key == "envelope_from":
                    envelope_from = item.text
                elif key == "envelope_to":
                    envelope_to = item.text
        elif name == "auth_results":
            for result in section:
                read = read_result(result)
                if read is not None:
                    (dkim if read[0] == "dkim" else spf).append(read[1])
    envelope = lower(envelope_from)
    if envelope is None:
        envelope = spf_envelope(spf)
    return RecordValues(
        ip,
        count,
        (
            lower(disposition) or "none",
            lower(dkim_v) or "fail",
            lower(spf_v) or "fail",
            ",".join(reasons) if reasons else None,
            lower(header_from),
            envelope,
            lower(envelope_to),
            *auth_columns(dkim, spf),
        ),
    )


def read_result(result: Any) -> tuple[str, AuthResult] | None:
    """One `<dkim>` or `<spf>` of `<auth_results>`: its kind and (domain, selector or scope,
    result) normalised, or None when it says nothing (not one of the two, or no domain:
    parsedmarc drops those too)."""
    if not isinstance(result.tag, str):
        return None
    items = ((local(item.tag), item.text) for item in result if isinstance(item.tag, str))
    return result_of(local(result.tag), items)


def result_of(kind: str, items: Iterable[tuple[str, str | None]]) -> tuple[str, AuthResult] | None:
    """`read_result` given the element's name and its children's (name, text)."""
    if kind not in ("dkim", "spf"):
        return None
    domain = second = outcome = None
    for key, text in items:
        if key == "domain":
            domain = text
        elif key == "result":
            outcome = text
        elif key in ("selector", "scope"):
            second = text
    domain = lower(domain)
    if domain is None:
        return None
    if kind == "dkim":
        return kind, (domain, clean(second), lower(outcome))
    return kind, (domain, lower(second), lower(outcome))


def spf_envelope(spf: list[AuthResult]) -> str | None:
    """The envelope sender's domain as the SPF check of it names it: receivers that leave
    envelope_from out still report it there."""
    if spf and spf[-1][1] in (None, "mfrom"):
        return spf[-1][0]
    return None


def auth_columns(dkim: list[AuthResult], spf: list[AuthResult]) -> tuple[str | None, ...]:
    """The spf_domain, spf_scope, spf_result, dkim_domains, dkim_selectors and dkim_results
    columns: one comma-separated entry per result, in the report's order."""
    return (
        ",".join(s[0] for s in spf) if spf else None,
        ",".join(s[1] or "mfrom" for s in spf) if spf else None,
        ",".join(s[2] or "none" for s in spf) if spf else None,
        ",".join(d[0] for d in dkim) if dkim else None,
        ",".join(d[1] or "none" for d in dkim) if dkim else None,
        ",".join(d[2] or "none" for d in dkim) if dkim else None,
    )
