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
    """The PTR answer for each canonical address in `ips`, keyed by address, in the same order."""
    if concurrency < 1:
        raise InvalidInput("concurrency must be at least 1 look-up at a time.")
    gate = asyncio.Semaphore(concurrency)
    answers: dict[str, Answer] = {}

    async def one(ip: str, name: str) -> None:
        try:
            answers[ip] = await resolver.query_async(name, "PTR")
        except OSError as exc:
            # A socket that cannot be opened or used (out of file descriptors, no route) is one
            # failed look-up, not a failed batch.
            answers[ip] = Answer(name, "PTR", Status.SERVFAIL, error=f"network error: {exc}")
        finally:
            gate.release()

    # The gate is taken before each task is made, so at most `concurrency` tasks exist at a time:
    # memory stays flat for a hundred thousand addresses as for ten.
    running: set[asyncio.Task[None]] = set()
    try:
        for ip in ips:
            await gate.acquire()
            task = asyncio.create_task(one(ip, reverse_pointer(ip)))
            running.add(task)
            task.add_done_callback(running.discard)
        await asyncio.gather(*running)
    except BaseException:
        # Cancelled (a page closed, Ctrl-C): leave no look-up running behind the caller's back.
        for task in running:
            task.cancel()
        raise
    return {ip: answers[ip] for ip in ips}


def ptr_name(answer: Answer) -> str | None:
    """The host name an answer gives, or None. With several PTR records the first as served is
    taken, as receivers and parsedmarc do."""
    if answer.status is Status.OK and answer.records:
        return answer.records[0]
    return None
