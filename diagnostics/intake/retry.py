"""How long to wait before trying a lost connection again: exponential, bounded and jittered.

The delay doubles with each failure in a row, up to `cap`, and is drawn at random from its upper
half ("equal jitter"): never zero, so a server that is down is not hammered, and spread, so many
desks that lost the same server do not all come back in the same second. A success resets it.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["Backoff"]


@dataclass
class Backoff:
    """`next()` is the delay before the next try, in seconds; `reset()` after a success."""

    base: float = 1.0
    cap: float = 300.0
    draw: Callable[[], float] = field(default=random.random, repr=False)
    failures: int = 0

    def next(self) -> float:
        ceiling = min(self.cap, self.base * 2.0 ** min(self.failures, 32))
        self.failures += 1
        return float(ceiling / 2 + self.draw() * ceiling / 2)

    def reset(self) -> None:
        self.failures = 0
