"""One bounded HTTPS GET, for the files the health check reads (the MTA-STS policy, the BIMI logo).

    await fetch(url, resolver=..., timeout=10.0, max_bytes=65536, cafile=None, port=None) -> Fetched

The host is resolved through `diagnostics.dns.Resolver` (tests use the loopback nameserver) and the
certificate is verified against the host name of the URL, with the system's CAs plus `cafile`.
What RFC 8461 3.3 asks of an MTA-STS policy fetch holds for every fetch here: a redirect is refused,
not followed (it is reported with where it pointed); a body over `max_bytes` is refused as soon as
it is known to be (from Content-Length, or when the bytes read pass the cap), and the whole fetch
sits under one deadline. The request is HTTP/1.0 (no chunked replies, the connection closes after
the body), which every web server answers.

Nothing here raises for what the server or the network did: the outcome is a `Fetched` value with
a `problem` code and a plain `detail`.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urlsplit

from diagnostics.dns import Resolver, Status

__all__ = ["FetchProblem", "Fetched", "fetch"]

# The status line and headers of a reply: more than this is not a reply to a file request.
_MAX_HEAD = 16 * 1024
_USER_AGENT = "deliverability-desk-health/1"


class FetchProblem(StrEnum):
    INVALID_URL = "invalid_url"
    DNS = "dns"
    CONNECT = "connect"
    CERTIFICATE = "certificate"
    TLS = "tls"
    TIMEOUT = "timeout"
    REDIRECT = "redirect"
    HTTP_STATUS = "http_status"
    TOO_LARGE = "too_large"
    MALFORMED = "malformed"


@dataclass(frozen=True, slots=True)
class Fetched:
    """What one GET gave: the body on success (`problem` None), else the problem and its detail.
    `location` is where a refused redirect pointed."""

    url: str
    status: int | None = None
    body: bytes | None = None
    content_type: str | None = None
    problem: FetchProblem | None = None
    detail: str = ""
    location: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None


async def fetch(
    url: str,
    *,
    resolver: Resolver,
    timeout: float,
    max_bytes: int,
    cafile: str | None = None,
    port: int | None = None,
) -> Fetched:
    """GET `url` (https only) under the caps above; `port` overrides the URL's (tests)."""
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        return Fetched(url, problem=FetchProblem.INVALID_URL, detail="not an https:// address")
    host = parts.hostname
    try:
        port = port or parts.port or 443
    except ValueError:
        return Fetched(url, problem=FetchProblem.INVALID_URL, detail="the port is not a number")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        async with asyncio.timeout(timeout):
            return await _get(url, host, port, path, resolver, max_bytes, cafile)
    except TimeoutError:
        return Fetched(url, problem=FetchProblem.TIMEOUT, detail=f"no reply within {timeout:g} s")


async def _get(
    url: str,
    host: str,
    port: int,
    path: str,
    resolver: Resolver,
    max_bytes: int,
    cafile: str | None,
) -> Fetched:
    answer = await resolver.query_async(host, "A")
    if answer.status is Status.NODATA:
        answer = await resolver.query_async(host, "AAAA")
    if answer.status is not Status.OK or not answer.records:
        return Fetched(url, problem=FetchProblem.DNS, detail=f"{host}: {answer.describe()}")
    context = ssl.create_default_context()
    if cafile:
        context.load_verify_locations(cafile=cafile)
    try:
        reader, writer = await asyncio.open_connection(
            answer.records[0], port, ssl=context, server_hostname=host, limit=_MAX_HEAD
        )
    except ssl.SSLCertVerificationError as exc:
        reason = str(exc.verify_message or exc.reason)
        return Fetched(url, problem=FetchProblem.CERTIFICATE, detail=reason)
    except ssl.SSLError as exc:
        return Fetched(url, problem=FetchProblem.TLS, detail=str(exc.reason or exc))
    except OSError as exc:
        return Fetched(url, problem=FetchProblem.CONNECT, detail=str(exc.strerror or exc))
    try:
        request = (
            f"GET {path} HTTP/1.0\r\nHost: {host}\r\nUser-Agent: {_USER_AGENT}\r\n"
            "Accept: */*\r\nAccept-Encoding: identity\r\nConnection: close\r\n\r\n"
        )
        writer.write(request.encode("ascii", errors="replace"))
        await writer.drain()
        return await _reply(url, reader, max_bytes)
    except (OSError, ssl.SSLError, asyncio.IncompleteReadError) as exc:
        return Fetched(url, problem=FetchProblem.MALFORMED, detail=f"the connection broke: {exc}")
    finally:
        # Abort, not close: a TLS goodbye the server never answers must not outlive the check.
        writer.transport.abort()
        with contextlib.suppress(Exception):
            await writer.wait_closed()


async def _reply(url: str, reader: asyncio.StreamReader, max_bytes: int) -> Fetched:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.LimitOverrunError:
        return Fetched(url, problem=FetchProblem.MALFORMED, detail="the reply's headers are huge")
    lines = head.decode("latin-1").split("\r\n")
    version, _, rest = lines[0].partition(" ")
    code_text = rest.partition(" ")[0]
    if not version.startswith("HTTP/") or not code_text.isdigit():
        return Fetched(url, problem=FetchProblem.MALFORMED, detail="not an HTTP reply")
    status = int(code_text)
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if colon:
            headers.setdefault(name.strip().lower(), value.strip())
    content_type = headers.get("content-type")
    if 300 <= status < 400:
        return Fetched(
            url,
            status,
            content_type=content_type,
            problem=FetchProblem.REDIRECT,
            detail=f"HTTP {status}",
            location=headers.get("location"),
        )
    if status != 200:
        return Fetched(url, status, problem=FetchProblem.HTTP_STATUS, detail=f"HTTP {status}")
    length = headers.get("content-length", "")
    if length.isdigit() and int(length) > max_bytes:
        return Fetched(
            url,
            status,
            problem=FetchProblem.TOO_LARGE,
            detail=f"{int(length):,} bytes, over the limit of {max_bytes:,}",
        )
    body = await reader.read(max_bytes + 1)
    while len(body) <= max_bytes:
        more = await reader.read(max_bytes + 1 - len(body))
        if not more:
            break
        body += more
    if len(body) > max_bytes:
        return Fetched(
            url,
            status,
            problem=FetchProblem.TOO_LARGE,
            detail=f"over the limit of {max_bytes:,} bytes",
        )
    return Fetched(url, status, body=body, content_type=content_type)
