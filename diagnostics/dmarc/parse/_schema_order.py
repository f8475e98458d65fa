"""The shortcut for a record not seen before, in the schema's element order.

`_fastpath.py` reads any element order: a record's bytes are cut into its row, identifiers and
auth results, each read once per distinct bytes. Records in the schema's order (RFC 7489 C, which
generators such as OpenDMARC's follow) can be read faster still, by one anchored regular
expression whose groups are the values. The fast reader tries this first for a record whose bytes
it has not seen; anything the expression does not cover takes the general way. Both give the
values `read_record` gives (tests compare them with lxml's on every layout).
"""

from __future__ import annotations

import re

from diagnostics.dmarc.parse._columns import RecordColumns

_T = rb"[^<&\x00-\x08\x0b\x0c\x0e-\x1f]*+"
_TEXT = b"(" + _T + b")"
# What precedes the verdicts: the record's start and its row's address and count, which the
# fast reader has cut out and marked with one byte.
HEAD = re.compile(rb"\s*<record>\s*<row>\s*\x00\s*<policy_evaluated>")
# Bounds on the caches, as in `_fastpath.py`.
_MAX_CACHED = 50_000
_REST = re.compile(
    rb"\s*<disposition>" + _TEXT + rb"</disposition>\s*"
    rb"<dkim>" + _TEXT + rb"</dkim>\s*"
    rb"<spf>" + _TEXT + rb"</spf>\s*"
    rb"((?:<reason>\s*<type>"
    + _T
    + rb"</type>\s*(?:<comment>"
    + _T
    + rb"</comment>\s*)?</reason>\s*)*)"
    rb"</policy_evaluated>\s*</row>\s*"
    rb"<identifiers>\s*"
    rb"(?:<envelope_to>" + _TEXT + rb"</envelope_to>\s*)?"
    rb"(?:<envelope_from>" + _TEXT + rb"</envelope_from>\s*)?"
    rb"<header_from>" + _TEXT + rb"</header_from>\s*"
    rb"</identifiers>\s*"
    rb"(?:<auth_results>\s*"
    rb"((?:<dkim>\s*<domain>" + _T + rb"</domain>\s*(?:<selector>" + _T + rb"</selector>\s*)?"
    rb"<result>"
    + _T
    + rb"</result>\s*(?:<human_result>"
    + _T
    + rb"</human_result>\s*)?</dkim>\s*)*)"
    rb"((?:<spf>\s*<domain>" + _T + rb"</domain>\s*(?:<scope>" + _T + rb"</scope>\s*)?"
    rb"<result>"
    + _T
    + rb"</result>\s*(?:<human_result>"
    + _T
    + rb"</human_result>\s*)?</spf>\s*)*)"
    rb"</auth_results>\s*|<auth_results\s*/>\s*)?\Z"
)
_REASON = re.compile(rb"<type>(" + _T + rb")</type>")
_DKIM = re.compile(
    rb"<dkim>\s*<domain>("
    + _T
    + rb")</domain>\s*(?:<selector>("
    + _T
    + rb")</selector>\s*)?<result>("
    + _T
    + rb")</result>"
)
_SPF = re.compile(
    rb"<spf>\s*<domain>("
    + _T
    + rb")</domain>\s*(?:<scope>("
    + _T
    + rb")</scope>\s*)?<result>("
    + _T
    + rb")</result>"
)


def _text(raw: bytes) -> str | None:
    text = raw.decode("utf-8").strip()
    return text or None


def _lower(raw: bytes) -> str | None:
    text = raw.decode("utf-8").strip().lower()
    return text or None


def _joined_dkim(items: list[tuple[bytes, bytes, bytes]]) -> tuple[str, str, str] | None:
    kept = [(d, s, r) for d, s, r in items if _lower(d) is not None]
    if not kept:
        return None
    return (
        ",".join(str(_lower(d)) for d, _, _ in kept),
        ",".join(_text(s) or "none" for _, s, _ in kept),
        ",".join(_lower(r) or "none" for _, _, r in kept),
    )


