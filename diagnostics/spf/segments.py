"""The address space of one family cut into segments that share one verdict, and fast look-ups in it.

An SPF tree compares the connecting IP only with networks (ip4/ip6 terms, the addresses behind a/mx
terms). Every address between two consecutive network edges therefore takes the same path through the
tree and gets the same verdict, so a tree compiles to a sorted list of segment starts with one value
each, and checking an address is one binary search. Pure logic: no DNS here.
"""

from __future__ import annotations

import socket
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = [
    "IPV4_MAPPED",
    "SPACE",
    "SegmentMap",
    "cut_points",
    "memberships",
    "parse_address",
]

# Size of each family's address space, keyed by family (4 or 6).
SPACE = {4: 1 << 32, 6: 1 << 128}
# ::ffff:0:0/96, where IPv4-mapped IPv6 addresses live.
IPV4_MAPPED = 0xFFFF << 32

_AF_INET = socket.AF_INET
_AF_INET6 = socket.AF_INET6
_inet_pton = socket.inet_pton


def parse_address(text: str) -> tuple[int, int] | None:
    """`(family, integer)` for a plain IPv4 or IPv6 address, None for anything else.

    Strict on purpose (no leading zeros, no zone index, no spaces): whatever this refuses is handed to
    `check_host` as it is, so unusual spellings get exactly the verdict `check_host` gives them.
    """
    try:
        return 4, int.from_bytes(_inet_pton(_AF_INET, text), "big")
    except (OSError, TypeError, ValueError):
        pass
    try:
        return 6, int.from_bytes(_inet_pton(_AF_INET6, text), "big")
    except (OSError, TypeError, ValueError):
        return None


def cut_points(ranges: Iterable[tuple[int, int]], space: int) -> list[int]:
    """Sorted starts of the segments that the inclusive ranges `(first, last)` cut `[0, space)` into."""
    cuts = {0}
    for first, last in ranges:
        cuts.add(first)
        if last + 1 < space:
            cuts.add(last + 1)
    return sorted(cuts)


def memberships(ranges: Iterable[tuple[int, int]], starts: Sequence[int]) -> list[frozenset[int]]:
    """For each segment of `cut_points(ranges, ...)`, the (sorted-order) indices of the ranges that
    hold it. Segments held by the same ranges take the same path through an SPF tree, so one
    evaluation serves them all; an address in no network at all is the commonest such class."""
    opens: dict[int, list[int]] = {}
    closes: dict[int, list[int]] = {}
    for index, (first, last) in enumerate(sorted(set(ranges))):
        opens.setdefault(first, []).append(index)
        closes.setdefault(last + 1, []).append(index)
    active: set[int] = set()
    held: list[frozenset[int]] = []
    for start in starts:
        active.difference_update(closes.get(start, ()))
        active.update(opens.get(start, ()))
        held.append(frozenset(active))
    return held


@dataclass(frozen=True, slots=True)
class SegmentMap:
    """`starts[i]` is the first address of segment i (starts[0] == 0); `values[i]` its value.

    A value is a result string, or None for "this segment cannot be decided ahead of time".
    """

    starts: tuple[int, ...]
    values: tuple[str | None, ...]

    @classmethod
    def build(cls, starts: Sequence[int], values: Sequence[str | None]) -> SegmentMap:
        """The map with neighbouring segments of equal value merged."""
        if len(starts) != len(values) or not starts or starts[0] != 0:
            raise ValueError("segments must start at 0 and have one value each")
        kept_starts = [starts[0]]
        kept_values = [values[0]]
        for start, value in zip(starts[1:], values[1:], strict=True):
            if value != kept_values[-1]:
                kept_starts.append(start)
                kept_values.append(value)
        return cls(tuple(kept_starts), tuple(kept_values))

    def __len__(self) -> int:
        return len(self.starts)

    def lookup(self, address: int) -> str | None:
        return self.values[bisect_right(self.starts, address) - 1]

    def segments(self, space: int) -> list[tuple[int, int, str | None]]:
        """Every segment as `(first, last, value)`."""
        ends = [*self.starts[1:], space]
        return [
            (start, end - 1, value)
            for start, end, value in zip(self.starts, ends, self.values, strict=True)
        ]
