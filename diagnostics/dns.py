"""DNS look-ups for every check in the package, through one small resolver.

A `Resolver` answers `query(name, rdtype)` (and `await query_async(name, rdtype)` for asyncio) with
an `Answer` value whatever happens: records, NXDOMAIN, no data, a timeout or a server failure.
Callers such as the SPF evaluator need those cases apart (a void look-up is not a temporary error),
so nothing here raises for them.

Each resolver has its own cache and counts the queries it actually sent. Functions in the package take
`resolver=`; `None` means a fresh system resolver for that call, so no cache is ever shared between
unrelated callers (a page's users, say) by accident.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TypeVar

import dns.asyncresolver
import dns.exception
import dns.flags
import dns.name
import dns.rdatatype
import dns.resolver

from diagnostics.errors import InvalidInput, ResolverError
from diagnostics.wording import plural

__all__ = [
    "Answer",
    "Resolver",
    "Status",
    "get_resolver",
    "normalize_name",
    "parse_nameserver",
    "split_nameserver",
]

_R = TypeVar("_R", bound=dns.resolver.BaseResolver)

# Temporary failures are cached only briefly: long enough that one evaluation does not wait on the
# same dead name twice, short enough that "try again" after a fix really asks again.
_TEMPFAIL_CACHE_SECONDS = 5.0
_NEGATIVE_CACHE_SECONDS = 60.0


class Status(StrEnum):
    OK = "ok"
    NODATA = "nodata"
    NXDOMAIN = "nxdomain"
    TIMEOUT = "timeout"
    SERVFAIL = "servfail"
    INVALID_NAME = "invalid_name"

    @property
    def is_void(self) -> bool:
        """RFC 7208 4.6.4: an answer with no records (no data or no such name)."""
        return self in (Status.NODATA, Status.NXDOMAIN)

    @property
    def is_temporary(self) -> bool:
        return self in (Status.TIMEOUT, Status.SERVFAIL)


@dataclass(frozen=True, slots=True)
class Answer:
    """The outcome of one question. `records` holds each record in text form: an address for A and
    AAAA, `"PREF HOST"` for MX, the joined text for TXT and SPF, a host name (lower case, no final dot)
    for PTR, CNAME and NS. `strings` keeps TXT/SPF character-strings as sent, for checks that care how a
    record was split."""

    name: str
    rdtype: str
    status: Status
    records: tuple[str, ...] = ()
    strings: tuple[tuple[bytes, ...], ...] = ()
    ttl: int = 0
    error: str | None = None
    # The resolver set the AD bit: it validated the answer with DNSSEC (only a validating
    # resolver does; the queries ask for it, as RFC 6840 5.7 allows).
    authenticated: bool = False

    @property
    def mx(self) -> list[tuple[int, str]]:
        """MX records as (preference, exchange), most preferred first."""
        pairs = []
        for record in self.records:
            pref, _, host = record.partition(" ")
            pairs.append((int(pref), host))
        return sorted(pairs)

    def describe(self) -> str:
        """The outcome in a few plain words, for traces and messages."""
        if self.status is Status.OK:
            return plural(len(self.records), f"{self.rdtype} record")
        return {
            Status.NODATA: f"no {self.rdtype} record",
            Status.NXDOMAIN: "the name does not exist",
            Status.TIMEOUT: "no answer in time",
            Status.SERVFAIL: "the DNS server failed to answer",
            Status.INVALID_NAME: self.error or "not a valid DNS name",
        }[self.status]


def normalize_name(name: str) -> str:
    """Lower-case ASCII form of a domain name without the final dot; IDNs become punycode.

    Raises InvalidInput with a plain reason when the name cannot exist in DNS.
    """
    text = name.strip().rstrip(".")
    if not text:
        raise InvalidInput("The domain name is empty.")
    try:
        parsed = dns.name.from_unicode(text) if not text.isascii() else dns.name.from_text(text)
    except dns.name.LabelTooLong:
        raise InvalidInput(
            f"{text!r}: a label (the part between dots) is over 63 characters."
        ) from None
    except dns.name.NameTooLong:
        raise InvalidInput(f"{text!r}: the name is over 253 characters.") from None
    except dns.name.EmptyLabel:
        raise InvalidInput(f"{text!r}: the name has an empty label (two dots in a row).") from None
    except (dns.exception.DNSException, UnicodeError) as exc:
        raise InvalidInput(f"{text!r} is not a valid domain name ({exc}).") from None
    return parsed.to_text(omit_final_dot=True).lower()


def split_nameserver(spec: str) -> tuple[str, int]:
    """`HOST`, `HOST:PORT`, `[V6]:PORT` or a bare IPv6 address -> (host, port), as written: no
    look-up (a configuration checks its form at start-up; `parse_nameserver` resolves the host)."""
    spec = spec.strip()
    port = 53
    host = spec
    if spec.startswith("["):
        host, _, rest = spec[1:].partition("]")
        if rest.startswith(":"):
            port = _port(rest[1:], spec)
    elif spec.count(":") == 1:
        host, _, port_text = spec.partition(":")
        port = _port(port_text, spec)
    if not host:
        raise InvalidInput(f"Nameserver {spec!r}: no host is given.")
    return host, port


def parse_nameserver(spec: str) -> tuple[str, int]:
    """`HOST`, `HOST:PORT`, `[V6]:PORT` or a bare IPv6 address -> (address, port)."""
    host, port = split_nameserver(spec)
    try:
        ipaddress.ip_address(host)
    except ValueError:
        try:
            host = str(socket.getaddrinfo(host, None)[0][4][0])
        except (OSError, UnicodeError):
            raise InvalidInput(
                f"Nameserver {spec.strip()!r}: {host!r} is not an address I can reach."
            ) from None
    return host, port


def _port(text: str, spec: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise InvalidInput(f"Nameserver {spec!r}: the port must be a number from 1 to 65535.")
    return int(text)


@dataclass
class _Stats:
    sent: int = 0
    cache_hits: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


class Resolver:
    """A caching stub resolver. `nameservers=None` uses the system's configuration."""

    def __init__(
        self,
        nameservers: list[str] | None = None,
        *,
        port: int = 53,
        timeout: float = 2.0,
        cache: bool = True,
        max_cache_ttl: float = 300.0,
    ) -> None:
        if timeout <= 0:
            raise InvalidInput("The DNS timeout must be a positive number of seconds.")
        self.timeout = timeout
        self.port = port
        self._use_cache = cache
        self._max_ttl = max_cache_ttl
        self._cache: dict[tuple[str, str], tuple[float, Answer]] = {}
        self._stats = _Stats()
        self._sync = self._configure(dns.resolver.Resolver, nameservers)
        self._async = self._configure(dns.asyncresolver.Resolver, nameservers)
        self.nameservers: list[str] = [str(ns) for ns in self._sync.nameservers]

    def _configure(self, cls: type[_R], nameservers: list[str] | None) -> _R:
        try:
            resolver = cls(configure=nameservers is None)
        except (dns.resolver.NoResolverConfiguration, OSError) as exc:
            raise ResolverError(f"No usable system DNS configuration: {exc}") from None
        if nameservers is not None:
            if not nameservers:
                raise ResolverError("No nameserver given.")
            resolver.nameservers = list(nameservers)
            resolver.port = self.port
        resolver.timeout = self.timeout
        resolver.lifetime = self.timeout
        resolver.cache = None  # our own cache keeps negative and failed answers too
        resolver.flags = dns.flags.RD | dns.flags.AD  # AD: say whether the answer validated
        return resolver

    def __repr__(self) -> str:
        return (
            f"Resolver(nameservers={self.nameservers!r}, port={self.port}, "
            f"timeout={self.timeout}, queries_sent={self.queries_sent})"
        )

    @property
    def queries_sent(self) -> int:
        """Queries that went to a nameserver (cache hits not counted)."""
        return self._stats.sent

    @property
    def cache_hits(self) -> int:
        return self._stats.cache_hits

    def clear_cache(self) -> None:
        with self._stats.lock:
            self._cache.clear()

    def query(self, name: str, rdtype: str) -> Answer:
        key, early = self._prepare(name, rdtype)
        if early is not None:
            return early
        started = time.monotonic()
        try:
            result = self._sync.resolve(
                key[0], key[1], raise_on_no_answer=False, search=False, lifetime=self.timeout
            )
            answer = _from_result(key, result)
        except dns.exception.DNSException as exc:
            answer = _from_exception(key, exc, time.monotonic() - started)
        self._store(key, answer)
        return answer

    async def query_async(self, name: str, rdtype: str) -> Answer:
        key, early = self._prepare(name, rdtype)
        if early is not None:
            return early
        started = time.monotonic()
        try:
            result = await self._async.resolve(
                key[0], key[1], raise_on_no_answer=False, search=False, lifetime=self.timeout
            )
            answer = _from_result(key, result)
        except dns.exception.DNSException as exc:
            answer = _from_exception(key, exc, time.monotonic() - started)
        self._store(key, answer)
        return answer

    def _prepare(self, name: str, rdtype: str) -> tuple[tuple[str, str], Answer | None]:
        rdtype = rdtype.upper()
        try:
            dns.rdatatype.from_text(rdtype)
        except dns.exception.DNSException:
            raise InvalidInput(f"{rdtype!r} is not a DNS record type.") from None
        try:
            qname = normalize_name(name)
        except InvalidInput as exc:
            return (name, rdtype), Answer(name, rdtype, Status.INVALID_NAME, error=str(exc))
        key = (qname, rdtype)
        if self._use_cache:
            with self._stats.lock:
                hit = self._cache.get(key)
                if hit is not None and hit[0] > time.monotonic():
                    self._stats.cache_hits += 1
                    return key, hit[1]
        with self._stats.lock:
            self._stats.sent += 1
        return key, None

    def _store(self, key: tuple[str, str], answer: Answer) -> None:
        if not self._use_cache:
            return
        if answer.status is Status.OK:
            seconds = min(float(answer.ttl), self._max_ttl)
        elif answer.status.is_void:
            seconds = min(_NEGATIVE_CACHE_SECONDS, self._max_ttl)
        else:
            seconds = _TEMPFAIL_CACHE_SECONDS
        with self._stats.lock:
            self._cache[key] = (time.monotonic() + seconds, answer)


