"""Real SMTP servers on loopback for the probe's tests: aiosmtpd on 127.0.0.1 port 0, each in its own
thread and event loop (so both `probe` and `probe_async` can talk to it), with trustme certificates.

    server = SmtpServer(Behaviour(users={"user": "pass"}), starttls=cert_context)
    server.start(); ...; server.stop()

`Behaviour` says how the server answers: which logins it accepts and with which reply it refuses
(fixed, or built from the credentials it was sent, as a server that quotes them back does), which
sender, recipients or message it rejects and with what text, whether it hangs up during DATA. A `silent` server accepts connections and never says anything; `refuse_with` greets with
that refusal instead of 220.
"""

from __future__ import annotations

import asyncio
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session


@dataclass
class Behaviour:
    users: dict[str, str] = field(default_factory=dict)
    # The reply to a bad login, e.g. Microsoft's 535 5.7.139 text. (Not named auth_...: aiosmtpd
    # takes every handler attribute named so for an AUTH mechanism.)
    login_refusal: str | None = None
    # The reply to a bad login built from (user name, password) as sent: a server that echoes them.
    echo_refusal: Callable[[str, str], str] | None = None
    mail_reply: str | None = None  # e.g. "550 5.7.1 ..." to refuse every sender
    rcpt_replies: dict[str, str] = field(default_factory=dict)  # recipient -> refusal
    data_reply: str | None = None
    disconnect_in_data: bool = False
    received: list[Envelope] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)  # user names that tried, for "never retried"

    def authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        if not isinstance(data, LoginPassword):
            return AuthResult(success=False, handled=False)
        user = data.login.decode()
        self.logins.append(user)
        password = data.password.decode()
        if self.users.get(user) == password:
            return AuthResult(success=True, auth_data=data)
        refusal = self.echo_refusal(user, password) if self.echo_refusal else self.login_refusal
        return AuthResult(success=False, handled=False, message=refusal)

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self.mail_reply:
            return self.mail_reply
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address in self.rcpt_replies:
            return self.rcpt_replies[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.disconnect_in_data:
            assert server.transport is not None
            server.transport.abort()
            return "421 closing"
        if self.data_reply:
            return self.data_reply
        self.received.append(envelope)
        return "250 2.0.0 Ok: queued"


class _Silent(asyncio.Protocol):
    """Accepts the connection and never sends a byte: the server that never greets."""

    transport: asyncio.BaseTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport


class _Refuser(asyncio.Protocol):
    """Greets with a refusal (a 554 instead of 220), as a server that blocks the client does."""

    def __init__(self, greeting: str) -> None:
        self.greeting = greeting
        self.transport: asyncio.BaseTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        assert isinstance(transport, asyncio.Transport)
        transport.write(self.greeting.encode() + b"\r\n")

    def data_received(self, data: bytes) -> None:
        assert isinstance(self.transport, asyncio.Transport)
        self.transport.write(b"221 Bye\r\n")
        self.transport.close()


class SmtpServer:
    def __init__(
        self,
        behaviour: Behaviour | None = None,
        *,
        implicit_tls: ssl.SSLContext | None = None,
        starttls: ssl.SSLContext | None = None,
        require_starttls: bool = False,
        auth_require_tls: bool = True,
        auth_required: bool = False,
        auth_mechanisms: tuple[str, ...] | None = None,
        silent: bool = False,
        refuse_with: str | None = None,
        hostname: str = "mx.test",
    ) -> None:
        self.behaviour = behaviour or Behaviour()
        self.implicit_tls = implicit_tls
        self.starttls = starttls
        self.require_starttls = require_starttls
        self.auth_require_tls = auth_require_tls
        self.auth_required = auth_required
        self.auth_mechanisms = auth_mechanisms
        self.silent = silent
        self.refuse_with = refuse_with
        self.hostname = hostname
        self.host = "127.0.0.1"
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.AbstractServer | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._protocols: list[asyncio.Protocol] = []

    def _factory(self) -> asyncio.Protocol:
        protocol = self._make()
        self._protocols.append(protocol)
        return protocol

    def _make(self) -> asyncio.Protocol:
        if self.silent:
            return _Silent()
        if self.refuse_with:
            return _Refuser(self.refuse_with)
        return SMTP(
            self.behaviour,
            hostname=self.hostname,
            tls_context=self.starttls,
            require_starttls=self.require_starttls,
            # aiosmtpd counts only STARTTLS as TLS; on an implicit-TLS port the session is
            # encrypted from the start, so AUTH may be listed at once.
            auth_require_tls=self.auth_require_tls and self.implicit_tls is None,
            auth_required=self.auth_required,
            auth_exclude_mechanism=[
                m for m in ("PLAIN", "LOGIN") if m not in (self.auth_mechanisms or (m,))
            ],
            authenticator=self.behaviour.authenticate,
            loop=self._loop,
        )

    def start(self) -> SmtpServer:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the test SMTP server did not start")
        return self

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._loop = loop
        self._server = loop.run_until_complete(
            loop.create_server(self._factory, self.host, self.port, ssl=self.implicit_tls)
        )
        self.port = self._server.sockets[0].getsockname()[1]
        self._ready.set()
        loop.run_forever()
        self._server.close()
        # Hang up on every client still connected, and let the sessions' tasks end, so no socket
        # is left for the garbage collector to complain about in a later test.
        for protocol in self._protocols:
            transport = getattr(protocol, "transport", None)
            if isinstance(transport, asyncio.Transport):
                transport.abort()
        pending = asyncio.all_tasks(loop)
        for task in pending:
            task.cancel()
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.run_until_complete(self._server.wait_closed())
        loop.close()

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
