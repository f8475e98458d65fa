"""From whatever a person uploads to the report documents inside it, telling formats apart by their bytes.

Receivers send aggregate reports as bare XML, gzip, zip, or attached to an email (base64,
quoted-printable, uuencode); people upload those, whole mailboxes (mbox) and folders of them. File names
lie (`.xml` that is gzip, `.zip` that is an email), so the format is always read from the first bytes.

Everything is streamed and draws on the upload's one `UploadBudget`: the file's bytes, what every
gzip and zip member at every nesting level decompresses to (judged by its ratio as it grows), and
the time. A bomb stops at the first cap it reaches with `ReportTooLarge` naming the cap, instead of
filling memory, and a report is never cut short silently.
"""

from __future__ import annotations

import io
import re
import struct
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import IO, BinaryIO

from diagnostics.dmarc.parse._budget import UploadBudget
from diagnostics.dmarc.parse._mime import Lines, Walk, mbox_separator, never, walk
from diagnostics.dmarc.parse._streams import CHUNK, Counted, Inflater, Peekable, Readable
from diagnostics.errors import ReportError, ReportTooLarge

# Nesting deeper than "mailbox > message > zip > gzip" is not something receivers produce.
_MAX_DEPTH = 4
_HEAD = 8192
# A zip is read from a temporary file: in memory up to this size, on disk beyond.
_SPOOL_IN_MEMORY = 8 * 1024 * 1024


class Kind(StrEnum):
    """What a piece of bytes is, judged from its content."""

    XML = "xml"
    JSON = "json"
    GZIP = "gzip"
    ZIP = "zip"
    EMAIL = "email"
    MBOX = "mbox"
    EMPTY = "empty"
    UNKNOWN = "unknown"


# An aggregate report's root element, with any namespace prefix.
_FEEDBACK_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?feedback[\s/>]")


def holds_feedback(head: bytes) -> bool:
    """Whether an XML part whose first bytes are `head` may be an aggregate report: its first 4 KiB
    hold a `<feedback>` tag. The tag, not the word: Outlook's HTML body says "feedback" in its
    text. A part without it is a message's body, not a report."""
    return _FEEDBACK_TAG.search(head, 0, 4096) is not None


_HEADER_LINE = re.compile(rb"^[A-Za-z0-9][A-Za-z0-9-]{0,76}:[ \t]?")


def sniff(head: bytes) -> Kind:
    """The kind of document whose first bytes are `head` (a few KiB is plenty)."""
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return Kind.ZIP
    if head.startswith(b"\x1f\x8b"):
        return Kind.GZIP
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not text:
        return Kind.EMPTY
    if text.startswith(b"<"):
        return Kind.XML
    if text.startswith((b"{", b"[")):
        return Kind.JSON
    if text.startswith(b"From ") and b"\n" in text:
        first_header = text.split(b"\n", 2)[1]
        if _HEADER_LINE.match(first_header):
            return Kind.MBOX
    if _HEADER_LINE.match(text):
        return Kind.EMAIL
    return Kind.UNKNOWN


@dataclass(frozen=True, slots=True)
class Piece:
    """One document found inside an input: `kind` is XML, JSON or EMAIL (a failure report candidate).

    `stream` is positioned at the document's first byte; `peek` shows its head.
    """

    name: str
    kind: Kind
    stream: Peekable


@dataclass(frozen=True, slots=True)
class Rejected:
    """A part of an input that is not a report, with the reason in plain words."""

    name: str
    reason: str


def unpack(
    name: str, raw: Readable, budget: UploadBudget, *, _depth: int = 0
) -> Iterator[Piece | Rejected]:
    """Every report document inside `raw` (an upload named `name`), or why a part was rejected.

    Pieces must be consumed in order: each one streams from the input and is done with before the
    next is produced. Once a cap of `budget` is reached the upload is over: what follows is not read.
    """
    try:
        stream = Peekable(Counted(raw, budget) if _depth == 0 else raw)
        head = stream.peek(_HEAD)
    except ReportError as error:
        yield Rejected(name, str(error))
        return
    kind = sniff(head)
    if _depth > _MAX_DEPTH and kind in (Kind.GZIP, Kind.ZIP, Kind.EMAIL, Kind.MBOX):
        yield Rejected(name, "it nests archives and messages deeper than any receiver does")
        return
    if kind is Kind.EMPTY:
        yield Rejected(name, "the file is empty")
    elif kind in (Kind.XML, Kind.JSON):
        yield Piece(name, kind, stream)
    elif kind is Kind.GZIP:
        inner = Peekable(Inflater(stream, budget, gzip=True, what="gzip data"))
        try:
            inner_head = inner.peek(_HEAD)
        except ReportError as error:
            yield Rejected(name, str(error))
            return
        yield from _decompressed(name, inner, inner_head, budget, _depth)
    elif kind is Kind.ZIP:
        yield from _unpack_zip(name, stream, budget, _depth)
    elif kind is Kind.EMAIL:
        yield from _unpack_message(name, Lines(stream), budget, _depth, never)
    elif kind is Kind.MBOX:
        yield from _unpack_mbox(name, Lines(stream), budget, _depth)
    else:
        yield Rejected(
            name,
            "this is not a report: it is neither XML, JSON, gzip, zip, an email message nor a mailbox",
        )


