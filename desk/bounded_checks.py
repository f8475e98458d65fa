"""DNS work a page waits for, bounded in time: the health check of a domain typed on the DNS check
gives up after `timeout` seconds (the page passes DESK_CHECK_TIMEOUT, the configuration's
`checks.timeout`) with None, so a slow nameserver costs a message, never a frozen page. Explaining
reports within a time limit is admin.diagnosis.explain_within (the account diagnosis uses it too);
which domain and provider an account sends with is admin.sending's.
"""

from __future__ import annotations

from collections.abc import Sequence

from diagnostics import run_sync
from diagnostics.dns import Resolver
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


__all__ = [
    "check_health",
]
