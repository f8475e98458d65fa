"""The byte streams an upload is read through: its own bytes counted against the upload's budget,
and decompression that stops at the budget without holding what it produced.

Every decompressor here knows exactly how many compressed bytes it has consumed, so the
compression ratio is judged as it grows (`UploadBudget.check_ratio`): a gzip of zeros or a zip
member of spaces is stopped after its first MiB, not after the cap.
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Callable
from typing import Protocol

from diagnostics.dmarc.parse._budget import UploadBudget
from diagnostics.errors import ReportError

CHUNK = 256 * 1024


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class Peekable(io.RawIOBase):
    """A read-only stream over `raw` whose first bytes can be looked at (`peek`) and read again.

    `read()` with no size reads in chunks of `CHUNK` until the end; a caller that must not hold a
    whole stream reads in sizes."""

    def __init__(self, raw: Readable) -> None:
        super().__init__()
        self._raw = raw
        self._buffer = b""

    def readable(self) -> bool:
        return True

    def peek(self, size: int) -> bytes:
        while len(self._buffer) < size:
            chunk = self._raw.read(size - len(self._buffer))
            if not chunk:
                break
            self._buffer += chunk
        return self._buffer[:size]

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            parts = [self._buffer]
            self._buffer = b""
            while chunk := self._raw.read(CHUNK):
                parts.append(chunk)
            return b"".join(parts)
        if self._buffer:
            out, self._buffer = self._buffer[:size], self._buffer[size:]
            return out
        return self._raw.read(size)

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


class Counted:
    """The upload's own bytes, each read counted against `max_input_bytes` and the clock. A file
    whose size is known beforehand (a path, bytes, an upload that states it) and is over the cap is
    refused before its first byte is read."""

    def __init__(self, raw: Readable, budget: UploadBudget) -> None:
        self._raw = raw
        self._budget = budget
        size = known_size(raw)
        if size is not None and size > budget.limits.max_input_bytes:
            budget.spend_input(size)  # raises, naming the cap

    def read(self, size: int = -1) -> bytes:
        data = self._raw.read(CHUNK if size is None or size < 0 else size)
        self._budget.spend_input(len(data))
        return data


def known_size(raw: object) -> int | None:
    """The bytes `raw` holds from its position on, when that is known without reading them."""
    size = getattr(raw, "size", None)  # a Streamlit upload; `_Borrowed` passes it on
    if isinstance(size, int):
        return size
    try:
        if not raw.seekable():  # type: ignore[attr-defined]
            return None
        here = raw.tell()  # type: ignore[attr-defined]
        end = raw.seek(0, io.SEEK_END)  # type: ignore[attr-defined]
        raw.seek(here)  # type: ignore[attr-defined]
    except (AttributeError, OSError, ValueError):
        return None
    return int(end - here)


class Inflater:
    """Streaming zlib decompression (gzip or a zip member's raw deflate) drawing on the budget.

    `gzip=True` reads concatenated members in turn and ignores bytes after the last member that
    are not another member (Mimecast appends two stray bytes, which makes `gzip.GzipFile` fail).
    `what` names the data in messages ("gzip data", "zip member").
    """

    def __init__(
        self, raw: Readable, budget: UploadBudget, *, gzip: bool, what: str, size: int | None = None
    ) -> None:
        self._raw = raw
        self._budget = budget
        self._gzip = gzip
        self._what = what
        self._left = size  # compressed bytes still to read, when the container says (zip)
        self._new: Callable[[], zlib._Decompress] = lambda: zlib.decompressobj(
            zlib.MAX_WBITS | 16 if gzip else -zlib.MAX_WBITS
        )
        self._inflate = self._new()
        self._pending = b""
        self._done = False
        self.consumed = 0
        self.produced = 0

    def _more(self) -> bytes:
        if self._pending:
            data, self._pending = self._pending, b""
            return data
        want = CHUNK if self._left is None else min(CHUNK, self._left)
        data = self._raw.read(want) if want else b""
        if self._left is not None:
            self._left -= len(data)
        return data

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            size = CHUNK
        while not self._done:
            data = self._inflate.unconsumed_tail or self._more()
            if not data:
                if not self._inflate.eof:
                    raise ReportError(
                        f"the {self._what} is truncated (it ends before its end marker)"
                    )
                self._done = True
                break
            try:
                out = self._inflate.decompress(data, size)
            except zlib.error as error:
                raise ReportError(f"the {self._what} is corrupt ({error})") from None
            left = len(self._inflate.unconsumed_tail)
            if self._inflate.eof:
                rest = self._inflate.unused_data
                left = len(rest)
                if self._gzip and rest.startswith(b"\x1f\x8b"):
                    self._inflate = self._new()
                    self._pending = rest
                else:
                    self._done = True
            self.consumed += len(data) - left
            if out:
                self.produced += len(out)
                self._budget.spend_inflated(len(out))
                self._budget.check_ratio(self.produced, self.consumed)
                return out
        return b""
