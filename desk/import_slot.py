"""One report import at a time per server: an import holds the slot while it reads and stores.

Twenty people share one Streamlit server. An import is bounded per file (the parser's caps: bytes,
ratio, records, seconds) but two people importing 500 files each at once would still share two
cores and the database's write lock between them, and make every page slow. So imports queue
here, process-wide, while every other page (reading, charts, checks) runs as usual in its own
session's thread. A session that has to wait is told so (`on_wait`) before it blocks.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

__all__ = ["import_slot"]

_SLOT = threading.BoundedSemaphore(1)


@contextmanager
def import_slot(on_wait: Callable[[], None] | None = None) -> Iterator[None]:
    """Hold the server's one import slot for the `with` block; `on_wait()` is called first when
    another import holds it (the block then starts as soon as that import ends)."""
    if not _SLOT.acquire(blocking=False):
        if on_wait is not None:
            on_wait()
        _SLOT.acquire()
    try:
        yield
    finally:
        _SLOT.release()
