"""The chunks of one pass over a folder, cut as the heads of their messages arrive: no I/O here.

The IMAP client (imap.py) needs each message's head (its size above all) before it can cut a chunk:
a chunk is bounded in messages and in bytes, and a message over the size cap is never fetched. Asking
for the heads of a whole backlog first made the desk wait for all of them (the server reads every
message to give its BODYSTRUCTURE) before storing anything. Here the heads are asked a block at a
time, one block ahead: the server prepares the next block while the desk stores this one.

The first blocks are small and then double up to `most` messages, so that the first chunk is
stored soon after connecting instead of after the largest block's round trips.

    backlog = Backlog(uids, ask=lambda block: executor.submit(mailbox.heads, block), ...)
    backlog.ask()               # the first block's heads, fetched on the IMAP thread
    chunk = backlog.next()      # waits for them; None once every message has been handed out
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from typing import Generic, Protocol, TypeVar

__all__ = ["FIRST_BLOCK", "Backlog", "chunks"]

# Messages in the first block of heads; later blocks double up to the chunk size.
FIRST_BLOCK = 50


class Sized(Protocol):
    @property
    def size(self) -> int: ...


H = TypeVar("H", bound=Sized)


class Backlog(Generic[H]):
    """The chunks of `uids` in order. `ask(block)` starts fetching the heads of `block` and gives
    their future ({uid: head}; a message expunged meanwhile is absent). `most` and `most_bytes`
    bound a chunk; a message over `cap` weighs nothing (it is not fetched)."""

    def __init__(
        self,
        uids: Sequence[int],
        ask: Callable[[list[int]], Future[dict[int, H]]],
        *,
        most: int,
        most_bytes: int,
        cap: int,
    ) -> None:
        self._blocks = deque(_blocks(list(uids), most))
        self._ask = ask
        self._most = most
        self._most_bytes = most_bytes
        self._cap = cap
        self._asked: deque[tuple[list[int], Future[dict[int, H]]]] = deque()
        self._ready: deque[list[int]] = deque()
        self.heads: dict[int, H] = {}
        self.total = len(uids)  # less each message found gone

    def ask(self) -> None:
        """Start fetching the next block's heads, unless some are being fetched already."""
        if self._blocks and not self._asked:
            block = self._blocks.popleft()
            self._asked.append((block, self._ask(block)))

    def next(self) -> list[int] | None:
        """The next chunk, waiting for its heads if they are still being fetched (what the
        fetch raised, raised here); None when there is no more."""
        while not self._ready:
            if not self._asked:
                self.ask()
                if not self._asked:
                    return None
            block, future = self._asked[0]
            found = future.result()
            self._asked.popleft()
            self.heads.update(found)
            present = [uid for uid in block if uid in found]
            self.total -= len(block) - len(present)
            self._ready.extend(chunks(present, found, self._most, self._most_bytes, self._cap))
        return self._ready.popleft()

    def cancel(self) -> None:
        """Forget the heads not yet fetched (after an error or a stop)."""
        for _, future in self._asked:
            future.cancel()
        self._asked.clear()
        self._blocks.clear()


def chunks(
    uids: list[int], heads: dict[int, H], most: int, most_bytes: int, cap: int
) -> Iterator[list[int]]:
    """`uids` cut in runs of at most `most` messages and `most_bytes` bytes (a message over `cap`
    is not fetched, so it weighs nothing)."""
    chunk: list[int] = []
    size = 0
    for uid in uids:
        weight = heads[uid].size if heads[uid].size <= cap else 0
        if chunk and (len(chunk) >= most or size + weight > most_bytes):
            yield chunk
            chunk, size = [], 0
        chunk.append(uid)
        size += weight
    if chunk:
        yield chunk


def _blocks(uids: list[int], most: int) -> Iterator[list[int]]:
    size = min(FIRST_BLOCK, most)
    start = 0
    while start < len(uids):
        yield uids[start : start + size]
        start += size
        size = min(size * 2, most)
