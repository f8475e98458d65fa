"""From whatever a person uploads to the report documents inside it, telling formats apart by their bytes.

Receivers send aggregate reports as bare XML, gzip, zip, or attached to an email (base64,
quoted-printable, uuencode); people upload those, whole mailboxes (mbox) and folders of them. File names
lie (`.xml` that is gzip, `.zip` that is an email), so the format is always read from the first bytes.

Decompression is streamed and capped: every reader draws on a byte budget (`ParseLimits`), so a gzip or
zip bomb stops at the cap with `ReportTooLarge` instead of filling memory, and a report is never cut
short silently.
"""

from __future__ import annotations

import email
import email.policy
import io
import re
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message
from enum import StrEnum
from typing import BinaryIO

from diagnostics.dmarc.parse._limits import MiB, ParseLimits
from diagnostics.errors import ReportError, ReportTooLarge

_CHUNK = 256 * 1024
# Nesting deeper than "mailbox > message > zip > gzip" is not something receivers produce.
_MAX_DEPTH = 4


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


class Budget:
    """Bytes that may still be produced by decompression for one input (shared by its members)."""

    __slots__ = ("cap", "remaining", "what")

    def __init__(self, cap: int, what: str = "max_report_bytes") -> None:
        self.cap = cap
        self.remaining = cap
        self.what = what

    def spend(self, size: int) -> None:
        self.remaining -= size
        if self.remaining < 0:
            raise ReportTooLarge(
                f"it decompresses to more than {_size(self.cap)} (the {self.what} cap); it is "
                "rejected whole, as a possible decompression bomb, rather than read in part"
            )


class CappedReader(io.RawIOBase):
    """A read-only stream over `raw` that fails once more than the budget has been read.

    `peek(n)` returns the first bytes without consuming them, so the format can be sniffed.
    """

    def __init__(self, raw: BinaryIO, budget: Budget) -> None:
        super().__init__()
        self._raw = raw
        self._budget = budget
        self._buffer = b""

    def readable(self) -> bool:
        return True

    def peek(self, size: int) -> bytes:
        while len(self._buffer) < size:
            chunk = self._raw.read(size - len(self._buffer))
            if not chunk:
                break
            self._budget.spend(len(chunk))
            self._buffer += chunk
        return self._buffer[:size]

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            parts = [self._buffer]
            self._buffer = b""
            while chunk := self._raw.read(_CHUNK):
                self._budget.spend(len(chunk))
                parts.append(chunk)
            return b"".join(parts)
        if self._buffer:
            out, self._buffer = self._buffer[:size], self._buffer[size:]
            return out
        chunk = self._raw.read(size)
        self._budget.spend(len(chunk))
        return chunk

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


class GzipStream(io.RawIOBase):
    """Streaming gzip decompression that tolerates what receivers send.

    Concatenated members are read in turn; bytes after the last member that are not another gzip
    member are ignored (Mimecast appends two stray bytes, which makes `gzip.GzipFile` fail).
    """

    def __init__(self, raw: BinaryIO) -> None:
        super().__init__()
        self._raw = raw
        self._inflate = zlib.decompressobj(zlib.MAX_WBITS | 16)
        self._pending = b""
        self._done = False

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            size = _CHUNK
        while not self._done:
            if self._inflate.unconsumed_tail:
                data = self._inflate.unconsumed_tail
            else:
                data = self._pending or self._raw.read(_CHUNK)
                self._pending = b""
                if not data:
                    if not self._inflate.eof:
                        raise ReportError(
                            "the gzip data is truncated (it ends before its end marker)"
                        )
                    self._done = True
                    break
            try:
                out = self._inflate.decompress(data, size)
            except zlib.error as error:
                raise ReportError(f"the gzip data is corrupt ({error})") from None
            if self._inflate.eof:
                rest = self._inflate.unused_data
                if rest.startswith(b"\x1f\x8b"):
                    self._inflate = zlib.decompressobj(zlib.MAX_WBITS | 16)
                    self._pending = rest
                else:
                    self._done = True
            if out:
                return out
        return b""

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


@dataclass(frozen=True, slots=True)
class Piece:
    """One document found inside an input: `kind` is XML, JSON or EMAIL (a failure report candidate).

    `stream` is a capped reader positioned at the document's first byte.
    """

    name: str
    kind: Kind
    stream: CappedReader


@dataclass(frozen=True, slots=True)
class Rejected:
    """A part of an input that is not a report, with the reason in plain words."""

    name: str
    reason: str


def unpack(
    name: str, raw: BinaryIO, limits: ParseLimits, *, _depth: int = 0
) -> Iterator[Piece | Rejected]:
    """Every report document inside `raw` (an input named `name`), or why a part was rejected.

    Pieces must be consumed in order: each one streams from the input and is done with before the
    next is produced.
    """
    stream = CappedReader(
        raw,
        Budget(
            limits.max_report_bytes if _depth else limits.max_input_bytes,
            "max_report_bytes" if _depth else "max_input_bytes",
        ),
    )
    try:
        head = stream.peek(8192)
    except ReportTooLarge as error:
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
        inner = GzipStream(stream)  # type: ignore[arg-type]
        capped = CappedReader(inner, Budget(limits.max_report_bytes))  # type: ignore[arg-type]
        try:
            inner_head = capped.peek(8192)
        except ReportError as error:
            yield Rejected(name, str(error))
            return
        inner_kind = sniff(inner_head)
        if inner_kind in (Kind.XML, Kind.JSON):
            yield Piece(name, inner_kind, capped)
        else:
            yield from unpack(name, capped, limits, _depth=_depth + 1)  # type: ignore[arg-type]
    elif kind is Kind.ZIP:
        yield from _unpack_zip(name, stream, limits, _depth)
    elif kind is Kind.EMAIL:
        yield from _unpack_email(name, stream.read(), limits, _depth)
    elif kind is Kind.MBOX:
        yield from _unpack_mbox(name, stream.read(), limits, _depth)
    else:
        yield Rejected(
            name,
            "this is not a report: it is neither XML, JSON, gzip, zip, an email message nor a mailbox",
        )


