"""The fast reader of aggregate report XML: records read from their bytes, values normalised once.

A day of reports holds millions of records that repeat a few thousand combinations of verdicts,
identifiers and auth results. So each `<record>` is cut where it ends, its source address and
count are found by one regular expression, and the rest of its bytes (the key) is looked up in a
cache of combinations already read. A key not seen before is read in any element order,
whitespace and choice of optional elements (RFC 7489 uses `xs:all`: any order is valid): a record
in the schema's order by one expression (`_schema_order.py`), any other by cutting it into its
row, identifiers and auth results, each read once per distinct bytes as a small tree
(`_tree.py`) by the same `read_record` lxml's reader uses. It is still a full check of the
document: each record's bytes are read strictly or by lxml, and the rest of the document
(metadata, policy: the skeleton) is read by lxml as one small tree.

Anything else hands over to lxml: a record with attributes, entities or a comment is read by lxml
on its own; a document with namespace prefixes, comments or CDATA between records, an encoding
other than UTF-8 and the single-byte ones receivers declare, or another root element is read by
lxml as a whole (`NotPlain`). Tests check both readers give identical tables, on every receiver's
layout, every real report and mutations of both.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, BinaryIO, NamedTuple

from lxml import etree

from diagnostics.dmarc.parse import _schema_order as schema_order
from diagnostics.dmarc.parse._budget import TooManyRecords
from diagnostics.dmarc.parse._columns import COMBO_COLUMNS, RecordColumns
from diagnostics.dmarc.parse._record import (
    AuthResult,
    auth_columns,
    clean,
    count_of,
    read_record,
    read_result,
    result_of,
    spf_envelope,
)
from diagnostics.dmarc.parse._tree import (
    Decode,
    Element,
    flat_items,
    parse,
    parse_flat,
    text_value,
)
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

    Every byte is checked: each record is read strictly (its key's parts accepted by `_tree` or
    the schema-order expression) or parsed by lxml, and the rest is returned (the skeleton) to be
    read as strictly, so nothing malformed slips through. Each byte is searched once: a block is searched for `</record>` only
    past what was searched before. Raises NotPlain to hand the document to the general parser,
    Malformed when a value is not UTF-8, ReportTooLarge when records are more than `MAX_GAP` apart.
    """
    decode = check_plain_head(first)
    layout = _Layout(decode)
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
                    key = part[: pair.start()] + _PAIR_MARK + part[pair.end() :]
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
                        combo = _combo(key, decode, columns, layout)
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
                    raise TooManyRecords(max_records)
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
    be missing: the record is then read by lxml). Each is marked in the key by its own byte."""
    ip = _IP.search(part)
    count = _COUNT.search(part)
    if ip is None or count is None:
        return part, None, None
    first, second = (ip, count) if ip.start() < count.start() else (count, ip)
    return (
        b"".join(
            (
                part[: first.start()],
                _IP_MARK if first is ip else _COUNT_MARK,
                part[first.end() : second.start()],
                _IP_MARK if second is ip else _COUNT_MARK,
                part[second.end() :],
            )
        ),
        ip.group(1),
        count.group(1),
    )


# Where the address and count were cut out of a key: bytes that plain XML text never holds, so a
# key says where they were. To read the row, each mark is replaced by its element with a stand-in
# value; the row holds no other `<source_ip` or `<count`, so `read_record` finding the stand-ins
# there shows the address and count cut out are the row's own. A mark anywhere else is a control
# byte, which `_tree.parse` refuses.
_PAIR_MARK, _IP_MARK, _COUNT_MARK = b"\x00", b"\x01", b"\x02"
_STANDIN = "-"
_IP_STANDIN = b"<source_ip>-</source_ip>"
_COUNT_STANDIN = b"<count>-</count>"
_RECORD_START = re.compile(rb"\s*<record[ \t\r\n]*>")
_CHILD_START = re.compile(rb"\s*<([A-Za-z_][A-Za-z0-9_.-]*)[ \t\r\n]*(/?)>")
_END_TAG = re.compile(rb"</auth_results[ \t\r\n]*>")
# What a record without identifiers or auth results says (read_record's defaults), as codes.
_NO_IDENTIFIERS = (-1, None, -1)
_NO_AUTH = (-1, -1, -1, -1, -1, -1, None)
_INVALID = object()


def _standins(data: bytes) -> bytes:
    if _PAIR_MARK in data:
        data = data.replace(_PAIR_MARK, _IP_STANDIN + _COUNT_STANDIN)
    if _IP_MARK in data or _COUNT_MARK in data:
        data = data.replace(_IP_MARK, _IP_STANDIN).replace(_COUNT_MARK, _COUNT_STANDIN)
    return data


def _read(raw: bytes, decode: Decode) -> Any:
    """What one element of a record says, as `read_record` reads a record holding only it, or
    `_INVALID` when it is not plain XML (a mark left in it is a control byte: not plain)."""
    tree = parse_flat(raw, decode) or parse(raw, decode)
    if tree is None:
        return _INVALID
    record = Element("record", None)
    record.children.append(tree)
    return read_record(record)


def _children(raw: bytes, start: int, end: int) -> list[tuple[bytes, bytes]] | None:
    """The bytes and name of each child element between `start` and `end` of `raw` (the
    element's content), or None when anything but whitespace lies between them. Text never
    holds `<` (`_T`), so the first `</name` after a child's start tag ends it; if a child nests
    its own name, the bytes cut there do not parse and the record goes to lxml."""
    children = []
    position = start
    match = _CHILD_START.match
    find = raw.find
    while True:
        child = match(raw, position, end)
        if child is None:
            break
        name, empty = child.groups()
        if empty:
            stop = child.end()
        else:
            close = find(b"</" + name, child.end(), end)
            stop = find(b">", close, end) + 1
            if close < 0 or stop <= 0:
                return None
        children.append((raw[child.start() : stop], name))
        position = stop
    if position != end and not raw[position:end].isspace():
        return None
    return children


def _row(raw: bytes, decode: Decode, columns: RecordColumns) -> Any:
    # The pair cut out must be the row's only address and count, cut once, so every record
    # with these bytes around it reads the same way.
    if raw.count(b"<source_ip") or raw.count(b"<count"):
        return _INVALID
    marks = (raw.count(_PAIR_MARK), raw.count(_IP_MARK), raw.count(_COUNT_MARK))
    if marks != (1, 0, 0) and marks != (0, 1, 1):
        return _INVALID
    values = _read(_standins(raw), decode)
    # The stand-ins must be the row's address and count (read_record keeps the last of each).
    if values is _INVALID or values.ip != _STANDIN or values.count_text != _STANDIN:
        return _INVALID
    encoders = columns.encoders
    disposition, dkim, spf, reasons = values.combo[:4]
    return (
        encoders["disposition"].code(disposition),
        encoders["dkim_aligned"].code(dkim),
        encoders["spf_aligned"].code(spf),
        encoders["override_reasons"].code(reasons),
    )


def _identifiers(raw: bytes, decode: Decode, columns: RecordColumns) -> Any:
    values = _read(raw, decode)
    if values is _INVALID:
        return _INVALID
    header_from, envelope_from, envelope_to = values.combo[4:7]
    encoders = columns.encoders
    return (
        encoders["header_from"].code(header_from),
        envelope_from,  # None: the SPF result's domain stands in (see `_combo`)
        encoders["envelope_to"].code(envelope_to),
    )


def _auth_results(raw: bytes, decode: Decode, columns: RecordColumns) -> Any:
    """The six auth columns' codes and the envelope domain SPF names; each `<dkim>` and `<spf>`
    is read once per distinct bytes."""
    start = _CHILD_START.match(raw)
    if start is None:
        return _INVALID
    if start.group(2):
        children: list[tuple[bytes, bytes]] | None = []
    else:
        close = raw.rfind(b"</auth_results")
        if close < start.end() or _END_TAG.fullmatch(raw, close) is None:
            return _INVALID
        children = _children(raw, start.end(), close)
    if children is None:
        return _INVALID
    cache = columns.raw_parts
    dkim: list[AuthResult] = []
    spf: list[AuthResult] = []
    for child, _ in children:
        found: Any = cache.get(child, _MISSING)
        if found is _MISSING:
            flat = flat_items(child, decode)
            if flat is not None:
                found = result_of(flat[0], flat[2])
            else:
                tree = parse(child, decode)
                found = _INVALID if tree is None else read_result(tree)
            _remember(cache, child, found)
        if found is _INVALID:
            return _INVALID
        if found is not None:
            kind, result = found
            (dkim if kind == "dkim" else spf).append(result)
    # The same results come in many layouts and spacings: their columns are joined and coded
    # once per distinct results.
    results = (tuple(dkim), tuple(spf))
    coded = columns.raw_auth.get(results)
    if coded is None:
        encoders = columns.encoders
        codes = tuple(
            encoders[name].code(value)
            for name, value in zip(_AUTH_COLUMNS, auth_columns(dkim, spf), strict=True)
        )
        coded = (*codes, spf_envelope(spf))
        _remember(columns.raw_auth, results, coded)
    return coded


_SECTIONS: dict[bytes, Callable[[bytes, Decode, RecordColumns], Any]] = {
    b"row": _row,
    b"identifiers": _identifiers,
    b"identities": _identifiers,
    b"auth_results": _auth_results,
}
_AUTH_COLUMNS = COMBO_COLUMNS[7:]
_SLOTS = {b"row": 0, b"identifiers": 1, b"identities": 1, b"auth_results": 2}
_MISSING = object()


def _remember(cache: dict[Any, Any], key: object, value: object) -> None:
    if len(cache) >= _MAX_CACHED:
        cache.clear()
    cache[key] = value


class _Layout:
    """Whether the document's records are in the schema's order, as far as its records so far
    tell: the schema-order expression is tried while it keeps matching, and given up after a
    few records it did not match (receivers keep one layout per document), where trying it
    would cost more than it saves."""

    __slots__ = ("score",)

    def __init__(self, decode: Decode) -> None:
        # Only UTF-8 (the expression reads bytes as UTF-8); two misses before giving up.
        self.score = 2 if decode is _utf8 else 0

    def schema_combo(self, key: bytes, columns: RecordColumns) -> int | None:
        head = schema_order.HEAD.match(key)
        combo = None if head is None else schema_order.schema_combo(key[head.end() :], columns)
        self.score = min(self.score + 1, 8) if combo is not None else self.score - 1
        return combo


def _combo(key: bytes, decode: Decode, columns: RecordColumns, layout: _Layout) -> int | None:
    """The combination code of a record's values other than its address and count, from its key,
    or None when the record is not plain XML or the address and count cut out are not the ones
    its row has. Each top-level element (row, identifiers, auth results) is read once per
    distinct bytes, since whole records repeat less than their parts."""
    if layout.score > 0:
        combo = layout.schema_combo(key, columns)
        if combo is not None:
            return combo
    start = _RECORD_START.match(key)
    if start is None:
        return None
    sections = _children(key, start.end(), len(key))
    if sections is None:
        return None
    found: list[Any] = [None, None, None]
    cache = columns.raw_parts
    for raw, name in sections:
        value = cache.get(raw, _MISSING)
        if value is _MISSING:
            read = _SECTIONS.get(name)
            value = read(raw, decode, columns) if read else _read(raw, decode)
            _remember(cache, raw, value)
        if value is _INVALID:
            return None
        slot = _SLOTS.get(name)
        if slot is not None:
            if found[slot] is not None:
                return None  # a repeated section: lxml's reading of it is the reference
            found[slot] = value
    row, identifiers, auth = found
    if row is None:
        return None
    header_from, envelope, envelope_to = identifiers or _NO_IDENTIFIERS
    auth = auth or _NO_AUTH
    if envelope is None:
        envelope = auth[6]
    return columns.combo_of_codes(
        (
            *row,
            header_from,
            columns.encoders["envelope_from"].code(envelope),
            envelope_to,
            *auth[:6],
        )
    )


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