def get_resolver(resolver: Resolver | None) -> Resolver:
    """The resolver to use for one call: the caller's, or a fresh system resolver."""
    return resolver if resolver is not None else Resolver()


def _from_result(key: tuple[str, str], result: dns.resolver.Answer) -> Answer:
    name, rdtype = key
    rrset = result.rrset
    if rrset is None or len(rrset) == 0:
        return Answer(name, rdtype, Status.NODATA)
    records: list[str] = []
    strings: list[tuple[bytes, ...]] = []
    for rdata in rrset:
        if rdtype in ("TXT", "SPF"):
            parts = tuple(rdata.strings)
            strings.append(parts)
            records.append(b"".join(parts).decode("utf-8", errors="replace"))
        elif rdtype in ("A", "AAAA"):
            records.append(str(ipaddress.ip_address(rdata.address)))
        elif rdtype == "MX":
            host = rdata.exchange.to_text(omit_final_dot=True).lower()
            records.append(f"{rdata.preference} {host}")
        elif rdtype in ("PTR", "CNAME", "NS"):
            records.append(rdata.target.to_text(omit_final_dot=True).lower())
        else:
            records.append(rdata.to_text())
    return Answer(
        name,
        rdtype,
        Status.OK,
        tuple(records),
        tuple(strings),
        ttl=int(rrset.ttl),
        authenticated=bool(result.response.flags & dns.flags.AD),
    )


def _from_exception(key: tuple[str, str], exc: dns.exception.DNSException, spent: float) -> Answer:
    name, rdtype = key
    if isinstance(exc, dns.resolver.NXDOMAIN):
        return Answer(name, rdtype, Status.NXDOMAIN)
    if isinstance(exc, dns.resolver.NoAnswer):
        return Answer(name, rdtype, Status.NODATA)
    if isinstance(exc, dns.exception.Timeout):
        return Answer(name, rdtype, Status.TIMEOUT, error=f"no answer within {spent:.1f} s")
    if isinstance(exc, dns.resolver.NoNameservers):
        return Answer(name, rdtype, Status.SERVFAIL, error="every nameserver failed to answer")
    return Answer(name, rdtype, Status.SERVFAIL, error=f"DNS error: {exc}")
