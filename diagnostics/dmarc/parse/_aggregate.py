"""Streaming parser of DMARC aggregate report XML (RFC 7489 and RFC 9990) into `RecordColumns`.

Documents are read in blocks by the fast reader (`_fastpath.py`: records cached by their bytes, in
any element order); anything it does not cover is read here by lxml's `iterparse`, which hands
over one `<record>` at a time and frees it, so memory stays flat however many rows a report has
either way. Both read a record with `_record.read_record`, and only the children of `<feedback>`
are the report's records, metadata and policy.

Safety: a document that declares a DTD (`<!DOCTYPE`) is rejected before parsing, since reports never
need one and it is how entity bombs and XXE work; the parser itself is also told not to resolve
entities, not to load DTDs and not to touch the network.

Tolerance: real receivers send invalid UTF-8, stray `<xs:schema>` wrappers, upper-case results, empty
fields and a missing org_name. A document that fails strict parsing is read again after repair
(undecodable bytes become U+FFFD, `xs:schema` tags are removed) and, if still broken, with libxml2's
recovery; the report then carries a warning saying its values may be incomplete.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import lru_cache
from typing import Any, BinaryIO

from lxml import etree

from diagnostics.dmarc.parse import _fastpath as fastpath
from diagnostics.dmarc.parse._bounds import (
    KEY_BYTES,
    MAX_TEXT,
    cut_note,
    cut_to,
    cut_to_bytes,
    quoted,
)
from diagnostics.dmarc.parse._budget import TooManyRecords, UploadBudget
from diagnostics.dmarc.parse._columns import RecordColumns, ReportHeader, utc
from diagnostics.dmarc.parse._limits import ParseLimits
from diagnostics.dmarc.parse._record import clean as _clean
from diagnostics.dmarc.parse._record import count_of, read_record
from diagnostics.dmarc.parse._record import local as _local
from diagnostics.dmarc.parse._record import lower as _lower
from diagnostics.dmarc.parse._validate import check_dates, check_rows
from diagnostics.domains import public_suffix_list
from diagnostics.errors import InvalidInput, ReportError
from diagnostics.idn import domain_name
from diagnostics.wording import plural


@dataclass(frozen=True, slots=True)
class ReportMeta:
    """What an aggregate report says about itself, apart from its rows."""

    org_name: str | None
    org_email: str | None
    org_extra_contact_info: str | None
    report_id: str | None
    begin: datetime | None
    end: datetime | None
    policy_domain: str | None
    policy_p: str | None
    policy_sp: str | None
    policy_np: str | None
    policy_pct: int | None
    policy_adkim: str | None
    policy_aspf: str | None
    policy_fo: str | None
    policy_testing: str | None
    policy_discovery_method: str | None
    xml_schema: str
    xml_namespace: str | None
    generator: str | None
    errors: tuple[str, ...]
    record_count: int
    message_count: int
    warnings: tuple[str, ...] = field(default=())

    @property
    def header(self) -> ReportHeader:
        return ReportHeader(
            org_name=self.org_name,
            report_id=self.report_id,
            begin=self.begin,
            end=self.end,
            policy_domain=self.policy_domain,
            policy_p=self.policy_p,
            policy_sp=self.policy_sp,
            policy_pct=self.policy_pct,
            policy_adkim=self.policy_adkim,
            policy_aspf=self.policy_aspf,
        )


# ---- safety ------------------------------------------------------------------------------------

_PROLOGUE_ITEM = re.compile(rb"\s*(<\?.*?\?>|<!--.*?-->)", re.DOTALL)


def _check_prologue(head: bytes) -> None:
    """Reject a document that declares a DTD; reports never need one."""
    text = head.lstrip(b"\xef\xbb\xbf")
    position = 0
    while True:
        match = _PROLOGUE_ITEM.match(text, position)
        if match is None:
            break
        position = match.end()
    rest = text[position:].lstrip()
    if rest[:9].upper() == b"<!DOCTYPE":
        raise ReportError(
            "the XML declares a DTD (<!DOCTYPE ...>); reports never need one and it is how entity "
            "bombs and external-file (XXE) attacks work, so the file is rejected unread"
        )


def _parser_options(recover: bool) -> dict[str, Any]:
    return {
        "resolve_entities": False,
        "load_dtd": False,
        "no_network": True,
        "dtd_validation": False,
        "huge_tree": False,
        "recover": recover,
        "remove_comments": True,
        "remove_pis": True,
    }


# ---- the parser --------------------------------------------------------------------------------


class _Report:
    """The report-level values, filled in as their elements end."""

    def __init__(self) -> None:
        self.metadata: dict[str, str | None] = {}
        self.errors: list[str] = []
        self.policy: dict[str, str | None] = {}
        self.version: str | None = None
        self.namespace: str | None = None
        self.root: str | None = None
        self.records = 0
        self.messages = 0
        self.warnings: list[str] = []
        # Set when libxml2 had to recover the document: why strict parsing failed.
        self.recovered_from: str | None = None


def _read_metadata(element: Any, report: _Report) -> None:
    for child in element:
        tag = child.tag
        if not isinstance(tag, str):
            continue
        name = _local(tag)
        if name == "date_range":
            for part in child:
                if isinstance(part.tag, str):
                    report.metadata[_local(part.tag)] = _clean(part.text)
        elif name == "error":
            text = _clean(child.text)
            if text:
                report.errors.append(text)
        else:
            report.metadata[name] = _clean(child.text)


def _read_policy(element: Any, report: _Report) -> None:
    if report.policy:
        return  # a second policy_published (seen in the wild): the first one is the report's
    for child in element:
        if isinstance(child.tag, str):
            report.policy[_local(child.tag)] = _clean(child.text)


RowSink = Callable[[Any], None]


def _row_sink(columns: RecordColumns, report: _Report, max_records: int) -> RowSink:
    """A function that adds one `<record>` element to `columns`, at most `max_records`."""

    def add(record: Any) -> None:
        ip, count, combo_values = read_record(record)
        count_value = count_of(count)
        if count_value is None:
            report.warnings.append(
                f"a record from {quoted(_clean(ip))} was skipped: its count {quoted(count)} is not "
                "a whole number of messages"
            )
            return
        report.records += 1
        if report.records > max_records:
            raise TooManyRecords(max_records)
        report.messages += count_value
        columns.add_row(count_value, _clean(ip), columns.combo(combo_values))

    return add


def _run(
    stream: BinaryIO,
    columns: RecordColumns,
    report: _Report,
    max_records: int,
    recover: bool,
    *,
    marked: bool = False,
) -> None:
    """Read the document with lxml. With `marked`, it is the fast reader's skeleton: its first
    `<record>` is the empty one standing for the records already read, and any other is a
    reason to hand the whole document to this reader (raises NotPlain)."""
    add = _row_sink(columns, report, max_records)
    events = etree.iterparse(
        stream,
        events=("start", "end"),
        tag=("{*}feedback", "{*}record", "{*}report_metadata", "{*}policy_published", "{*}version"),
        **_parser_options(recover),
    )
    feedback = None
    stray = 0
    for event, element in events:
        name = _local(element.tag)
        if event == "start":
            if name == "feedback" and report.root is None:
                report.root = name
                feedback = element
                namespace = (
                    element.tag[1:].partition("}")[0] if element.tag.startswith("{") else None
                )
                report.namespace = namespace
            continue
        # Only a child of the report's <feedback> is one of its parts (RFC 7489 C): the same
        # names deeper (in a record, say) are something else, and the fast reader, which cuts
        # records out, never sees them.
        inside = feedback is not None and element.getparent() is feedback
        if name == "record":
            if marked:
                if not inside or len(element) or element.text:
                    raise fastpath.NotPlain
                marked = False
            elif inside:
                add(element)
            else:
                # Emptied, but its siblings are kept: its parent (report_metadata, say) may be
                # read yet.
                stray += 1
                element.clear(keep_tail=False)
                continue
        elif not inside or not _read_part(name, element, report):
            continue  # left to its parent, which is read or freed as a whole
        # Free what has been read: the element's children and the siblings before it.
        element.clear(keep_tail=False)
        parent = element.getparent()
        if parent is not None:
            while element.getprevious() is not None:
                del parent[0]
    if stray:
        report.warnings.append(
            f"{plural(stray, '<record> element')} outside <feedback> "
            f"{'was' if stray == 1 else 'were'} not counted"
        )


# The elements lxml's reader (`_run`) acts on, wherever they are.
_HANDLED = frozenset({"feedback", "record", "report_metadata", "policy_published", "version"})
# Their start tags, with any namespace prefix (lxml's reader goes by the local name).
_HANDLED_TAG = re.compile(
    rb"<(?:[A-Za-z_][\w.-]*:)?(feedback|record|report_metadata|policy_published|version)[\s/>]"
)


def _read_skeleton(skeleton: bytes, report: _Report, marked: bool) -> bool:
    """Read what the fast reader left (the document without its records) as one small tree, when
    its shape is plain; False when `_run` must read it. For a report of a few records, setting up
    `iterparse` costs more than all the rest, and reports come by the thousand."""
    # `_run` acts on its elements at any depth, in the order they end; only as children of the
    # root is that the order read here. Each named at most once (one record: the mark) and found
    # among the root's children below means none is deeper. A name in a comment or text counts
    # too, and sends the document to `_run`, which is always right.
    seen = _HANDLED_TAG.findall(skeleton)
    if len(seen) != len(set(seen)) or seen.count(b"record") != marked:
        return False
    try:
        root = etree.fromstring(skeleton, _SKELETON_PARSER)
    except etree.XMLSyntaxError:
        return False  # `_run` raises it again, which hands the document over
    tag = root.tag
    if not isinstance(tag, str) or _local(tag) != "feedback":
        return False
    children = [(_local(child.tag), child) for child in root if isinstance(child.tag, str)]
    if len(seen) != 1 + sum(name in _HANDLED for name, _ in children):
        return False  # one is deeper than a child of the root
    if marked:
        record = next(child for name, child in children if name == "record")
        if len(record) or record.text:
            return False
    report.root = "feedback"
    report.namespace = tag[1:].partition("}")[0] if tag.startswith("{") else None
    for name, child in children:
        _read_part(name, child, report)
    return True


def _read_part(name: str, element: Any, report: _Report) -> bool:
    """Read a child of <feedback> other than a record; False when it is none of the parts."""
    if name == "report_metadata":
        _read_metadata(element, report)
    elif name == "policy_published":
        _read_policy(element, report)
    elif name == "version":
        report.version = _clean(element.text)
    else:
        return False
    return True


_SKELETON_PARSER = etree.XMLParser(**_parser_options(recover=False))


_XML_DECLARATION = re.compile(rb"^\s*<\?xml[^>]*\?>")
_SCHEMA_TAG = re.compile(rb"</?xs:schema[^<>]*>")


# A document that fails strict parsing is repaired and read again only up to this size: broken
# reports in the wild are small, and keeping a copy of a huge one would double its memory.
_REPAIR_MAX_BYTES = 32 * 1024 * 1024


class _Tee:
    """Passes reads through and keeps a copy of the first `_REPAIR_MAX_BYTES` for a second pass."""

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self.chunks: list[bytes] = []
        self.kept = 0
        self.overflow = False

    def read(self, size: int = -1) -> bytes:
        data = self._raw.read(size)
        if not self.overflow:
            self.kept += len(data)
            if self.kept > _REPAIR_MAX_BYTES:
                self.overflow = True
                self.chunks.clear()
            else:
                self.chunks.append(data)
        return data

    def replay(self) -> bytes | None:
        """Everything read so far followed by the rest of the stream, or None when too big."""
        if self.overflow:
            return None
        parts = list(self.chunks)
        size = self.kept
        while size <= _REPAIR_MAX_BYTES:
            chunk = self._raw.read(_REPAIR_MAX_BYTES + 1 - size)
            if not chunk:
                return b"".join(parts)
            parts.append(chunk)
            size += len(chunk)
        return None


def parse_aggregate_xml(
    stream: BinaryIO,
    columns: RecordColumns,
    limits: ParseLimits,
    *,
    head: bytes,
    fast: bool = True,
    budget: UploadBudget | None = None,
) -> ReportMeta:
    """Parse one aggregate report from `stream` (whose first bytes are `head`) into `columns`.

    Raises `ReportError` (with a plain reason) when it is not a readable aggregate report, after
    removing any rows it had added. `budget` is the upload's (one is made from `limits` when none
    is given): the report may hold the records the upload has left.
    """
    budget = budget or UploadBudget(limits)
    # The readers check one number, the report's records; the upload's cap is what is left of it.
    max_records = max(budget.records_left(), 1)
    _check_prologue(head)
    mark = columns.mark()
    report = _Report()
    tee = _Tee(stream)
    # Why lxml refused what the fast reader left (metadata, policy), when it did: the reason to
    # give if the document is too large to read again (a 100 MB attribute, say).
    skeleton_error: str | None = None
    try:
        try:
            if not fast:
                raise fastpath.NotPlain
            skeleton, marked, fast_records = fastpath.scan(
                tee,  # type: ignore[arg-type]
                columns,
                _row_sink(columns, report, max_records),
                report,
                max_records,
                tee.read(_FIRST_READ),
            )
            # What is left without the records is small: metadata and policy, read by lxml
            # unless it is plain.
            if not _read_skeleton(skeleton, report, marked):
                try:
                    _run(
                        io.BytesIO(skeleton),
                        columns,
                        report,
                        max_records,
                        recover=False,
                        marked=marked,
                    )
                except etree.XMLSyntaxError as error:
                    skeleton_error = _describe(error)
                    raise fastpath.NotPlain from None
            columns.fast_rows += fast_records
        except fastpath.NotPlain:
            columns.rollback(mark)
            report = _general(tee, columns, max_records, mark, skeleton_error)
        except fastpath.Malformed as error:
            columns.rollback(mark)
            data = tee.replay()
            if data is None:
                raise ReportError(str(error)) from None
            # lxml's reading, as the general reader gives it (its messages name the line).
            report = _strict_then_repaired(data, columns, max_records, mark)
        # Both readers' rows end here: validated once (validate.py), whichever read them.
        dropped, dropped_messages, notes = check_rows(columns, mark)
        report.records -= dropped
        report.messages -= dropped_messages
        report.warnings.extend(notes)
        for name, longest, limit in columns.cut_fields(mark):
            report.warnings.append(cut_note(f"a record's {name}", longest, limit))
        try:
            meta = _meta(report)
            dated = check_dates(meta.begin, meta.end)
            if dated:
                meta = replace(meta, warnings=(*meta.warnings, *dated))
        except ReportError as error:
            if report.recovered_from is None:
                raise
            raise ReportError(
                f"the XML is malformed ({report.recovered_from}) and what could be recovered is "
                f"not a complete report: {error}"
            ) from None
    except (ReportError, etree.XMLSyntaxError) as error:
        columns.rollback(mark)
        if isinstance(error, TooManyRecords) and budget.records:
            raise budget.too_many_records() from None
        if isinstance(error, ReportError):
            raise
        raise ReportError(f"the XML is malformed ({_describe(error)})") from None
    budget.spend_records(meta.record_count)
    if budget.records_left() < 0:
        columns.rollback(mark)
        raise budget.too_many_records()
    columns.close_report(meta.header, mark)
    return meta


_FIRST_READ = 64 * 1024


def _general(
    tee: _Tee,
    columns: RecordColumns,
    max_records: int,
    mark: int,
    skeleton_error: str | None = None,
) -> _Report:
    """The document again, through lxml: strictly, then repaired if need be. `skeleton_error`:
    why lxml already refused part of it, the reason when it cannot be read again."""
    data = tee.replay()
    if data is None:
        if skeleton_error is not None:
            raise ReportError(f"the XML is malformed ({skeleton_error})")
        raise ReportError(
            "the report is over 32 MiB and uses XML features (namespace prefixes, comments, another "
            "encoding) that only the slower general reader handles, past the point it can re-read"
        )
    return _strict_then_repaired(data, columns, max_records, mark)


def _strict_then_repaired(
    data: bytes, columns: RecordColumns, max_records: int, mark: int
) -> _Report:
    report = _Report()
    try:
        _run(io.BytesIO(data), columns, report, max_records, recover=False)
    except etree.XMLSyntaxError as strict_error:
        columns.rollback(mark)
        return _reparse(data, columns, max_records, mark, _describe(strict_error))
    return report


def _reparse(
    data: bytes,
    columns: RecordColumns,
    max_records: int,
    mark: int,
    strict_error: str,
) -> _Report:
    """Second chance for a document strict parsing refused: repair what receivers are known to
    break, then let libxml2 recover what it can. The whole document is in memory here, which the
    repair cap bounds."""
    repaired = data.decode("utf-8", errors="replace").encode("utf-8")
    repaired = _XML_DECLARATION.sub(b'<?xml version="1.0" encoding="UTF-8"?>', repaired, count=1)
    repaired = _SCHEMA_TAG.sub(b"", repaired)
    notes: list[str] = []
    if repaired.count("\ufffd".encode()) > data.count("\ufffd".encode()):
        notes.append("it is not valid UTF-8; undecodable bytes are shown as \ufffd")
    for recover in (False, True):
        report = _Report()
        try:
            _run(io.BytesIO(repaired), columns, report, max_records, recover=recover)
        except etree.XMLSyntaxError:
            columns.rollback(mark)
            continue
        except ReportError:
            columns.rollback(mark)
            raise
        if recover:
            report.recovered_from = strict_error
            notes.append(
                f"the XML is malformed ({strict_error}); values were recovered "
                "and may be incomplete"
            )
        if report.root is None:
            columns.rollback(mark)
            break
        report.warnings[:0] = notes
        return report
    raise ReportError(f"the XML is malformed ({strict_error})")


def _describe(error: etree.XMLSyntaxError) -> str:
    message = str(error.msg or error).strip()
    if "limit exceeded" in message or "XML_PARSE_HUGE" in message:
        # libxml2's own words name a parser flag; a person needs what was too long.
        message = "one value, tag or run of text is longer than any report holds (over 10 MB)"
    line = error.position[0] if error.position else None
    return f"line {line}: {message}" if line else message


def _bounded(
    report: _Report, field: str, value: str | None, limit: int, *, in_bytes: bool = False
) -> str | None:
    """`value` cut to `limit` characters (or UTF-8 bytes), with a warning naming `field` when it
    was longer (bounds.py says why)."""
    if value is None:
        return None
    kept = cut_to_bytes(value, limit) if in_bytes else cut_to(value, limit)
    if kept != value:
        length = len(value.encode("utf-8")) if in_bytes else len(value)
        report.warnings.append(cut_note(field, length, limit, "byte" if in_bytes else "character"))
    return kept


@lru_cache(maxsize=4096)
def _policy_domain(text: str | None) -> str:
    """The policy domain as receivers use it (lower case, A-labels); ReportError when it is
    missing or not a domain name, one with an invisible character included (diagnostics.idn)."""
    if not text:
        raise ReportError(
            "the report does not say which domain's policy it covers (policy_published/domain)"
        )
    try:
        return domain_name(text).ascii
    except InvalidInput as error:
        raise ReportError(
            f"the report's policy domain (policy_published/domain) cannot be used: {error}"
        ) from None


def _meta(report: _Report) -> ReportMeta:
    if report.root is None:
        raise ReportError("the XML is not a DMARC aggregate report: it has no <feedback> element")
    metadata = report.metadata
    policy = report.policy
    if not metadata:
        raise ReportError("the report has no <report_metadata> section")
    if not policy:
        raise ReportError("the report has no <policy_published> section")
    report_id = metadata.get("report_id")
    if report_id:
        report_id = report_id.replace("<", "").replace(">", "").split("@")[0].strip() or None
    if not report_id:
        raise ReportError("the report has no report_id, so it cannot be told apart from others")
    report_id = _bounded(report, "report_id", report_id, KEY_BYTES, in_bytes=True)
    begin = _timestamp(metadata.get("begin"), "begin")
    end = _timestamp(metadata.get("end"), "end")
    email = _bounded(report, "email", metadata.get("email"), MAX_TEXT)
    org_name = _org_name(metadata.get("org_name"), email)
    if not org_name:
        raise ReportError("the report names no organisation (org_name and email are both empty)")
    org_name = _bounded(report, "org_name", org_name, KEY_BYTES, in_bytes=True)
    domain = _policy_domain(policy.get("domain"))
    p = _lower(_bounded(report, "policy_published/p", policy.get("p"), MAX_TEXT))
    pct_text = policy.get("pct")
    pct: int | None = None
    if pct_text is not None:
        try:
            pct = int(pct_text)
        except ValueError:
            report.warnings.append(f"policy pct {quoted(pct_text)} is not a number and was ignored")
        # RFC 7489 6.3: a percentage. A larger number would also not fit the Int64 column.
        if pct is not None and not 0 <= pct <= 100:
            report.warnings.append(
                f"policy pct {quoted(pct_text)} is not between 0 and 100 and was ignored"
            )
            pct = None

    def text(name: str) -> str | None:
        return _bounded(report, f"policy_published/{name}", policy.get(name), MAX_TEXT)

    namespace = report.namespace
    errors = tuple(_bounded(report, "an <error>", error, MAX_TEXT) or "" for error in report.errors)
    return ReportMeta(
        org_name=org_name,
        org_email=email,
        org_extra_contact_info=_bounded(
            report, "extra_contact_info", metadata.get("extra_contact_info"), MAX_TEXT
        ),
        report_id=report_id,
        begin=begin,
        end=end,
        policy_domain=domain,
        policy_p=p,
        policy_sp=_lower(text("sp")) or p,
        policy_np=_lower(text("np")),
        policy_pct=pct,
        policy_adkim=_lower(text("adkim")) or "r",
        policy_aspf=_lower(text("aspf")) or "r",
        policy_fo=text("fo"),
        policy_testing=_lower(text("testing")),
        policy_discovery_method=_lower(text("discovery_method")),
        xml_schema=cut_to(report.version or "draft", MAX_TEXT),
        xml_namespace=_bounded(report, "the XML namespace", namespace, MAX_TEXT),
        generator=_bounded(report, "generator", metadata.get("generator"), MAX_TEXT),
        errors=errors,
        record_count=report.records,
        message_count=report.messages,
        warnings=tuple(report.warnings),
    )


def _timestamp(text: str | None, which: str) -> datetime:
    if text is None:
        raise ReportError(f"the report's date range has no {which} time")
    try:
        return utc(int(text.split(".")[0]))
    except (ValueError, OverflowError, OSError):
        raise ReportError(
            f"the report's {which} time {quoted(text)} is not a Unix timestamp"
        ) from None


@lru_cache(maxsize=4096)
def _org_name(org_name: str | None, email: str | None) -> str | None:
    """The reporting organisation as parsedmarc names it: the registered domain when the name is a
    domain (so `Outlook.com` and `outlook.com` group together), else the name as sent; when it is
    missing, the domain of the report's email address."""
    if not org_name and email:
        org_name = email.rpartition("@")[2].strip() or None
    if not org_name:
        return None
    if " " not in org_name:
        base = public_suffix_list().privatesuffix(org_name.lower())
        if base is not None:
            return str(base)
    return org_name
