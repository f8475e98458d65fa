"""What one `<record>` of an aggregate report says, read from any tree of elements.

Both readers call `read_record`: the lxml reader with lxml elements, the fast reader with the small
elements of `_tree.py`. One reading for both is what makes their tables identical, whatever order,
whitespace or optional elements a receiver writes (RFC 7489's schema uses `xs:all`: any order is
valid). An element here is anything with `tag` (a string, possibly `{namespace}name`; lxml gives
comments a non-string tag), `text` (the text before its first child, or None) and its children by
iteration.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, NamedTuple

from diagnostics.dmarc.parse._columns import MAX_COUNT


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
    dkim: list[tuple[str, str | None, str | None]] = []
    spf: list[tuple[str, str | None, str | None]] = []
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
                if not isinstance(result.tag, str):
                    continue
                kind = local(result.tag)
                domain = second = outcome = None
                for item in result:
                    if not isinstance(item.tag, str):
                        continue
                    key = local(item.tag)
                    if key == "domain":
                        domain = item.text
                    elif key == "result":
                        outcome = item.text
                    elif key in ("selector", "scope"):
                        second = item.text
                domain = lower(domain)
                if domain is None:
                    continue  # a result without a domain says nothing (parsedmarc drops it too)
                if kind == "dkim":
                    dkim.append((domain, clean(second), lower(outcome)))
                elif kind == "spf":
                    spf.append((domain, lower(second), lower(outcome)))
    envelope = lower(envelope_from)
    if envelope is None and spf and spf[-1][1] in (None, "mfrom"):
        # The SPF check of the envelope sender names its domain; receivers that leave
        # envelope_from out still report it there.
        envelope = spf[-1][0]
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
            ",".join(s[0] for s in spf) if spf else None,
            ",".join(s[1] or "mfrom" for s in spf) if spf else None,
            ",".join(s[2] or "none" for s in spf) if spf else None,
            ",".join(d[0] for d in dkim) if dkim else None,
            ",".join(d[1] or "none" for d in dkim) if dkim else None,
            ",".join(d[2] or "none" for d in dkim) if dkim else None,
        ),
    )