# ---- zip ---------------------------------------------------------------------------------------

_ZIP_ERRORS = (zipfile.BadZipFile, OSError, ValueError, NotImplementedError, EOFError, RuntimeError)


def _spool(stream: Readable) -> IO[bytes]:
    """The rest of `stream` in a temporary file (zipfile needs to seek), read in chunks."""
    # Returned open: the caller's `with` closes it; closed here when reading fails.
    spool = tempfile.SpooledTemporaryFile(max_size=_SPOOL_IN_MEMORY)  # noqa: SIM115
    try:
        while chunk := stream.read(CHUNK):
            spool.write(chunk)
    except BaseException:
        spool.close()
        raise
    spool.seek(0)
    return spool


def _unpack_zip(
    name: str, stream: Peekable, budget: UploadBudget, depth: int
) -> Iterator[Piece | Rejected]:
    limits = budget.limits
    try:
        spool = _spool(stream)
    except ReportError as error:
        yield Rejected(name, str(error))
        return
    with spool:
        try:
            archive = zipfile.ZipFile(spool)
            # Not `is_dir()`: it indexes the last character and fails on a member with an empty name.
            members = [m for m in archive.infolist() if not m.filename.endswith("/")]
        except _ZIP_ERRORS as error:
            # NotImplementedError: zipfile's word for a "version needed to extract" it does not know.
            yield Rejected(name, f"the zip archive is damaged ({error})")
            return
        if len(members) > limits.max_archive_members:
            yield Rejected(
                name,
                f"the zip archive holds {len(members)} files, more than the max_archive_members "
                f"cap ({limits.max_archive_members})",
            )
            return
        if not members:
            yield Rejected(name, "the zip archive is empty")
            return
        for member in members:
            member_name = f"{name}:{member.filename}"
            try:
                content = Peekable(_member(archive, spool, member, budget))
                head = content.peek(_HEAD)
            except ReportTooLarge as error:
                yield Rejected(member_name, str(error))
                return
            except ReportError as error:
                yield Rejected(member_name, str(error))
                continue
            except (*_ZIP_ERRORS, zlib.error) as error:
                yield Rejected(member_name, f"this zip member cannot be read ({error})")
                continue
            yield from _decompressed(member_name, content, head, budget, depth)


def _decompressed(
    name: str, content: Peekable, head: bytes, budget: UploadBudget, depth: int
) -> Iterator[Piece | Rejected]:
    """What a gzip stream or a zip member holds: a document, or more to unpack one level down."""
    kind = sniff(head)
    if kind in (Kind.XML, Kind.JSON):
        yield Piece(name, kind, content)
    else:
        yield from unpack(name, content, budget, _depth=depth + 1)


_LOCAL_HEADER = struct.Struct("<4s22xHH")


def _member(
    archive: zipfile.ZipFile, spool: IO[bytes], member: zipfile.ZipInfo, budget: UploadBudget
) -> Readable:
    """A reader of one member's content. Stored and deflated members (what receivers send) are
    inflated here, so their ratio is known exactly; other methods go through zipfile."""
    if member.flag_bits & 0x1:
        raise ReportError("this zip member is encrypted; reports are never sent encrypted")
    if member.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        return _Checked(_Guarded(archive.open(member)), member, budget, counted=True)
    spool.seek(member.header_offset)
    signature, name_length, extra_length = _LOCAL_HEADER.unpack(spool.read(30).ljust(30, b"\0"))
    if signature != b"PK\x03\x04":
        raise ReportError("this zip member cannot be read (its local header is missing)")
    stored_name = spool.read(name_length).decode(
        "utf-8" if member.flag_bits & 0x800 else "cp437", errors="replace"
    )
    if stored_name != member.orig_filename:
        # What zipfile checks too: two names for one member is how archives hide a file.
        raise ReportError("this zip member cannot be read (its two names in the archive differ)")
    start = member.header_offset + 30 + name_length + extra_length
    raw = _Slice(spool, start, member.compress_size)
    if member.compress_type == zipfile.ZIP_STORED:
        return _Checked(raw, member, budget, counted=False)
    inflated = Inflater(raw, budget, gzip=False, what="zip member")
    return _Checked(inflated, member, budget, counted=False)


class _Slice:
    """`size` bytes of `spool` from `start`, read wherever the spool's position was left."""

    def __init__(self, spool: IO[bytes], start: int, size: int) -> None:
        self._spool = spool
        self._position = start
        self._left = size

    def read(self, size: int = -1) -> bytes:
        size = self._left if size is None or size < 0 else min(size, self._left)
        if size <= 0:
            return b""
        self._spool.seek(self._position)
        data = self._spool.read(size)
        self._position += len(data)
        self._left -= len(data)
        return data


