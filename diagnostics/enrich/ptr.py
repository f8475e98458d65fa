"""Reverse-DNS (PTR) look-ups for many addresses at once, on asyncio.

Look-ups run concurrently, at most `concurrency` in flight (a semaphore), each bounded by the
resolver's own timeout. Every address gets an `Answer`: a PTR name, no such name, or a timeout are
all values, so one dead reverse zone never fails the batch.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from diagnostics.dns import Answer, Resolver, Status
from diagnostics.enrich.addresses import reverse_pointer
from diagnostics.errors import InvalidInput

__all__ = ["lookup_ptrs", "ptr_name"]


async def lookup_ptrs(
    ips: Sequence[str], resolver: Resolver, *, concurrency: int = 64
) -> dict[str, Answer]:
    """The PTR answer for each canonical address in `ips`, keyed by address."""
    if concurrency < 1:
        raise InvalidInput("concurrency must be at least 1 look-up at a time.")
    gate = asyncio.Semaphore(concurrency)

    async def one(ip: str) -> Answer:
        async with gate:
            return await resolver.aquery(reverse_pointer(ip), "PTR")

    answers = await asyncio.gather(*(one(ip) for ip in ips))
    return dict(zip(ips, answers, strict=True))


def ptr_name(answer: Answer) -> str | None:
    """The host name an answer gives, or None. With several PTR records the first as served is
    taken, as receivers and parsedmarc do."""
    if answer.status is Status.OK and answer.records:
        return answer.records[0]
    return None
