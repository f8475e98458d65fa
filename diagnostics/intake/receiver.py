"""The report address the desk answers itself: an SMTP (or LMTP) server, on aiosmtpd, that takes mail
for the configured report recipients and stores the reports in it before saying yes.

    server = await start_receiver(report_store, ["dmarc-reports@reports.example.net"],
                                  host="0.0.0.0", port=25, tls=context)
    ...; server.close(); await server.wait_closed()

What a sending receiver hears, and why:
- RCPT to an address that is not a report recipient: 550. The desk is nobody's mail server.
- A message over `max_message_bytes`: refused with 552 naming the cap (SIZE is advertised in EHLO,
  so a client that declares the size is refused before sending it).
- 250 only once the message's reports are committed (messages.py): a crash before that leaves the
  sender holding the message, and it sends it again; the store counts a report seen twice once.
- 451 when the store cannot be written now: the sender keeps the message and retries later, so
  nothing is lost. A fault of the desk's own is a 451 too, never a bounce.
- 554 with the reason when nothing in the message is a report.

STARTTLS is offered when a certificate is given (never required: receivers that do not speak TLS
must still be able to deliver). At most `max_connections` sessions at once; more are told 421
"try again later". Parsing and storing run in threads, `max_imports` messages at a time, so a
large report does not stall the other sessions.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Callable, Iterable
from typing import Any

from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP, Envelope, Session

from diagnostics.dmarc import ReportStore
from diagnostics.errors import InvalidInput
from diagnostics.intake.imap import DEFAULT_MAX_MESSAGE_BYTES
from diagnostics.intake.messages import STORE_DOWN, InboundMessage, store_messages
from diagnostics.intake.triage import MessageOutcome, size_words, smtp_reply, unavailable

__all__ = [
    "DEFAULT_MAX_CONNECTIONS",
    "DEFAULT_MAX_IMPORTS",
    "ReportHandler",
    "clean_recipient",
    "server_tls_context",
    "start_receiver",
]

log = logging.getLogger(__name__)

DEFAULT_MAX_CONNECTIONS = 50
DEFAULT_MAX_IMPORTS = 2
_MESSAGE = "message"
_BUSY = b"421 4.3.2 Too many connections to this report address; try again later\r\n"


def clean_recipient(address: str) -> str:
    """A report recipient as compared: without <>, lower case. Raises InvalidInput unless it is
    an address (local@domain)."""
    text = address.strip().strip("<>").strip().lower()
    local, at, domain = text.rpartition("@")
    if not at or not local or "." not in domain or any(c.isspace() for c in text):
        raise InvalidInput(
            f"{address!r} is not a report address: give one like dmarc-reports@reports.example.net."
        )
    return text


class ReportHandler:
    """The aiosmtpd handler: who may be written to, and what to answer after DATA."""

    def __init__(
        self,
        store: ReportStore,
        recipients: Iterable[str],
        *,
        lmtp: bool = False,
        max_imports: int = DEFAULT_MAX_IMPORTS,
        on_outcome: Callable[[MessageOutcome], None] | None = None,
    ) -> None:
        self.store = store
        self.recipients = frozenset(clean_recipient(r) for r in recipients)
        if not self.recipients:
            raise InvalidInput("The receiver needs at least one report address (--recipient).")
        self.lmtp = lmtp
        self.on_outcome = on_outcome
        self._imports = asyncio.Semaphore(max_imports)

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        try:
            known = clean_recipient(address) in self.recipients
        except InvalidInput:
            known = False
        if not known:
            return "550 5.1.1 No such report address here; this server takes DMARC reports only"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        data = envelope.original_content or b""
        async with self._imports:
            outcome = await asyncio.to_thread(self._store, data)
        log.info("report mail from %s: %s", session.peer, outcome.line)
        if self.on_outcome is not None:
            self.on_outcome(outcome)
        reply = smtp_reply(outcome)
        # LMTP answers DATA once per accepted recipient (RFC 2033 4.2): one message, one verdict.
        return "\r\n".join([reply] * len(envelope.rcpt_tos)) if self.lmtp else reply

    def _store(self, data: bytes) -> MessageOutcome:
        try:
            [outcome] = store_messages(self.store, [InboundMessage(_MESSAGE, data)])
        except STORE_DOWN:
            return unavailable(_MESSAGE, "the database cannot be written now")
        except Exception:
            # A fault of ours must not bounce a report: 451 makes the sender try again later.
            log.exception("unexpected failure storing a report message")
            return unavailable(_MESSAGE, "the desk could not store the message")
        return outcome


class _Limits:
    """What the desk's SMTP and LMTP sessions add to aiosmtpd's: the cap named in the refusal of a
    message that is too large, and a count of live sessions."""

    cap: int = DEFAULT_MAX_MESSAGE_BYTES
    closed: Callable[[Any], None] | None = None

    async def push(self, status: Any) -> None:
        if isinstance(status, str) and status.startswith("552 Error"):
            in_data = "Too much mail data" in status
            # aiosmtpd's words do not say what the limit is; the sender's bounce should.
            status = (
                f"552 5.3.4 The message is larger than the {size_words(self.cap)} this report "
                "address accepts"
            )
            if in_data and isinstance(self, LMTP):  # one reply per recipient after DATA
                recipients = len(getattr(getattr(self, "envelope", None), "rcpt_tos", None) or [])
                status = "\r\n".join([status] * max(recipients, 1))
        await super().push(status)  # type: ignore[misc]

    def connection_lost(self, error: Exception | None) -> None:
        super().connection_lost(error)  # type: ignore[misc]
        if self.closed is not None:
            self.closed(self)


class _ReportSMTP(_Limits, SMTP):
    pass


class _ReportLMTP(_Limits, LMTP):
    pass


class _Busy(asyncio.Protocol):
    """Over the connection limit: 421, and the connection is closed."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        transport.write(_BUSY)
        transport.close()


def server_tls_context(cert: str, key: str) -> ssl.SSLContext:
    """The STARTTLS context from a certificate chain and its key (PEM files)."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as exc:
        raise InvalidInput(
            f"The TLS certificate or key cannot be read ({exc.strerror or exc}); give PEM files."
        ) from None
    return context


async def start_receiver(
    store: ReportStore,
    recipients: Iterable[str],
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    lmtp: bool = False,
    tls: ssl.SSLContext | None = None,
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
    max_connections: int = DEFAULT_MAX_CONNECTIONS,
    max_imports: int = DEFAULT_MAX_IMPORTS,
    hostname: str | None = None,
    on_outcome: Callable[[MessageOutcome], None] | None = None,
) -> asyncio.Server:
    """Listen on host:port (0: any free port; see `server.sockets`) until the server is closed."""
    if max_message_bytes <= 0 or max_connections <= 0 or max_imports <= 0:
        raise InvalidInput("The size cap and the connection and import limits must be positive.")
    handler = ReportHandler(
        store, recipients, lmtp=lmtp, max_imports=max_imports, on_outcome=on_outcome
    )
    loop = asyncio.get_running_loop()
    live: set[object] = set()
    kind = _ReportLMTP if lmtp else _ReportSMTP

    def factory() -> asyncio.BaseProtocol:
        if len(live) >= max_connections:
            return _Busy()
        protocol = kind(
            handler,
            data_size_limit=max_message_bytes,
            enable_SMTPUTF8=True,
            hostname=hostname,
            tls_context=tls,
            loop=loop,
        )
        protocol.cap = max_message_bytes
        protocol.closed = live.discard
        live.add(protocol)
        return protocol

    return await loop.create_server(factory, host, port)