class _Checked:
    """A member's content checked against its stated size and CRC at the end, so a damaged member
    is named, not read as a short report. `counted`: decompression this module does not do
    (bzip2, lzma) is counted here against the budget, its ratio judged on the stated size."""

    def __init__(
        self, raw: Readable, member: zipfile.ZipInfo, budget: UploadBudget, *, counted: bool
    ) -> None:
        self._raw = raw
        self._member = member
        self._budget = budget
        self._counted = counted
        self._crc = 0
        self._size = 0

    def read(self, size: int = -1) -> bytes:
        data = self._raw.read(CHUNK if size is None or size < 0 else size)
        if data:
            self._crc = zlib.crc32(data, self._crc)
            self._size += len(data)
            if self._counted:
                self._budget.spend_inflated(len(data))
                self._budget.check_ratio(self._size, self._member.compress_size)
            return data
        if self._size != self._member.file_size or self._crc != self._member.CRC:
            raise ReportError("this zip member is damaged (its size or checksum does not match)")
        return b""


class _Guarded:
    """A zipfile member stream whose read errors are `ReportError`s (a damaged member can fail on
    any read, long after its first bytes were sniffed, inside the XML or JSON reader)."""

    def __init__(self, raw: BinaryIO | IO[bytes]) -> None:
        self._raw = raw

    def read(self, size: int = -1) -> bytes:
        try:
            return self._raw.read(size)
        except (*_ZIP_ERRORS, zlib.error) as error:
            raise ReportError(f"this zip member cannot be read ({error})") from None


# ---- e-mail ------------------------------------------------------------------------------------


# Where a message ends: `never` (a message file) or a mailbox's next separator line.
_Stop = Callable[[bytes, bool], bool]


def _unpack_message(
    name: str, lines: Lines, budget: UploadBudget, depth: int, stop: _Stop
) -> Iterator[Piece | Rejected]:
    """The reports attached to the message at the reader's position (which ends at `stop`: a
    mailbox's next separator), or the message itself when it may be a failure report."""
    limits = budget.limits
    lines.keep(limits.max_message_bytes)
    state = Walk()
    found = False
    try:
        for leaf in walk(lines, state, stop, limits.max_email_parts):
            content_type = leaf.headers.content_type()
            if content_type == "message/feedback-report":
                # A failure (forensic) report: the whole message is the report; the parts after
                # this one are the sample of the failing mail, not reports.
                state.failure = True
                continue
            if state.failure:
                continue
            part = Peekable(leaf.body)
            head = part.peek(_HEAD)
            if not head.strip():
                continue
            kind = sniff(head)
            if kind is Kind.XML and not holds_feedback(head):
                continue  # an HTML or other XML body, not an aggregate report
            if kind not in (Kind.XML, Kind.JSON, Kind.GZIP, Kind.ZIP):
                continue
            if kind is Kind.JSON and content_type == "text/plain":
                continue
            if not found:
                # A message with a report attached is not itself a failure report: no copy of
                # it is needed any more (what is kept would grow with the attachment).
                found = True
                lines.take_kept()
            label = leaf.headers.filename() or f"part {leaf.index}"
            yield from unpack(f"{name}:{label}", part, budget, _depth=depth + 1)
    except ReportTooLarge as error:
        lines.take_kept()
        yield Rejected(name, str(error))
        return
    except ReportError as error:
        lines.take_kept()
        yield Rejected(name, str(error))
        _skip(lines, stop)
        return
    overflow = lines.overflow
    kept = lines.take_kept()
    if found and not state.failure:
        return
    if found:
        yield Rejected(name, "the message holds a report attachment before a failure report's part")
    elif kept is None or overflow:
        what = "a failure report" if state.failure else "no report attachment"
        yield Rejected(
            name,
            f"the message holds {what} and is larger than a failure report may be (the "
            f"max_message_bytes cap, {limits.max_message_bytes:,} bytes)",
        )
    elif kept.strip():
        # No attachment: possibly a failure report without an ARF part (Exim sends plain text).
        yield Piece(name, Kind.EMAIL, Peekable(io.BytesIO(kept)))


def _skip(lines: Lines, stop: _Stop) -> None:
    """Past the rest of a message that was rejected, to the next one's separator."""
    if stop is never:
        return  # a message file: nothing after it to read
    while (item := lines.next()) is not None:
        if stop(*item):
            lines.back(item)
            return


def _unpack_mbox(
    name: str, lines: Lines, budget: UploadBudget, depth: int
) -> Iterator[Piece | Rejected]:
    limits = budget.limits
    number = 0
    while (item := lines.next()) is not None:
        if not mbox_separator(*item):
            continue  # only after a message was rejected mid-way, or stray text before the first
        number += 1
        if number > limits.max_mbox_messages:
            yield Rejected(
                name,
                f"the mailbox holds more than {limits.max_mbox_messages:,} messages (the "
                "max_mbox_messages cap); the rest was not read",
            )
            return
        yield from _unpack_message(f"{name}#{number}", lines, budget, depth + 1, mbox_separator)
