"""The live test of an SMTP connection: resolve, connect, banner, EHLO, TLS, AUTH and, when asked,
MAIL FROM, RCPT TO and DATA, each stage recorded; the outcome is a `ProbeResult` value.

Every text from the server passes through the session's scrubber (diagnostics.redaction) as it is
recorded, and the finished result once more, so a server that echoes the password back cannot put
it in the result, the diagnosis or the transcript.

The host is resolved through `diagnostics.dns.Resolver` (so tests use a loopback nameserver) and the
probe connects to that address itself, while TLS is verified against the host name as entered. The
whole run sits under one deadline: a silent server costs `timeout`, never a hang. A 5xx reply is
never retried (a second wrong login can lock an account); exactly one AUTH mechanism is tried.

What each failure means is decided in `diagnosis.py`; this module only observes.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
import ssl
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import aiosmtplib
from aiosmtplib.response import SMTPResponse
from cryptography import x509

from diagnostics import providers
from diagnostics._sync import run_sync
from diagnostics.dns import Resolver, Status, get_resolver
from diagnostics.errors import InvalidInput, ResolverError
from diagnostics.redaction import Scrubber
from diagnostics.smtp.codes import Stage
from diagnostics.smtp.diagnosis import Failure, FailureKind, diagnose
from diagnostics.smtp.message import build_test_message
from diagnostics.smtp.result import ProbeResult, Reply, TlsInfo
from diagnostics.smtp.settings import Security, SmtpSettings
from diagnostics.smtp.transcript import CREDENTIALS_HIDDEN, Transcript

__all__ = ["probe", "probe_async"]

# Of the time left when the banner wait starts, this much (at most _SNIFF_MAX seconds) is kept back
# to check whether a silent port is in fact waiting for a TLS handshake.
_SNIFF_SHARE = 0.4
_SNIFF_MAX = 2.0
# Cap on the polite QUIT at the end, so that a server slow to say goodbye does not cost time.
_QUIT_WAIT = 0.5
# X509_V_ERR_HOSTNAME_MISMATCH, X509_V_ERR_EMAIL_MISMATCH, X509_V_ERR_IP_ADDRESS_MISMATCH.
_NAME_MISMATCH = frozenset({62, 63, 64})
# Preference among the mechanisms aiosmtplib speaks; CRAM-MD5 last as few providers still offer it.
_AUTH_ORDER = ("plain", "login", "cram-md5")


def probe(
    settings: SmtpSettings,
    *,
    send_to: str | Sequence[str] | None = None,
    timeout: float = 10.0,
    tls_verify: bool = True,
    cafile: str | None = None,
    resolver: Resolver | None = None,
    ehlo_name: str | None = None,
    connection_label: str | None = None,
) -> ProbeResult:
    """`probe_async` for synchronous callers (the CLI, a page, a notebook cell), through the
    library's sync bridge (diagnostics/_sync.py)."""
    return run_sync(
        lambda: probe_async(
            settings,
            send_to=send_to,
            timeout=timeout,
            tls_verify=tls_verify,
            cafile=cafile,
            resolver=resolver,
            ehlo_name=ehlo_name,
            connection_label=connection_label,
        )
    )


