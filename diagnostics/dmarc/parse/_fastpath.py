"""The fast reader of aggregate report XML: records read from their bytes, values normalised once.

A day of reports holds millions of records that repeat a few thousand combinations of verdicts,
identifiers and auth results. So each `<record>` is cut where it ends, its source address and
count are found by one regular expression, and the rest of its bytes is looked up in a cache of
combinations already read. Only bytes not seen before are read as a tree (`_tree.py`), by the same
`read_record` lxml's reader uses, in whatever element order, whitespace and optional elements the
receiver writes (RFC 7489 uses `xs:all`: any order is valid). That is several times faster than
building lxml elements, and it is still a full check of the document: each record's bytes are
read strictly or by lxml, and the rest of the document (metadata, policy) is read by lxml.

Anything else hands over to lxml: a record with attributes, entities or a comment is read by lxml
on its own; a document with namespace prefixes, comments or CDATA between records, an encoding
other than UTF-8 and the single-byte ones receivers declare, or another root element is read by
lxml as a whole (`NotPlain`). Tests check both readers give identical tables.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, BinaryIO, NamedTuple

from lxml import etree

from diagnostics.dmarc.parse._columns import RecordColumns
from diagnostics.dmarc.parse._record import clean, count_of, read_record
from diagnostics.dmarc.parse._tree import Decode, parse, text_value
from diagnostics.errors import ReportError, ReportTooLarge

# Blocks small enough that the gap check (`MAX_GAP`) stops a bomb early.
_BLOCK = 256 * 1024


class NotPlain(Exception):
    """The document needs the general parser (not an error: a hand-over)."""


class Malformed(ReportError):
    """A value is not UTF-8 (the general parser repairs it and warns)."""


_T = rb"[^<&\x00-\x08\x0b\x0c\x0e-\x1f]*+"
_TEXT = b"(" + _T + b")"
# A record's source address and count are cut out of its bytes; what is left (the verdicts,
# identifiers and auth results) repeats across a sender's records and is looked up as raw bytes,
# so the record's tree is built only for bytes not seen before. Receivers nearly always write the
# two side by side; any other place is found by two searches.
_IP_COUNT = re.compile(rb"<source_ip>" + _TEXT + rb"</source_ip>\s*<count>" + _TEXT + rb"</count>")
_IP = re.compile(rb"<source_ip>" + _TEXT + rb"</source_ip>")
_COUNT = re.compile(rb"<count>" + _TEXT + rb"</count>")
# Bounds on the fast reader's caches of raw bytes, so a batch of millions of distinct records
# cannot grow them without limit (they are cleared and refilled).
_MAX_CACHED = 50_000
_PREFIXED_TAG = re.compile(rb"</?[A-Za-z_][\w.-]*:")
_DECLARED_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
_ROOT = re.compile(rb"<(?![?!])([^\s/>]+)")
_BOM = b"\xef\xbb\xbf"
# Encodings whose text the fast reader decodes itself: UTF-8 and the single-byte encodings
# receivers declare (AOL writes windows-1252). Their markup is ASCII, so the same expressions
# find the tags. Any other declaration goes to lxml whole.
_UTF8 = {b"utf-8", b"utf8"}
_CODECS = {
    b"utf-8": "utf-8",
    b"utf8": "utf-8",
    b"us-ascii": "ascii",
    b"ascii": "ascii",
    b"windows-1252": "cp1252",
    b"cp1252": "cp1252",
    b"iso-8859-1": "latin-1",
    b"latin1": "latin-1",
    b"latin-1": "latin-1",
    b"iso-8859-15": "iso8859-15",
}
# The most XML read between two records (or before the first, or after the last). A record is a
# few hundred bytes and a report's metadata a few kilobytes; a megabyte without a record is
# padding or a bomb, and reading on would cost time and memory for nothing.
MAX_GAP = 1024 * 1024


def check_plain_head(head: bytes) -> Decode:
    """How the fast reader decodes the document's text; raises NotPlain unless it is in an encoding
    the fast reader knows, with an unprefixed `<feedback>` root."""
    bom = head.startswith(_BOM)
    if bom:
        head = head[len(_BOM) :]
    declared = _DECLARED_ENCODING.match(head)
    encoding = declared.group(1).lower() if declared else b"utf-8"
    codec = _CODECS.get(encoding)
    if codec is None or (bom and encoding not in _UTF8):
        raise NotPlain
    # The first element start (a comment holding a tag also lands here: handed over, safely).
    match = _ROOT.search(head)
    if match is None or match.group(1) != b"feedback":
        raise NotPlain
    if codec == "utf-8":
        return _utf8
    return lambda raw: raw.decode(codec)


def _utf8(raw: bytes) -> str:
    return raw.decode("utf-8")


def _too_far_apart() -> ReportTooLarge:
    return ReportTooLarge(
        f"the report has more than {MAX_GAP // 1024 // 1024} MiB of XML between two records "
        "(a record is a few hundred bytes), which only padding or a decompression bomb has; it is "
        "rejected rather than read on"
    )


class Scan(NamedTuple):
    """What `scan` leaves for lxml: the document without its records, one empty `<record/>` where
    they were (`marked`), and how many records the fast reader read itself."""

    skeleton: bytes
    marked: bool
    fast_records: int


def scan(
    stream: BinaryIO,
    columns: RecordColumns,
    add_element: Callable[[Any], None],
    report: Any,
    max_records: int,
    first: bytes,
) -> Scan:
    """Read the whole document, adding its records to `columns`.

    Every byte is checked: each record either has a tree `_tree.parse` accepts, read by
    `read_record`, or is parsed by lxml, and the rest goes to lxml (the skeleton), so nothing
    malformed slips through. Each byte is searched once: a block is searched for `</record>` only
    past what was searched before. Raises NotPlain to hand the document to the general parser,
    Malformed when a value is not UTF-8, ReportTooLarge when records are more than `MAX_GAP` apart.
    """
    decode = check_plain_head(first)
    raw_combos = columns.raw_combos
    raw_ips = columns.raw_ips
    raw_counts = columns.raw_counts
    ip_encoder = columns.encoders["source_ip"]
    search_pair = _IP_COUNT.search
    append_count = columns.counts.append
    append_ip = columns.ips.append
    append_combo = columns.combos.append

    skeleton: list[bytes] = []
    pending = b""
    chunk = first
    started = False
    records = report.records
    messages = report.messages
    fast = 0
    try:
        while True:
            if chunk:
                data = pending + chunk if pending else chunk
                # Only the new bytes (and a tag that may straddle the join) are searched.
                cut = data.rfind(b"</record>", max(0, len(pending) - 8))
                if cut < 0:
                    if len(data) > MAX_GAP:
                        raise _too_far_apart()
                    pending = data
                    chunk = stream.read(_BLOCK)
                    continue
                cut += 9
                parts = data[:cut].split(b"</record>")
                pending = data[cut:]
                parts.pop()  # the empty bytes after the last `</record>`
            else:
                if len(pending) > MAX_GAP:
                    raise _too_far_apart()
                skeleton.append(pending)
                break
            # Each part is "<whitespace><record>...": one record.
            for part in parts:
                if not started:
                    start = part.find(b"<record")
                    if start < 0 or _PREFIXED_TAG.search(part, 0, start):
                        raise NotPlain
                    if start > MAX_GAP:
                        raise _too_far_apart()
                    # One empty record stands for all of them, so lxml checks where they are.
                    skeleton += (part[:start], b"<record/>")
                    part = part[start:]
                    started = True
                pair = search_pair(part)
                if pair is not None:
                    ip, count = pair.groups()
                    key = part[: pair.start()] + b"\x00" + part[pair.end() :]
                else:
                    key, ip, count = _apart(part)
                combo = None
                value = raw_counts.get(count) if count is not None else None
                if value is None and count is not None:
                    value = count_of(count)
                    if value is not None:
                        if len(raw_counts) >= _MAX_CACHED:
                            raw_counts.clear()
                        raw_counts[count] = value
                if value is not None:
                    combo = raw_combos.get(key)
                    if combo is None:
                        combo = _combo(part, ip, count, decode, columns)
                        if combo is not None:
                            if len(raw_combos) >= _MAX_CACHED:
                                raw_combos.clear()
                            raw_combos[key] = combo
                if combo is None:
                    # Not plain, or a count that is not a number (lxml warns): lxml reads it.
                    report.records, report.messages = records, messages
                    _add_unusual(part, add_element)
                    records, messages = report.records, report.messages
                    continue
                ip_code = raw_ips.get(ip)
                if ip_code is None:
                    if len(raw_ips) >= _MAX_CACHED:
                        raw_ips.clear()
                    ip_code = raw_ips[ip] = ip_encoder.code(clean(text_value(ip, decode)))
                records += 1
                fast += 1
                if records > max_records:
                    raise ReportTooLarge(
                        f"the report has more than {max_records:,} records (the max_records cap); "
                        "it is rejected whole rather than cut short"
                    )
                messages += value
                append_count(value)  # type: ignore[arg-type]
                append_ip(ip_code)
                append_combo(combo)
            chunk = stream.read(_BLOCK)
    except UnicodeDecodeError as error:
        if decode is not _utf8:
            raise NotPlain from None  # lxml knows this encoding's rules better
        raise Malformed(f"a value is not valid UTF-8 ({error.reason})") from None
    report.records, report.messages = records, messages
    return Scan(b"".join(skeleton), started, fast)


def _apart(part: bytes) -> tuple[bytes, bytes | None, bytes | None]:
    """The key, source address and count of a record whose two are not side by side (either may
    be missing: the record is then read by lxml)."""
    ip = _IP.search(part)
    count = _COUNT.search(part)
    if ip is None or count is None:
        return part, None, None
    if ip.start() < count.start():
        key = b"\x01".join(
            (part[: ip.start()], part[ip.end() : count.start()], part[count.end() :])
        )
    else:
        key = b"\x02".join(
            (part[: count.start()], part[count.end() : ip.start()], part[ip.end() :])
        )
    return key, ip.group(1), count.group(1)


def _combo(
    part: bytes, ip: bytes | None, count: bytes | None, decode: Decode, columns: RecordColumns
) -> int | None:
    """The combination code of a record's values other than its address and count, or None when
    the record is not plain XML or the address and count found are not the ones it has."""
    if ip is None or count is None:
        return None
    # The address and count cut out must be the record's only ones, in its row, so that every
    # record with the same bytes around them (the cache key) reads the same way.
    if part.count(b"<source_ip") != 1 or part.count(b"<count") != 1:
        return None
    tree = parse(part, decode, open_root=True)
    if tree is None or tree.tag != "record":
        return None
    values = read_record(tree)
    if values.ip != text_value(ip, decode) or values.count_text != text_value(count, decode):
        return None
    return columns.combo(values.combo)


def _add_unusual(part: bytes, add_element: Callable[[Any], None]) -> None:
    """A record the fast reader does not cover: read it with lxml on its own."""
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
