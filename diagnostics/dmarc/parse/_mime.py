"""E-mail messages and mailboxes read as a stream, line by line, never whole.

Receivers attach reports to messages (base64, quoted-printable, uuencode) and people upload whole
mailboxes. Each attachment is decoded incrementally, as the report reader asks for bytes, so a
message with a 180 MiB attachment costs a few hundred KiB of memory. A line longer than
`MAX_LINE` is handled in fragments, so not even a message without line breaks is held whole.

Only a message that may itself be a failure report (RFC 6591: an ARF `message/feedback-report`
part, or no report attachment at all, as Exim sends them) is kept whole, up to
`max_message_bytes`, for the failure report reader.
"""

from __future__ import annotations

import binascii
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from diagnostics.dmarc.parse._budget import size_text
from diagnostics.dmarc.parse._part_headers import PartHeaders, part_headers
from diagnostics.dmarc.parse._streams import CHUNK, Readable
from diagnostics.errors import ReportError, ReportTooLarge

MAX_LINE = 64 * 1024
# A line that may be a boundary or a mailbox's separator, found after a line break.
_MAY_END = re.compile(rb"\n(?:--|From )")
# The blank line that ends a header block.
_BLANK_LINE = re.compile(rb"\n\r?\n")
# The Content-* fields of a header block, with their continuation lines.
_CONTENT_FIELDS = re.compile(rb"^content-[^\n]*\n(?:[ \t][^\n]*\n)*", re.IGNORECASE | re.MULTILINE)
# A message's header block larger than this is not a message a receiver sent.
_MAX_HEADER_BYTES = 1024 * 1024


class Lines:
    """Lines of `raw` (each with its line break), at most `MAX_LINE` bytes each: a longer line
    comes in fragments, every one after the first marked `continued`. One line can be put back."""

    def __init__(self, raw: Readable) -> None:
        self._raw = raw
        self._buffer = b""
        self._start = 0
        self._eof = False
        self._back: tuple[bytes, bool] | None = None
        self._continued = False
        # A copy of what is read, while a message that may be a failure report is read: at
        # most `_keep_limit` bytes, else `kept` is dropped and `overflow` set.
        self.kept: list[bytes] | None = None
        self.kept_size = 0
        self.overflow = False
        self._keep_limit = 0

    def next(self) -> tuple[bytes, bool] | None:
        """The next line and whether it continues a longer one; None at the end."""
        if self._back is not None:
            item, self._back = self._back, None
            self._remember(item[0])
            return item
        while True:
            end = self._buffer.find(b"\n", self._start, self._start + MAX_LINE)
            if end >= 0:
                found = self._buffer[self._start : end + 1]
                self._start = end + 1
                break
            if len(self._buffer) - self._start >= MAX_LINE or self._eof:
                found = self._buffer[self._start : self._start + MAX_LINE]
                self._start += len(found)
                if not found:
                    return None
                break
            chunk = self._raw.read(CHUNK)
            self._buffer = self._buffer[self._start :] + chunk
            self._start = 0
            self._eof = not chunk
        continued = self._continued
        self._continued = not found.endswith(b"\n")
        self._remember(found)
        return found, continued

    def block(self) -> bytes:
        """Whole lines from the reader's position, none of which can end a part (a line that
        starts with "--" or "From " might: `next()` reads those one at a time). Empty when the
        next line is such a line, a fragment of a long one, or put back. This is what makes a
        large attachment cost a few regular expression searches per chunk, not work per line."""
        if self._back is not None or self._continued:
            return b""
        start = self._start
        if self._buffer.startswith((b"--", b"From "), start):
            return b""
        if self._buffer.find(b"\n", start) < 0 and not self._eof:
            chunk = self._raw.read(CHUNK)
            self._buffer = self._buffer[start:] + chunk
            self._start = start = 0
            self._eof = not chunk
        candidate = _MAY_END.search(self._buffer, start)
        end = candidate.start() + 1 if candidate else self._buffer.rfind(b"\n") + 1
        if end <= start:
            return b""
        found = self._buffer[start:end]
        self._start = end
        self._remember(found)
        return found

    def header_block(self) -> bytes | None:
        """The lines of the header block at the reader's position, and past its blank line, in
        one step when the block is whole in a buffer and none of its lines could end a part (a
        line starting with "--" or "From "); None, nothing read, when it must be read line by
        line. A receiver's header block is dozens of lines, and this is the common case."""
        if self._back is not None or self._continued:
            return None
        start = self._start
        if self._buffer.find(b"\n", start) < 0 and not self._eof:
            chunk = self._raw.read(CHUNK)
            self._buffer = self._buffer[start:] + chunk
            self._start = start = 0
            self._eof = not chunk
        buffer = self._buffer
        if buffer.startswith((b"--", b"From "), start):
            return None
        if buffer.startswith((b"\n", b"\r\n"), start):
            end = start  # no header at all: the blank line right away
            after = buffer.index(b"\n", start) + 1
        else:
            blank = _BLANK_LINE.search(buffer, start)
            if blank is None:
                return None
            end, after = blank.start() + 1, blank.end()
            if _MAY_END.search(buffer, start, end) or buffer.find(b"\n", start, end) < 0:
                return None
            if max(map(len, buffer[start:end].split(b"\n"))) >= MAX_LINE:
                return None  # a line read in fragments: line by line is the reference
        self._start = after
        self._remember(buffer[start:after])
        return buffer[start:end]

    def _remember(self, line: bytes) -> None:
        if self.kept is not None:
            self.kept.append(line)
            self.kept_size += len(line)
            if self.kept_size > self._keep_limit:
                self.kept, self.overflow = None, True

    def back(self, line: tuple[bytes, bool]) -> None:
        self._back = line
        if self.kept:
            self.kept.pop()  # read again, and kept again, by whoever reads next
            self.kept_size -= len(line[0])

    def keep(self, limit: int) -> None:
        """Start keeping a copy of what is read, up to `limit` bytes."""
        self.kept, self.kept_size, self.overflow, self._keep_limit = [], 0, False, limit

    def take_kept(self) -> bytes | None:
        """What was kept since `keep()` (None when it went over the limit); stops keeping."""
        kept, self.kept = self.kept, None
        return None if kept is None else b"".join(kept)