async def probe_async(
    settings: SmtpSettings,
    *,
    send_to: str | Sequence[str] | None = None,
    timeout: float = 10.0,
    tls_verify: bool = True,
    cafile: str | None = None,
    resolver: Resolver | None = None,
    ehlo_name: str | None = None,
    connection_label: str | None = None,
) -> ProbeResult:
    """Test `settings` against the live server. Without `send_to`, a connection and login check;
    with it, a real test message to those addresses. Raises InvalidInput only for arguments that
    make a test impossible (no From address to send from, a non-positive timeout)."""
    recipients = _recipients(send_to)
    if timeout <= 0:
        raise InvalidInput("The timeout must be a positive number of seconds.")
    if recipients and "@" not in _sender(settings):
        raise InvalidInput(
            "Sending a test message needs a From address (or a user name that is an address)."
        )
    label = connection_label or f"{settings.host}:{settings.port}"
    session = _Session(
        settings, recipients, timeout, tls_verify, cafile, resolver, ehlo_name, label
    )
    started = time.monotonic()
    failure = await session.run()
    duration = time.monotonic() - started
    provider = providers.match_host(settings.host)
    evidence = ProbeResult(
        ok=failure is None,
        stage=session.stage,
        host=settings.host,
        port=settings.port,
        security=settings.security.value,
        provider=provider.key if provider else None,
        address=session.address,
        transcript=session.transcript.lines,
        duration=duration,
        tls=session.tls,
        replies=tuple(session.replies),
        accepted_recipients=tuple(session.accepted),
        refused_recipients=dict(session.refused),
        sent_message_id=session.message_id,
    )
    if failure is not None:
        diagnosis = diagnose(failure, settings, provider, scrubber=session.scrubber)
        evidence = replace(
            evidence,
            stage=failure.stage,
            symptom=diagnosis.symptom,
            explanation=diagnosis.explanation,
            fix=diagnosis.fix,
            hints=diagnosis.hints,
        )
    # The second guard: whatever text reached the result by another way is scrubbed too.
    return evidence.scrubbed(session.scrubber)


def _recipients(send_to: str | Sequence[str] | None) -> list[str]:
    if send_to is None:
        return []
    items = [send_to] if isinstance(send_to, str) else list(send_to)
    cleaned = [item.strip() for part in items for item in part.split(",") if item.strip()]
    for address in cleaned:
        if "@" not in address or any(c in address for c in "\r\n<> "):
            raise InvalidInput(f"{address!r} is not an email address to send a test to.")
    return cleaned


def _sender(settings: SmtpSettings) -> str:
    return settings.from_address or (settings.username if "@" in settings.username else "")