def _unpack_zip(
    name: str, stream: CappedReader, limits: ParseLimits, depth: int
) -> Iterator[Piece | Rejected]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(stream.read()))
        # Not `is_dir()`: it indexes the last character and fails on a member with an empty name.
        members = [m for m in archive.infolist() if not m.filename.endswith("/")]
    except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError, EOFError) as error:
        # NotImplementedError: zipfile's word for a "version needed to extract" it does not know.
        yield Rejected(name, f"the zip archive is damaged ({error})")
        return
    if len(members) > limits.max_archive_members:
        yield Rejected(
            name,
            f"the zip archive holds {len(members)} files, more than the max_archive_members cap "
            f"({limits.max_archive_members})",
        )
        return
    if not members:
        yield Rejected(name, "the zip archive is empty")
        return
    # One budget for the whole archive: many small members must not add up to a bomb either.
    budget = Budget(limits.max_report_bytes)
    for member in members:
        member_name = f"{name}:{member.filename}"
        try:
            capped = CappedReader(_ZipMember(archive.open(member)), budget)  # type: ignore[arg-type]
            head = capped.peek(8192)
        except ReportTooLarge as error:
            yield Rejected(member_name, str(error))
            return
        except ReportError as error:
            yield Rejected(member_name, str(error))
            continue
        except (
            zipfile.BadZipFile,
            NotImplementedError,
            RuntimeError,
            OSError,
            ValueError,
            EOFError,
            zlib.error,
        ) as error:
            yield Rejected(member_name, f"this zip member cannot be read ({error})")
            continue
        kind = sniff(head)
        if kind in (Kind.XML, Kind.JSON):
            yield Piece(member_name, kind, capped)
        else:
            yield from unpack(member_name, capped, limits, _depth=depth + 1)  # type: ignore[arg-type]


class _ZipMember(io.RawIOBase):
    """A zip member's stream whose read errors are `ReportError`s.

    A damaged member (corrupt deflate data, a bad CRC, a header that points outside the archive)
    can fail on any read, long after its first bytes were sniffed, inside the XML or JSON reader.
    """

    def __init__(self, raw: BinaryIO) -> None:
        super().__init__()
        self._raw = raw

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        try:
            return self._raw.read(-1 if size is None else size)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError) as error:
            raise ReportError(f"this zip member cannot be read ({error})") from None

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._raw.close()
        super().close()


def _unpack_email(
    name: str, data: bytes, limits: ParseLimits, depth: int
) -> Iterator[Piece | Rejected]:
    message = email.message_from_bytes(data, policy=email.policy.compat32)
    parts = list(_leaf_parts(message, limits.max_email_parts + 1))
    if len(parts) > limits.max_email_parts:
        yield Rejected(
            name,
            f"the message has more than {limits.max_email_parts} parts (the max_email_parts cap)",
        )
        return
    if any(part.get_content_type() == "message/feedback-report" for part in parts):
        # A failure (forensic) report: the whole message is the report; its attachments are the
        # sample of the failing mail, not reports.
        yield Piece(name, Kind.EMAIL, CappedReader(io.BytesIO(data), Budget(len(data) + 1)))
        return
    found = False
    for index, part in enumerate(parts):
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes) or not payload.strip():
            continue
        kind = sniff(payload[:8192])
        if kind is Kind.XML and b"feedback" not in payload[:4096]:
            continue  # an HTML or other XML body, not an aggregate report
        if kind not in (Kind.XML, Kind.JSON, Kind.GZIP, Kind.ZIP):
            continue
        if kind is Kind.JSON and part.get_content_type() == "text/plain":
            continue
        found = True
        label = part.get_filename() or f"part {index + 1}"
        yield from unpack(f"{name}:{label}", io.BytesIO(payload), limits, _depth=depth + 1)
    if not found:
        # No attachment: possibly a failure report without an ARF part (Exim sends plain text).
        yield Piece(name, Kind.EMAIL, CappedReader(io.BytesIO(data), Budget(len(data) + 1)))


def _leaf_parts(message: Message, limit: int) -> Iterator[Message]:
    count = 0
    for part in message.walk():
        if part.is_multipart():
            continue
        count += 1
        yield part
        if count >= limit:
            return


_MBOX_SPLIT = re.compile(rb"(?:\r?\n)(?=From [^\r\n]*\r?\n)")


def _unpack_mbox(
    name: str, data: bytes, limits: ParseLimits, depth: int
) -> Iterator[Piece | Rejected]:
    messages = _MBOX_SPLIT.split(data)
    if len(messages) > limits.max_mbox_messages:
        yield Rejected(
            name,
            f"the mailbox holds {len(messages)} messages, more than the max_mbox_messages cap "
            f"({limits.max_mbox_messages})",
        )
        return
    for number, message in enumerate(messages, start=1):
        body = message.split(b"\n", 1)[1] if message.startswith(b"From ") else message
        if not body.strip():
            continue
        yield from _unpack_email(f"{name}#{number}", body, limits, depth + 1)


def _size(size: int) -> str:
    return f"{size / MiB:g} MiB" if size >= MiB else f"{size} bytes"
