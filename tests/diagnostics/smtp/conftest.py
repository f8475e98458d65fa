"""Fixtures for the SMTP tests: a test CA, certificates, aiosmtpd servers and a loopback nameserver
that maps the providers' real host names to 127.0.0.1."""

from __future__ import annotations

import ssl
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme

from diagnostics.dns import Resolver
from tests.support.smtpserver import Behaviour, SmtpServer

HOSTS = [
    "mx.test",
    "smtp.sendgrid.net",
    "email-smtp.us-east-1.amazonaws.com",
    "smtp.mailgun.org",
    "smtp.office365.com",
    "smtp.gmail.com",
    "smtp.postmarkapp.com",
    "alias.test",
]


@pytest.fixture(scope="session")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="session")
def cafile(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


def server_context(ca: trustme.CA, *names: str) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(*names).configure_cert(context)
    return context


@pytest.fixture(scope="session")
def good_tls(ca: trustme.CA) -> ssl.SSLContext:
    """A certificate from the trusted test CA for every host name the tests use."""
    return server_context(ca, *HOSTS[:-1])


@pytest.fixture
def smtp_server() -> Iterator[Callable[..., SmtpServer]]:
    """Factory: `smtp_server(Behaviour(...), starttls=ctx, ...)` starts an aiosmtpd server."""
    started: list[SmtpServer] = []

    def start(behaviour: Behaviour | None = None, **kwargs: Any) -> SmtpServer:
        server = SmtpServer(behaviour, **kwargs).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def resolver(nameserver: Callable[..., Any]) -> Resolver:
    """Resolves the providers' host names to 127.0.0.1; `nowhere.test` does not exist."""
    zone = {host: {"A": "127.0.0.1"} for host in HOSTS}
    # Every name here is answered at once (nowhere.test with NXDOMAIN): the timeout only bounds a
    # loaded machine's delay, and 1 s was once too short with four test workers on two cores.
    resolver: Resolver = nameserver(zone).resolver(timeout=3.0)
    return resolver


@pytest.fixture
def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then released)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


DATA = Path(__file__).parent


@pytest.fixture
def unanswered_port() -> Iterator[int]:
    """A port whose connection attempts are never answered: a listener with a full accept queue,
    so the kernel drops further SYNs, as a firewall that drops port 25 does."""
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port: int = listener.getsockname()[1]
    fillers = []
    for _ in range(3):
        filler = socket.socket()
        filler.setblocking(False)
        filler.connect_ex(("127.0.0.1", port))
        fillers.append(filler)
    yield port
    for sock in [*fillers, listener]:
        sock.close()
