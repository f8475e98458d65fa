"""A resolver that freezes the DNS answers one compilation saw, and notices questions it did not see.

`compile()` walks an SPF tree once, then replays `check_host` against the answers of that walk. For
the replay to mean anything every replay must see the same answers (a DNS timeout cached for a few
seconds by the ordinary resolver could turn into an answer half-way through), and the compiler must
learn when an evaluation asked something the walk never asked: that evaluation depended on more than
the networks the walk found (a macro naming the IP, a PTR look-up), so its verdict cannot be reused
for other addresses.

`SnapshotResolver` wraps an ordinary `Resolver`: questions asked while it is recording are sent through
the inner resolver once and kept for good; later questions it already holds are answered from the
snapshot; anything else goes to the inner resolver (whose own cache and TTLs apply) and is noted as
unforeseen.
"""

from __future__ import annotations

import threading

from diagnostics.dns import Answer, Resolver, normalize_name
from diagnostics.errors import InvalidInput

__all__ = ["SnapshotResolver"]


def _key(name: str, rdtype: str) -> tuple[str, str]:
    try:
        return normalize_name(name), rdtype.upper()
    except InvalidInput:
        # The inner resolver turns such names into an INVALID_NAME answer; keep them apart verbatim.
        return name, rdtype.upper()


class SnapshotResolver(Resolver):
    """Answers from a frozen snapshot where it has one, from `inner` otherwise."""

    def __init__(self, inner: Resolver) -> None:
        # The base class is set up only so that the Resolver interface is whole; every question
        # goes through `inner`, which owns the sockets, the timeout and the query counts.
        super().__init__(
            list(inner.nameservers), port=inner.port, timeout=inner.timeout, cache=False
        )
        self.inner = inner
        self._answers: dict[tuple[str, str], Answer] = {}
        self._recording = True
        self._tracking = False
        self._unforeseen: set[tuple[str, str]] = set()
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"SnapshotResolver({self.inner!r}, answers={len(self._answers)})"

    @property
    def queries_sent(self) -> int:
        return self.inner.queries_sent

    @property
    def cache_hits(self) -> int:
        return self.inner.cache_hits

    @property
    def snapshot(self) -> dict[tuple[str, str], Answer]:
        """The frozen answers, by (normalised name, type)."""
        return dict(self._answers)

    def freeze(self) -> None:
        """Stop adding to the snapshot: from now on new questions are noted as unforeseen."""
        self._recording = False
        self._tracking = True

    def stop_tracking(self) -> None:
        """Stop noting unforeseen questions (compiling is over; later checks may ask many)."""
        with self._lock:
            self._tracking = False
            self._unforeseen.clear()

    def take_unforeseen(self) -> set[tuple[str, str]]:
        """Questions outside the snapshot asked since the last call (and forget them)."""
        with self._lock:
            seen, self._unforeseen = self._unforeseen, set()
        return seen

    def query(self, name: str, rdtype: str) -> Answer:
        key = _key(name, rdtype)
        held = self._held(key)
        if held is not None:
            return held
        return self._keep(key, self.inner.query(name, rdtype))

    async def query_async(self, name: str, rdtype: str) -> Answer:
        key = _key(name, rdtype)
        held = self._held(key)
        if held is not None:
            return held
        return self._keep(key, await self.inner.query_async(name, rdtype))

    def _held(self, key: tuple[str, str]) -> Answer | None:
        with self._lock:
            answer = self._answers.get(key)
            if answer is None and self._tracking:
                self._unforeseen.add(key)
            return answer

    def _keep(self, key: tuple[str, str], answer: Answer) -> Answer:
        if self._recording:
            with self._lock:
                self._answers.setdefault(key, answer)
        return answer
