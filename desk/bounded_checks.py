"""DNS work a page waits for, bounded in time: the health check of a domain and the explanation of
its DMARC reports give up after `timeout` seconds (the page passes DESK_CHECK_TIMEOUT, the
configuration's `checks.timeout`) with None, so a slow nameserver costs a message, never a frozen
page. Which domain and provider an account sends with is admin.sending's.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pandas as pd

from diagnostics import run_sync
from diagnostics.dmarc import Diagnosis, explain
from diagnostics.dns import Resolver
from diagnostics.enrich import EnrichmentCache
from diagnostics.health import PLATFORM, DomainHealth, NetworkChecks, check_domain_async


def check_health(
    domain: str,
    provider_keys: Sequence[str],
    resolver: Resolver,
    timeout: float,
    *,
    platform: str | None = PLATFORM,
    network: NetworkChecks | None = None,
) -> DomainHealth | None:
    """`check_domain` of `domain` for `provider_keys` (the `platform` added: None for a domain
    not on it), or None when it takes longer than `timeout` seconds: the look-ups and
    connections are cancelled, not left running. `network`: the HTTPS and port 25 checks
    (admin.diagnosis.network_checks), off when None."""

    try:
        return run_sync(
            lambda: check_domain_async(
                domain,
                providers=provider_keys,
                platform=platform,
                resolver=resolver,
                network=network,
            ),
            timeout=timeout,
        )
    except TimeoutError:
        return None


def explain_within(
    records: pd.DataFrame,
    resolver: Resolver,
    timeout: float,
    *,
    cache: EnrichmentCache | None = None,
    providers: Sequence[str] = (),
    hosts: Sequence[str] = (),
) -> list[Diagnosis] | None:
    """`explain(records)`, or None when it takes longer than `timeout` seconds. `cache`: the
    store's enrichment cache, whose reverse DNS names sources that today's DNS cannot;
    `providers` and `hosts`: the account's connections, as evidence (admin.diagnosis)."""
    # explain is synchronous, so it runs on a thread, which no time limit can cancel; its look-ups
    # are bounded one by one by the resolver's timeout, so a thread left behind after the limit
    # ends on its own, and the bridge does not wait for it.
    try:
        return run_sync(
            lambda: asyncio.to_thread(
                explain, records, providers=providers, hosts=hosts, resolver=resolver, cache=cache
            ),
            timeout=timeout,
        )
    except TimeoutError:
        return None


__all__ = [
    "check_health",
    "explain_within",
]
