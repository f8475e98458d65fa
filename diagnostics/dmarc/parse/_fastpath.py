"""The fast path for aggregate report XML: one regular expression per record instead of a tree walk.

Most reports are machine-written in the schema's element order. For those, each `<record>` is read by
two anchored regular expressions over its raw bytes (fixed tag names, text free of markup, entities
and control characters), and the values are normalised once per distinct raw value, not once per
record. That is several times faster than building lxml elements, which is what makes months of
reports load in seconds. It is still a full check of the document: every record part must match
to its end or be parsed by lxml, and the rest of the document (metadata, policy) is parsed by lxml.

Anything unusual hands over to the general lxml parser in `aggregate.py`: a record in another
element order, with attributes, entities or self-closing tags is read by lxml on its own; a document
with namespace prefixes, comments or CDATA between records, a non-UTF-8 encoding or another root
element is read by lxml as a whole (`NotPlain`). Tests check both paths give identical tables.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, BinaryIO

from lxml import etree

from diagnostics.dmarc.parse._columns import MAX_COUNT, RecordColumns
from diagnostics.errors import ReportError, ReportTooLarge

_BLOCK = 1024 * 1024


class NotPlain(Exception):
    """The document needs the general parser (not an error: a hand-over)."""


class Malformed(ReportError):
    """A value is not UTF-8 (the general parser repairs it and warns)."""


_T = rb"[^<&\x00-\x08\x0b\x0c\x0e-\x1f]*+"
_TEXT = b"(" + _T + b")"
# A record is read in two steps: `_HEAD` up to the verdicts, then `_REST` to its end. The rest
# (verdicts, identifiers, auth results) repeats across a sender's records, so it is looked up as raw
# bytes first and `_REST` only runs on bytes not seen before.
_HEAD = re.compile(
    rb"\s*<record>\s*<row>\s*"
    rb"<source_ip>" + _TEXT + rb"</source_ip>\s*"
    rb"<count>" + _TEXT + rb"</count>\s*"
    rb"<policy_evaluated>"
)
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
# Bounds on the fast reader's caches of raw bytes, so a batch of millions of distinct records
# cannot grow them without limit (they are cleared and refilled).
_MAX_CACHED = 50_000
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
_PREFIXED_TAG = re.compile(rb"</?[A-Za-z_][\w.-]*:")
_DECLARED_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
_ROOT = re.compile(rb"<(?![?!])([^\s/>]+)")


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


def check_plain_head(head: bytes) -> None:
    """Raise NotPlain unless the document is UTF-8 with an unprefixed `<feedback>` root."""
    declared = _DECLARED_ENCODING.match(head)
    if declared and declared.group(1).lower() not in (b"utf-8", b"utf8", b"us-ascii", b"ascii"):
        raise NotPlain
    # The first element start (a comment holding a tag also lands here: handed over, safely).
    match = _ROOT.search(head)
    if match is None:
        raise NotPlain
    if match.group(1) != b"feedback":
        raise NotPlain
    if head.startswith(b"\xef\xbb\xbf"):
        raise NotPlain


def scan(
    stream: BinaryIO,
    columns: RecordColumns,
    add_element: Callable[[Any], None],
    report: Any,
    max_records: int,
    first: bytes,
) -> bytes:
    """Read the whole document, adding its records to `columns`; returns the document with its
    records cut out (metadata and policy: small), which the caller reads with lxml.

    Every byte is checked: each record part either matches `_HEAD` + `_REST` to its end (fixed
    tag names, text free of markup and control characters) or is parsed by lxml, and the rest goes
    to lxml, so nothing malformed slips through. Raises NotPlain to hand the document to the
    general parser and Malformed when a value is not UTF-8.
    """
    check_plain_head(first)
    raw_combos = columns.raw_combos
    raw_ips = columns.raw_ips
    raw_counts = columns.raw_counts
    ip_encoder = columns.encoders["source_ip"]
    match_head = _HEAD.match
    append_count = columns.counts.append
    append_ip = columns.ips.append
    append_combo = columns.combos.append

    skeleton: list[bytes] = []
    pending = b""
    chunk = first
    started = False
    done = False
    records = report.records
    messages = report.messages
    try:
        while not done:
            if not chunk:
                done = True
            data = pending + chunk if pending else chunk
            if done:
                parts = [data]
            else:
                cut = data.rfind(b"</record>")
                if cut < 0:
                    pending = data
                    chunk = stream.read(_BLOCK)
                    continue
                cut += 9
                parts = data[:cut].split(b"</record>")
                parts[-1] = data[cut:]
            # Every part but the last is "<whitespace><record>...": one record.
            last = parts.pop()
            for part in parts:
                if not started:
                    start = part.find(b"<record")
                    if start < 0 or _PREFIXED_TAG.search(part, 0, start):
                        raise NotPlain
                    skeleton.append(part[:start])
                    part = part[start:]
                    started = True
                head = match_head(part)
                combo = None
                if head is not None:
                    rest = part[head.end() :]
                    combo = raw_combos.get(rest)
                    if combo is None:
                        combo = _combo(rest, columns)
                        if combo is not None:
                            if len(raw_combos) >= _MAX_CACHED:
                                raw_combos.clear()
                            raw_combos[rest] = combo
                if combo is None:
                    report.records, report.messages = records, messages
                    _add_unusual(part, add_element)
                    records, messages = report.records, report.messages
                    continue
                ip, count = head.groups()  # type: ignore[union-attr]
                value = raw_counts.get(count)
                if value is None:
                    value = raw_counts[count] = _count(count)
                ip_code = raw_ips.get(ip)
                if ip_code is None:
                    if len(raw_ips) >= _MAX_CACHED:
                        raw_ips.clear()
                    ip_code = raw_ips[ip] = ip_encoder.code(_text(ip))
                records += 1
                if records > max_records:
                    raise ReportTooLarge(
                        f"the report has more than {max_records:,} records (the max_records cap); "
                        "it is rejected whole rather than cut short"
                    )
                messages += value
                append_count(value)
                append_ip(ip_code)
                append_combo(combo)
            if done:
                skeleton.append(last)
            else:
                pending = last
                chunk = stream.read(_BLOCK)
    except UnicodeDecodeError as error:
        raise Malformed(f"a value is not valid UTF-8 ({error.reason})") from None
    report.records, report.messages = records, messages
    return b"".join(skeleton)


def _combo(rest: bytes, columns: RecordColumns) -> int | None:
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
    parts = columns.raw_parts
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


def _count(raw: bytes) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise NotPlain from None  # the general parser skips the record with a warning
    if not 0 <= value <= MAX_COUNT:
        raise NotPlain
    return value


def _add_unusual(part: bytes, add_element: Callable[[Any], None]) -> None:
    """A record the regular expression does not cover: read it with lxml on its own."""
    stripped = part.lstrip()
    if not stripped.startswith(b"<record") or b"<!" in part or b"<?" in part:
        raise NotPlain
    if _PREFIXED_TAG.search(part):
        raise NotPlain
    try:
        element = etree.fromstring(stripped + b"</record>", _RECORD_PARSER)
    except etree.XMLSyntaxError:
        raise NotPlain from None
    add_element(element)


_RECORD_PARSER = etree.XMLParser(
    resolve_entities=False, load_dtd=False, no_network=True, remove_comments=True, remove_pis=True
)
