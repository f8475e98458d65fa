"""Real servers on loopback for the health check's network parts: a trustme CA, an HTTPS server for
MTA-STS policies and BIMI logos, and aiosmtpd MX hosts, each on its own loopback address
(127.0.0.2, .3, ...) and one shared port, as MX hosts all listen on port 25."""

from __future__ import annotations

import datetime as dt
import socket
import ssl
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import trustme

from tests.support.https import HttpsServer, Reply
from tests.support.smtpserver import SmtpServer

# How an MX host presents itself: a certificate for its name, an expired one, one for another
# name, no STARTTLS at all, or never a word (accepts the connection and stays silent).
MX_KINDS = ("valid", "expired", "wrong_name", "no_starttls", "silent")


@pytest.fixture(scope="session")
def health_ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="session")
def health_cafile(health_ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("health-ca") / "ca.pem"
    health_ca.cert_pem.write_to_path(str(path))
    return str(path)


def _server_context(ca: trustme.CA, *names: str, expired: bool = False) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    now = dt.datetime.now(dt.UTC)
    window = {"not_before": now - dt.timedelta(days=90), "not_after": now - dt.timedelta(days=1)}
    ca.issue_cert(*names, **(window if expired else {})).configure_cert(context)
    return context


@pytest.fixture
def https_server(health_ca: trustme.CA) -> Iterator[Callable[..., HttpsServer]]:
    """Factory: `https_server(routes, names)` serves `routes` with a certificate for `names`."""
    started: list[HttpsServer] = []

    def start(routes: Mapping[tuple[str, str], Reply], names: list[str]) -> HttpsServer:
        server = HttpsServer(_server_context(health_ca, *names), routes).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def _free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture
def mx_hosts(health_ca: trustme.CA) -> Iterator[Callable[..., tuple[int, dict[str, str]]]]:
    """Factory: `mx_hosts({"mx1.example.test": "valid", ...})` starts one aiosmtpd server per
    host, each on its own loopback address and all on one port; returns (port, {host: address})
    for the zone's A records."""
    started: list[SmtpServer] = []

    def start(kinds: Mapping[str, str]) -> tuple[int, dict[str, str]]:
        addresses = {host: f"127.0.0.{2 + i}" for i, host in enumerate(kinds)}
        port = _free_port(next(iter(addresses.values()), "127.0.0.2"))
        for host, kind in kinds.items():
            assert kind in MX_KINDS, kind
            context = None
            if kind == "valid":
                context = _server_context(health_ca, host)
            elif kind == "expired":
                context = _server_context(health_ca, host, expired=True)
            elif kind == "wrong_name":
                context = _server_context(health_ca, "other-host.example.net")
            server = SmtpServer(starttls=context, hostname=host, silent=kind == "silent")
            server.host, server.port = addresses[host], port
            started.append(server.start())
        return port, addresses

    yield start
    for server in started:
        server.stop()


SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios" / "health"


def load_scenarios() -> list[Any]:
    import yaml

    return [
        pytest.param(yaml.safe_load(path.read_text("utf-8")), id=path.stem)
        for path in sorted(SCENARIOS.glob("*.yaml"))
    ]