def _tls_context(tls_verify: bool, cafile: str | None) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if cafile:
        context.load_verify_locations(cafile=cafile)
    if not tls_verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def _ssl_error(exc: BaseException) -> ssl.SSLError | None:
    """The TLS error behind `exc`, which aiosmtplib wraps in its own exceptions."""
    seen: BaseException | None = exc
    for _ in range(6):
        if seen is None:
            return None
        if isinstance(seen, ssl.SSLError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def _tls_failure(stage: Stage, error: ssl.SSLError) -> Failure:
    if isinstance(error, ssl.SSLCertVerificationError):
        # A trusted certificate for another name: OpenSSL says 62 when the name entered is a host
        # name, 64 when it is an IP address, 63 for an e-mail address. The others (self-signed,
        # unknown issuer, expired) all mean the chain cannot be trusted.
        kind = (
            FailureKind.CERT_HOSTNAME
            if error.verify_code in _NAME_MISMATCH
            else FailureKind.CERT_UNTRUSTED
        )
        return Failure(stage, kind, detail=str(error.verify_message or error.reason))
    reason = str(error.reason or error)
    if stage is Stage.TLS:
        # What a plain SMTP greeting looks like to a TLS client: not a TLS record at all.
        return Failure(stage, FailureKind.TLS_PLAINTEXT, detail=reason)
    return Failure(stage, FailureKind.TLS_HANDSHAKE, detail=f"TLS negotiation failed: {reason}")


def _tls_info(sslobj: ssl.SSLObject | None, verified: bool) -> TlsInfo | None:
    if sslobj is None:
        return None
    cipher = sslobj.cipher()
    info = TlsInfo(
        version=sslobj.version(), cipher=cipher[0] if cipher else None, verified=verified
    )
    der = sslobj.getpeercert(binary_form=True)
    if not der:
        return info
    try:
        cert = x509.load_der_x509_certificate(der)
    except ValueError:
        return info
    names: tuple[str, ...] = ()
    with contextlib.suppress(x509.ExtensionNotFound):
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
        names = tuple(str(n) for n in san.value.get_values_for_type(x509.DNSName))
    return TlsInfo(
        version=info.version,
        cipher=info.cipher,
        subject=cert.subject.rfc4514_string(),
        issuer=cert.issuer.rfc4514_string(),
        not_after=cert.not_valid_after_utc,
        names=names,
        verified=verified,
    )


@dataclass
class _Session:
    """The state of one probe as it runs; `run` returns the failure, or None when all passed."""

    settings: SmtpSettings
    recipients: list[str]
    timeout: float
    tls_verify: bool
    cafile: str | None
    resolver: Resolver | None
    ehlo_name: str | None
    label: str
    stage: Stage = Stage.RESOLVE
    address: str | None = None
    tls: TlsInfo | None = None
    message_id: str | None = None
    replies: list[Reply] = field(default_factory=list)
    accepted: list[str] = field(default_factory=list)
    refused: dict[str, Reply] = field(default_factory=dict)
    offered_starttls: bool = False
    scrubber: Scrubber = field(init=False)
    transcript: Transcript = field(init=False)
    _deadline: float = 0.0

    def __post_init__(self) -> None:
        self.scrubber = Scrubber([(self.settings.username, self.settings.secret)])
        self.transcript = Transcript(scrubber=self.scrubber)

    def _left(self) -> float:
        return max(self._deadline - asyncio.get_running_loop().time(), 0.001)

    async def run(self) -> Failure | None:
        loop = asyncio.get_running_loop()
        self._deadline = loop.time() + self.timeout
        client: aiosmtplib.SMTP | None = None
        timed_out = False
        try:
            async with asyncio.timeout_at(self._deadline):
                failure = await self._resolve()
                if failure is not None:
                    return failure
                sock_or_failure = await self._connect()
                if isinstance(sock_or_failure, Failure):
                    return sock_or_failure
                client = self._client(sock_or_failure)
                return await self._smtp(client)
        except TimeoutError:
            timed_out = True
            kind = (
                FailureKind.CONNECT_TIMEOUT if self.stage is Stage.CONNECT else FailureKind.TIMEOUT
            )
            self.transcript.error(
                f"No answer within {self.timeout:g} s (during {self.stage.value})."
            )
            return Failure(self.stage, kind, detail=f"no answer within {self.timeout:g} s")
        finally:
            if client is not None:
                await self._quit(client, polite=not timed_out)
            # Let the transports' close callbacks run, so a socket is never left for the garbage
            # collector when the caller's loop ends right after (asyncio.run, a worker thread).
            for _ in range(3):
                await asyncio.sleep(0)

    # --- resolve and connect ---------------------------------------------------------------------

    async def _resolve(self) -> Failure | None:
        host = self.settings.host
        self.stage = Stage.RESOLVE
        try:
            ipaddress.ip_address(host)
        except ValueError:
            pass
        else:
            self.address = host
            return None
        if host.lower() == "localhost":  # RFC 6761: never sent to DNS
            self.address = "127.0.0.1"
            return None
        try:
            resolver = get_resolver(self.resolver)
        except ResolverError as exc:
            self.transcript.error(str(exc))
            return Failure(Stage.RESOLVE, FailureKind.DNS, detail=str(exc))
        answer = await resolver.query_async(host, "A")
        if answer.status is Status.NODATA:
            answer = await resolver.query_async(host, "AAAA")
        if answer.status is not Status.OK or not answer.records:
            self.transcript.error(f"{host}: {answer.describe()}")
            return Failure(Stage.RESOLVE, FailureKind.DNS, detail=answer.describe())
        self.address = answer.records[0]
        return None

    async def _connect(self) -> socket.socket | Failure:
        self.stage = Stage.CONNECT
        assert self.address is not None
        address, port = self.address, self.settings.port
        self.transcript.info(f"Trying {self.settings.host} ({address}) port {port}...")
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setblocking(False)
        try:
            await asyncio.get_running_loop().sock_connect(sock, (address, port))
        except ConnectionRefusedError as exc:
            sock.close()
            self.transcript.error(f"Connection refused: {exc.strerror or exc}")
            return Failure(Stage.CONNECT, FailureKind.REFUSED, detail="connection refused")
        except OSError as exc:
            sock.close()
            self.transcript.error(f"Could not connect: {exc.strerror or exc}")
            return Failure(Stage.CONNECT, FailureKind.UNREACHABLE, detail=str(exc.strerror or exc))
        except BaseException:
            sock.close()
            raise
        self.transcript.info(f"Connected to {self.settings.host}.")
        return sock

    def _client(self, sock: socket.socket) -> aiosmtplib.SMTP:
        return aiosmtplib.SMTP(
            hostname=self.settings.host,  # the name TLS is verified against
            sock=sock,
            use_tls=self.settings.security is Security.TLS,
            start_tls=False,
            tls_context=_tls_context(self.tls_verify, self.cafile),
            local_hostname=self.ehlo_name or _ehlo_name(),
            timeout=None,  # one deadline for the whole probe, set by `run`
        )

    # --- the SMTP dialogue -----------------------------------------------------------------------

    async def _smtp(self, client: aiosmtplib.SMTP) -> Failure | None:
        failure = await self._greeting(client)
        if failure is None:
            failure = await self._ehlo(client)
        if failure is None and self.settings.security is Security.STARTTLS:
            failure = await self._starttls(client)
        if failure is None and self.settings.username:
            failure = await self._auth(client)
        if failure is None and self.recipients:
            failure = await self._send(client)
        return failure

    async def _greeting(self, client: aiosmtplib.SMTP) -> Failure | None:
        implicit = self.settings.security is Security.TLS
        self.stage = Stage.TLS if implicit else Stage.BANNER
        reserve = 0.0 if implicit else min(_SNIFF_MAX, self._left() * _SNIFF_SHARE)
        try:
            async with asyncio.timeout(self._left() - reserve):
                response = await client.connect()
        except TimeoutError:
            if implicit:
                raise
            return await self._silent_banner()
        except aiosmtplib.SMTPConnectResponseError as exc:
            self.stage = Stage.BANNER  # a reply means any TLS handshake before it succeeded
            return self._reply_failure("(greeting)", exc.code, exc.message)
        except aiosmtplib.SMTPException as exc:
            error = _ssl_error(exc)
            if error is not None:
                self.transcript.error(f"TLS handshake failed: {error.reason or error}")
                return _tls_failure(self.stage, error)
            if isinstance(exc.__cause__, aiosmtplib.SMTPTimeoutError):
                raise TimeoutError from exc
            self.transcript.error(f"Connection closed: {exc.message}")
            return Failure(self.stage, FailureKind.DISCONNECTED, detail=str(exc.message))
        if implicit:
            self._note_tls(client)
            self.stage = Stage.BANNER
        self._reply("(greeting)", response)
        return None

    async def _silent_banner(self) -> Failure:
        """The server said nothing: is the port waiting for a TLS handshake (port 465 style)?"""
        self.transcript.error("No greeting from the server; checking whether it expects TLS...")
        assert self.address is not None
        context = _tls_context(False, None)
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self._left()):
                transport, _ = await loop.create_connection(
                    asyncio.Protocol,
                    host=self.address,
                    port=self.settings.port,
                    ssl=context,
                    server_hostname=self.settings.host,
                )
        except (TimeoutError, OSError):
            self.transcript.error(f"No greeting within {self.timeout:g} s.")
            return Failure(
                Stage.BANNER, FailureKind.TIMEOUT, detail="the server never sent its greeting"
            )
        transport.abort()  # no TLS goodbye: it would outlive the probe
        self.transcript.info("The port completed a TLS handshake: it expects implicit TLS.")
        return Failure(Stage.BANNER, FailureKind.TLS_ON_CONNECT)

    async def _ehlo(self, client: aiosmtplib.SMTP) -> Failure | None:
        self.stage = Stage.EHLO
        return await self._do_ehlo(client)

    async def _do_ehlo(self, client: aiosmtplib.SMTP) -> Failure | None:
        command = f"EHLO {client.local_hostname}"
        self.transcript.sent(command)
        try:
            response = await client.ehlo()
        except aiosmtplib.SMTPResponseException as exc:
            return self._reply_failure(command, exc.code, exc.message)
        except aiosmtplib.SMTPServerDisconnected as exc:
            return self._disconnected(exc)
        self._reply(command, response)
        if client.supports_extension("starttls"):
            self.offered_starttls = True
        return None

    async def _starttls(self, client: aiosmtplib.SMTP) -> Failure | None:
        self.stage = Stage.STARTTLS
        if not client.supports_extension("starttls"):
            self.transcript.error("The server does not offer STARTTLS.")
            return Failure(Stage.STARTTLS, FailureKind.NO_STARTTLS)
        self.transcript.sent("STARTTLS")
        try:
            response = await client.starttls()
        except aiosmtplib.SMTPResponseException as exc:
            return self._reply_failure("STARTTLS", exc.code, exc.message)
        except aiosmtplib.SMTPServerDisconnected as exc:
            error = _ssl_error(exc)
            if error is None:
                return self._disconnected(exc)
            self.transcript.error(f"TLS handshake failed: {error.reason or error}")
            return _tls_failure(Stage.STARTTLS, error)
        except (ssl.SSLError, aiosmtplib.SMTPException) as exc:
            error = _ssl_error(exc)
            if error is None:
                return self._disconnected(exc)
            self.transcript.error(f"TLS handshake failed: {error.reason or error}")
            return _tls_failure(Stage.STARTTLS, error)
        self._reply("STARTTLS", response)
        self._note_tls(client)
        return await self._do_ehlo(client)

    async def _auth(self, client: aiosmtplib.SMTP) -> Failure | None:
        self.stage = Stage.AUTH
        offered = [m for m in _AUTH_ORDER if m in client.server_auth_methods]
        if not offered:
            listed = ", ".join(client.server_auth_methods).upper() or "none"
            self.transcript.error(f"The server offers no login method this tool speaks ({listed}).")
            return Failure(
                Stage.AUTH,
                FailureKind.NO_AUTH,
                detail=f"AUTH methods offered: {listed}",
                offered_starttls=self.offered_starttls,
            )
        mechanism = offered[0]
        command = f"AUTH {mechanism.upper()}"
        self.transcript.sent(f"{command} {CREDENTIALS_HIDDEN}")
        method = {
            "plain": client.auth_plain,
            "login": client.auth_login,
            "cram-md5": client.auth_crammd5,
        }[mechanism]
        try:
            response = await method(self.settings.username, self.settings.secret.reveal())
        except aiosmtplib.SMTPResponseException as exc:
            return self._reply_failure(command, exc.code, exc.message)
        except aiosmtplib.SMTPServerDisconnected as exc:
            return self._disconnected(exc)
        self._reply(command, response)
        return None

    async def _send(self, client: aiosmtplib.SMTP) -> Failure | None:
        sender = _sender(self.settings)
        self.stage = Stage.MAIL_FROM
        command = f"MAIL FROM:<{sender}>"
        self.transcript.sent(command)
        try:
            self._reply(command, await client.mail(sender))
        except aiosmtplib.SMTPResponseException as exc:
            return self._reply_failure(command, exc.code, exc.message)
        except aiosmtplib.SMTPServerDisconnected as exc:
            return self._disconnected(exc)

        self.stage = Stage.RCPT_TO
        first_refusal: Reply | None = None
        for address in self.recipients:
            command = f"RCPT TO:<{address}>"
            self.transcript.sent(command)
            try:
                self._reply(command, await client.rcpt(address))
            except aiosmtplib.SMTPResponseException as exc:
                reply = self._reply(command, SMTPResponse(exc.code, exc.message), error=True)
                self.refused[address] = reply
                first_refusal = first_refusal or reply
                continue
            except aiosmtplib.SMTPServerDisconnected as exc:
                return self._disconnected(exc)
            self.accepted.append(address)
        if not self.accepted:
            assert first_refusal is not None
            return Failure(Stage.RCPT_TO, FailureKind.REPLY, reply=first_refusal)

        self.stage = Stage.DATA
        message = build_test_message(
            from_address=sender,
            to=self.accepted,
            connection=self.label,
        )
        self.transcript.sent("DATA")
        for line in message.as_string().splitlines():
            self.transcript.sent(line)
        self.transcript.sent(".")
        try:
            response = await client.data(message.as_bytes())
        except aiosmtplib.SMTPResponseException as exc:
            return self._reply_failure("DATA", exc.code, exc.message)
        except aiosmtplib.SMTPServerDisconnected as exc:
            return self._disconnected(exc)
        self._reply("DATA", response)
        self.message_id = str(message["Message-ID"])
        if first_refusal is not None:
            return Failure(
                Stage.DATA,
                FailureKind.REPLY,
                reply=first_refusal,
                accepted_recipients=tuple(self.accepted),
            )
        return None

    # --- bookkeeping -----------------------------------------------------------------------------

    def _reply(self, command: str, response: SMTPResponse, *, error: bool = False) -> Reply:
        # Scrubbed before anything else sees it: the diagnosis quotes this reply.
        reply = Reply(command, response.code, self.scrubber(response.message))
        self.replies.append(reply)
        self.transcript.received(response.code, reply.text, error=error)
        return reply

    def _reply_failure(self, command: str, code: int, text: str) -> Failure:
        reply = self._reply(command, SMTPResponse(code, text), error=True)
        return Failure(
            self.stage, FailureKind.REPLY, reply=reply, offered_starttls=self.offered_starttls
        )

    def _disconnected(self, exc: BaseException) -> Failure:
        self.transcript.error(f"Connection closed by the server during {self.stage.value}.")
        detail = self.scrubber(str(exc)) or "connection closed"
        return Failure(self.stage, FailureKind.DISCONNECTED, detail=detail)

    def _note_tls(self, client: aiosmtplib.SMTP) -> None:
        sslobj = client.get_transport_info("ssl_object")
        self.tls = _tls_info(sslobj, verified=self.tls_verify)
        self.transcript.in_tls = True
        if self.tls is not None:
            self.transcript.info(
                f"TLS started with cipher {self.tls.version}:{self.tls.cipher}; "
                f"certificate {self.tls.subject or '?'} issued by {self.tls.issuer or '?'}"
            )

    async def _quit(self, client: aiosmtplib.SMTP, *, polite: bool) -> None:
        """Say QUIT if there is time left for it; a timed-out probe just hangs up."""
        wait = min(_QUIT_WAIT, self._deadline - asyncio.get_running_loop().time())
        if polite and client.is_connected and wait > 0.01:
            with contextlib.suppress(aiosmtplib.SMTPException, OSError, TimeoutError):
                self.transcript.sent("QUIT")
                response = await client.quit(timeout=wait)
                self.transcript.received(response.code, response.message)
        transport = client.transport
        client.close()
        if isinstance(transport, asyncio.Transport):
            # close() of a TLS transport waits for the peer's goodbye in the background, which
            # can outlive this event loop (a notebook's, a thread's); abort frees the socket now.
            transport.abort()


def _ehlo_name() -> str:
    # socket.getfqdn() may wait on a reverse DNS look-up; the plain host name never does.
    name = socket.gethostname() or "localhost"
    return name if all(c.isalnum() or c in ".-" for c in name) else "localhost"