@dataclass(slots=True)
class Leaf:
    """One non-multipart part: its headers, and a reader of its decoded body."""

    headers: PartHeaders
    body: PartReader
    index: int


@dataclass(slots=True)
class Walk:
    """What walking one message found: how many leaves, and whether it is a failure report."""

    leaves: int = 0
    failure: bool = False
    stops: list[bytes] = field(default_factory=list)


def _is_boundary(line: bytes, boundaries: list[bytes]) -> bool:
    if not line.startswith(b"--"):
        return False
    text = line.rstrip()
    return any(text in (b"--" + b, b"--" + b + b"--") for b in boundaries)


class PartReader:
    """The decoded body of one part, read up to (not including) its closing boundary line or the
    next mailbox separator."""

    def __init__(self, lines: Lines, encoding: str, stop: Callable[[bytes, bool], bool]) -> None:
        self._lines = lines
        self._stop = stop
        self._decode = _decoder(encoding)
        self._out = bytearray()  # grown in place: a part is tens of thousands of lines
        self._done = False

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            size = CHUNK
        while len(self._out) < size and not self._done:
            block = self._lines.block()
            if block:
                self._out += self._decode(block, False)
                continue
            item = self._lines.next()
            if item is None or self._stop(*item):
                if item is not None:
                    self._lines.back(item)
                self._out += self._decode(b"", True)
                self._done = True
                break
            self._out += self._decode(item[0], False)
        out = bytes(self._out[:size])
        del self._out[:size]
        return out

    def drain(self) -> None:
        """Skip what is left of the part, without decoding it."""
        self._out.clear()
        while not self._done:
            if self._lines.block():
                continue
            item = self._lines.next()
            if item is None or self._stop(*item):
                if item is not None:
                    self._lines.back(item)
                self._done = True


def _decoder(encoding: str) -> Callable[[bytes, bool], bytes]:
    """An incremental decoder of a Content-Transfer-Encoding: line in, bytes out."""
    if encoding == "base64":
        state = {"rest": b""}

        def base64(line: bytes, final: bool) -> bytes:
            data = state["rest"] + _base64_only(line)
            usable = len(data) if final else len(data) - len(data) % 4
            state["rest"] = data[usable:]
            if final:
                data += b"=" * (-len(data) % 4)
            try:
                return binascii.a2b_base64(data[:usable] if not final else data)
            except binascii.Error:
                return b""  # a damaged tail: the report reader says the document is cut short

        return base64
    if encoding == "quoted-printable":
        return lambda line, final: binascii.a2b_qp(line)
    if encoding in ("x-uuencode", "uuencode", "x-uue"):
        inside = {"on": False}

        def uu(lines: bytes, final: bool) -> bytes:
            return b"".join(uu_line(line, final) for line in lines.splitlines(keepends=True))

        def uu_line(line: bytes, final: bool) -> bytes:
            text = line.strip()
            if not inside["on"]:
                inside["on"] = text.startswith(b"begin ")
                return b""
            if text in (b"end", b"`", b""):
                return b""
            try:
                return binascii.a2b_uu(line)
            except binascii.Error:
                return b""

        return uu
    return lambda line, final: line