def _joined_spf(items: list[tuple[bytes, bytes, bytes]]) -> tuple[str, str, str] | None:
    kept = [(d, s, r) for d, s, r in items if _lower(d) is not None]
    if not kept:
        return None
    return (
        ",".join(str(_lower(d)) for d, _, _ in kept),
        ",".join(_lower(s) or "mfrom" for _, s, _ in kept),
        ",".join(_lower(r) or "none" for _, _, r in kept),
    )


def schema_combo(rest: bytes, columns: RecordColumns) -> int | None:
    """The combination code of a record's verdicts, identifiers and auth results, or None when
    `rest` is not in the shape `_REST` reads. Each part is normalised once per distinct raw value
    (`raw_parts`), since whole combinations repeat less than their parts."""
    match = _REST.match(rest)
    if match is None:
        return None
    (
        disposition,
        dkim_v,
        spf_v,
        reasons,
        envelope_to,
        envelope_from,
        header_from,
        dkim_block,
        spf_block,
    ) = match.groups()
    parts = columns.raw_schema_parts
    if len(parts) >= _MAX_CACHED:
        parts.clear()
    encoders = columns.encoders
    verdicts = parts.get((1, disposition, dkim_v, spf_v, reasons))
    if verdicts is None:
        types = [t for t in (_text(r) for r in _REASON.findall(reasons)) if t] if reasons else []
        verdicts = parts[(1, disposition, dkim_v, spf_v, reasons)] = (
            encoders["disposition"].code(_lower(disposition) or "none"),
            encoders["dkim_aligned"].code(_lower(dkim_v) or "fail"),
            encoders["spf_aligned"].code(_lower(spf_v) or "fail"),
            encoders["override_reasons"].code(",".join(types) if types else None),
        )
    spf_key = (2, spf_block)
    spf = parts.get(spf_key)
    if spf is None:
        joined = _joined_spf(_SPF.findall(spf_block or b""))
        if joined is None:
            spf = (-1, -1, -1)
            fallback = None
        else:
            spf = (
                encoders["spf_domain"].code(joined[0]),
                encoders["spf_scope"].code(joined[1]),
                encoders["spf_result"].code(joined[2]),
            )
            # Receivers that leave envelope_from out still name it in the SPF check of the
            # envelope sender (scope mfrom).
            fallback = (
                joined[0].rsplit(",", 1)[-1] if joined[1].rsplit(",", 1)[-1] == "mfrom" else None
            )
        parts[spf_key] = spf
        parts[(3, spf_block)] = (encoders["envelope_from"].code(fallback),)
    envelope = _lower(envelope_from) if envelope_from else None
    # The SPF block matters to the identity only when envelope_from is missing (the fallback).
    identity_key = (
        (4, header_from, envelope_to, envelope)
        if envelope is not None
        else (6, header_from, envelope_to, spf_block)
    )
    identity = parts.get(identity_key)
    if identity is None:
        identity = parts[identity_key] = (
            encoders["header_from"].code(_lower(header_from)),
            encoders["envelope_from"].code(envelope)
            if envelope is not None
            else parts[(3, spf_block)][0],
            encoders["envelope_to"].code(_lower(envelope_to) if envelope_to is not None else None),
        )
    dkim = parts.get((5, dkim_block))
    if dkim is None:
        joined = _joined_dkim(_DKIM.findall(dkim_block or b""))
        dkim = parts[(5, dkim_block)] = (
            (
                encoders["dkim_domains"].code(joined[0]),
                encoders["dkim_selectors"].code(joined[1]),
                encoders["dkim_results"].code(joined[2]),
            )
            if joined
            else (-1, -1, -1)
        )
    return columns.combo_of_codes(verdicts + identity + spf + dkim)
