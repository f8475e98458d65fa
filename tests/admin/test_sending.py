"""admin.sending: which connection, domain and provider an account sends with, from its saved
connections alone (no database, no DNS)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from admin import Connection, Route, RouteMode
from admin.sending import (
    active_connection,
    domain_of,
    provider_of,
    sending_domain,
    sending_domain_of,
)
from diagnostics.smtp.settings import Security

NOW = datetime(2026, 11, 24, tzinfo=UTC)


def connection(id: int, from_address: str, host: str = "smtp.example.net") -> Connection:
    return Connection(
        id=id,
        account_id=1,
        label=f"connection {id}",
        host=host,
        port=587,
        security=Security.STARTTLS,
        username="user",
        from_address=from_address,
        password_hint="set",
        active=False,
        created_at=NOW,
        updated_at=NOW,
    )


def custom(connection_id: int) -> Route:
    return Route(RouteMode.CUSTOM, connection_id, "Mail goes out through the connection.")


MANAGED = Route(RouteMode.MANAGED, None, "Mail goes out through the platform.")


@pytest.mark.parametrize(
    ("address", "domain"),
    [
        ("news@Bluebird-Bakery.example", "bluebird-bakery.example"),
        ("Bakery <news@bluebird-bakery.example>", "bluebird-bakery.example"),
        ("news@bluebird-bakery.example.", "bluebird-bakery.example"),
        ("  news@bluebird-bakery.example  ", "bluebird-bakery.example"),
        ("a@b@bluebird-bakery.example", "bluebird-bakery.example"),
        ("", ""),
        ("no address", "no address"),
    ],
)
def test_the_domain_of_a_from_address(address: str, domain: str) -> None:
    assert domain_of(address) == domain


def test_the_active_connection_is_the_one_the_route_names() -> None:
    first, second = connection(1, "a@one.example"), connection(2, "b@two.example")
    assert active_connection(custom(2), [first, second]) is second
    assert active_connection(MANAGED, [first, second]) is None
    # The route's connection not among those given (a role that may not list them): none.
    assert active_connection(custom(3), [first, second]) is None


def test_the_sending_domain_is_the_active_connections_else_the_first_with_one() -> None:
    empty = connection(1, "")
    first, second = connection(2, "a@one.example"), connection(3, "b@two.example")
    assert sending_domain(second, [empty, first, second]) == "two.example"
    assert sending_domain(None, [empty, first, second]) == "one.example"
    # An active connection without a From address gives way to a saved one that has it.
    assert sending_domain(empty, [empty, second]) == "two.example"
    assert sending_domain(None, [empty]) == ""
    assert sending_domain(None, []) == ""
    # The same from the addresses alone (the queue reads them from a query).
    assert sending_domain_of("b@two.example", ["", "a@one.example"]) == "two.example"
    assert sending_domain_of(None, ["", "a@one.example", "b@two.example"]) == "one.example"
    assert sending_domain_of("", ["b@two.example"]) == "two.example"
    assert sending_domain_of(None, []) == ""


def test_the_provider_is_the_catalogues_for_the_active_host() -> None:
    sendgrid = provider_of(connection(1, "a@one.example", host="SMTP.SendGrid.net."))
    assert sendgrid is not None
    assert sendgrid.key == "sendgrid"
    assert provider_of(connection(2, "a@one.example", host="mail.own-relay.example")) is None
    assert provider_of(None) is None
