"""How an account sends: the connection its route goes through, the domain its mail is From, and
the provider of that connection, from the account's saved connections alone (no DNS).

    active = active_connection(account.route, connections)   # None: managed sending, or paused
    domain = sending_domain(active, connections)             # "bluebird-bakery.example", or ""
    provider = provider_of(active)                           # Provider("sendgrid"), or None

The domain is what SPF, DKIM and DMARC are about, so the Overview checks it first: the active
connection's From domain; without one (managed sending, or a connection with no From address),
the first saved connection that has one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from admin.plans import Route
from admin.records import Connection
from diagnostics import providers


def domain_of(address: str) -> str:
    """The domain of a From address ("" when there is none), lower-case, without a final dot or
    the closing bracket of `Name <user@host>`."""
    _, _, domain = address.strip().rpartition("@")
    return domain.strip().strip(".>").lower()


def active_connection(route: Route, connections: Sequence[Connection]) -> Connection | None:
    """The connection the route sends through; None for managed or paused sending, or when the
    route's connection is not among `connections` (a role that may not see them)."""
    return next((c for c in connections if c.id == route.connection_id), None)


def sending_domain(active: Connection | None, connections: Sequence[Connection]) -> str:
    """The active connection's From domain, else the first saved connection's, else ""."""
    return sending_domain_of(
        active.from_address if active is not None else None,
        [c.from_address for c in connections if c is not active],
    )


def sending_domain_of(active: str | None, others: Iterable[str]) -> str:
    """`sending_domain` from the From addresses alone (the active connection's, if any, and the
    others' in order): for a query that reads the addresses, not the connections."""
    ordered = [active] if active is not None else []
    return next((d for d in map(domain_of, [*ordered, *others]) if d), "")


def provider_of(active: Connection | None) -> providers.Provider | None:
    """The catalogue provider of the active connection's host (None: managed, or a host the
    catalogue does not know, which is then checked for the platform alone)."""
    return providers.match_host(active.host) if active is not None else None


__all__ = [
    "active_connection",
    "domain_of",
    "provider_of",
    "sending_domain",
    "sending_domain_of",
]
