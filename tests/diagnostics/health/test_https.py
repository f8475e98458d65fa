"""The bounded HTTPS GET of the health check (diagnostics/health/_https.py) against a real loopback
HTTPS server with a trustme certificate: a redirect is refused after one request, a body with no
Content-Length is cut at the cap, a silent server costs the time limit, never more."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from diagnostics.dns import Resolver
from diagnostics.health._https import Fetched, FetchProblem, fetch
from tests.support.https import HttpsServer, Reply

HOST = "files.example.test"


async def get(
    server: HttpsServer, path: str, resolver: Resolver, cafile: str, timeout: float = 2.0
) -> Fetched:
    return await fetch(
        f"https://{HOST}{path}",
        resolver=resolver,
        timeout=timeout,
        max_bytes=100,
        cafile=cafile,
        port=server.port,
    )


@pytest.fixture
def resolver(nameserver: Callable[..., object]) -> Resolver:
    server = nameserver({HOST: {"A": "127.0.0.1"}})
    return server.resolver(timeout=0.5)  # type: ignore[attr-defined, no-any-return]


async def test_a_redirect_is_not_followed(
    https_server: Callable[..., HttpsServer], resolver: Resolver, health_cafile: str
) -> None:
    routes = {
        (HOST, "/a"): Reply(status=302, headers={"Location": f"https://{HOST}/b"}),
        (HOST, "/b"): Reply(b"the file"),
    }
    server = https_server(routes, [HOST])
    got = await get(server, "/a", resolver, health_cafile)
    assert (got.problem, got.status, got.location) == (
        FetchProblem.REDIRECT,
        302,
        f"https://{HOST}/b",
    )
    assert server.requests == [(HOST, "/a")]


async def test_a_body_without_length_is_cut_at_the_cap(
    https_server: Callable[..., HttpsServer], resolver: Resolver, health_cafile: str
) -> None:
    routes = {
        (HOST, "/big"): Reply(b"x" * 5000, length=False),
        (HOST, "/fits"): Reply(b"y" * 100, length=False),
    }
    server = https_server(routes, [HOST])
    big = await get(server, "/big", resolver, health_cafile)
    assert (big.problem, big.body) == (FetchProblem.TOO_LARGE, None)
    fits = await get(server, "/fits", resolver, health_cafile)
    assert (fits.ok, fits.body, fits.content_type) == (True, b"y" * 100, "text/plain")


async def test_a_silent_server_costs_the_time_limit(
    https_server: Callable[..., HttpsServer], resolver: Resolver, health_cafile: str
) -> None:
    server = https_server({(HOST, "/slow"): Reply(b"late", slow=True)}, [HOST])
    started = time.monotonic()
    got = await get(server, "/slow", resolver, health_cafile, timeout=0.3)
    assert got.problem is FetchProblem.TIMEOUT
    assert time.monotonic() - started < 1.5


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://files.example.test/x", FetchProblem.INVALID_URL),
        ("https://nowhere.example.test/x", FetchProblem.DNS),
    ],
)
async def test_what_cannot_be_fetched(url: str, problem: FetchProblem, resolver: Resolver) -> None:
    got = await fetch(url, resolver=resolver, timeout=1.0, max_bytes=100)
    assert got.problem is problem


async def test_an_untrusted_certificate_is_refused(
    https_server: Callable[..., HttpsServer], resolver: Resolver
) -> None:
    server = https_server({(HOST, "/a"): Reply(b"x")}, [HOST])
    # The test CA is not trusted without its file: the system's CAs alone refuse it.
    got = await fetch(
        f"https://{HOST}/a", resolver=resolver, timeout=2.0, max_bytes=100, port=server.port
    )
    assert got.problem is FetchProblem.CERTIFICATE
    assert server.requests == []