_NOT_BASE64 = re.compile(rb"[^A-Za-z0-9+/]")
_BASE64_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_SPACE_AND_PADDING = b" \t\r\n="


def _base64_only(text: bytes) -> bytes:
    """`text`'s base64 characters (padding dropped), so groups of four can be cut anywhere. Line
    breaks go by `bytes.translate`, ten times faster than a regular expression; the expression
    runs only when something else is left (a damaged body)."""
    data = text.translate(None, _SPACE_AND_PADDING)
    if data.translate(None, _BASE64_ALPHABET):
        return _NOT_BASE64.sub(b"", data)
    return data


def _headers(lines: Lines, stop: Callable[[bytes, bool], bool]) -> PartHeaders | None:
    """The Content-* fields of the header block at the reader's position (up to the blank line),
    or None when the block is larger than any real message's. Only they are ever asked for (type,
    boundary, transfer encoding, file name), and a receiver's message carries dozens of others
    (Received, DKIM and ARC signatures) that would cost more to parse than the report."""
    whole = lines.header_block()
    if whole is not None:
        return part_headers(b"".join(_CONTENT_FIELDS.findall(whole)))
    block: list[bytes] = []
    size = 0
    keep = False
    while (item := lines.next()) is not None:
        line, continued = item
        if not continued:
            if stop(line, continued):
                lines.back(item)
                break
            if line in (b"\n", b"\r\n"):
                break
            if line[:1] not in (b" ", b"\t"):  # a field's first line; others continue it
                keep = line[:8].lower() == b"content-"
        size += len(line)
        if size > _MAX_HEADER_BYTES:
            return None
        if keep:
            block.append(line)
    return part_headers(b"".join(block))


def walk(
    lines: Lines, walk_state: Walk, stop: Callable[[bytes, bool], bool], max_leaves: int
) -> Iterator[Leaf]:
    """Every leaf part of the message at the reader's position; each leaf's body must be read or
    drained before the next is produced. Stops after `max_leaves` leaves."""
    headers = _headers(lines, stop)
    if headers is None:
        raise ReportError(
            f"the message has a header block larger than {size_text(_MAX_HEADER_BYTES)}, which no "
            "mail server sends"
        )
    content_type = headers.content_type()
    boundary = headers.boundary() if content_type.partition("/")[0] == "multipart" else None
    if isinstance(boundary, str) and boundary:
        inner = boundary.encode("utf-8", "surrogateescape")
        walk_state.stops.append(inner)

        def inner_stop(line: bytes, continued: bool) -> bool:
            return not continued and (_is_boundary(line, walk_state.stops) or stop(line, continued))

        try:
            while (item := lines.next()) is not None:  # the preamble, then each part
                line, continued = item
                if continued or not _is_boundary(line, walk_state.stops):
                    if stop(line, continued):
                        lines.back(item)
                        return
                    continue
                text = line.rstrip()
                if text == b"--" + inner + b"--":
                    break  # the end of this multipart; the epilogue is skipped below
                if text != b"--" + inner:
                    lines.back(item)  # an enclosing boundary: this multipart ends unclosed
                    return
                yield from walk(lines, walk_state, inner_stop, max_leaves)
            # The epilogue, up to the enclosing boundary or separator.
            while (item := lines.next()) is not None:
                if inner_stop(*item) and not _closes(item[0], inner):
                    lines.back(item)
                    return
        finally:
            walk_state.stops.remove(inner)
        return
    if content_type == "message/rfc822":
        yield from walk(lines, walk_state, stop, max_leaves)
        return
    walk_state.leaves += 1
    if walk_state.leaves > max_leaves:
        raise ReportTooLarge(
            f"the message has more than {max_leaves} parts (the max_email_parts cap)"
        )
    encoding = headers.transfer_encoding()
    body = PartReader(lines, encoding, stop)
    yield Leaf(headers, body, walk_state.leaves)
    body.drain()


def _closes(line: bytes, boundary: bytes) -> bool:
    text = line.rstrip()
    return text in (b"--" + boundary, b"--" + boundary + b"--")


def never(line: bytes, continued: bool) -> bool:
    return False


def mbox_separator(line: bytes, continued: bool) -> bool:
    """The "From " line that starts the next message of a mailbox."""
    return not continued and line.startswith(b"From ")


__all__ = ["MAX_LINE", "Leaf", "Lines", "PartReader", "Walk", "mbox_separator", "never", "walk"]
