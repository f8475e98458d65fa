"""A real authoritative nameserver on loopback (UDP and TCP on one port 0), serving zone data.

Tests point a `diagnostics.dns.Resolver` at it instead of patching anything. Zone data is a dict,
a YAML file or a zone file:

    {
        "example.com": {
            "TXT": ["v=spf1 include:_spf.example.net -all", ["two ", "strings"], b"\\x96raw"],
            "MX": ["10 mx.example.com"],          # or [10, "mx.example.com"]
            "A": ["192.0.2.1"],
        },
        "slow.example.com": {"TIMEOUT": True},   # types without records never answer
        "dead.example.com": {"TXT": "TIMEOUT"},  # this type never answers
        "*.wild.example.com": {"A": ["192.0.2.9"]},
        "signed.example.com": {"A": ["192.0.2.2"], "AD": True},  # answered as validated
    }

A name that appears nowhere is NXDOMAIN; a name that exists (or has names below it) but lacks the type
is NODATA. Records are answered in the order given. CNAMEs are followed within the data, as a
recursive resolver would. Large answers over UDP are truncated, so the client retries over TCP.
`delay` holds every answer back that long (answers are still concurrent), to measure how a client
copes with a slow server.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.TXT
import dns.rrset
import dns.zone
import yaml

from diagnostics.dns import Resolver

TIMEOUT = "TIMEOUT"
_SOA = "ns.test. hostmaster.test. 1 3600 600 86400 60"


def _key(name: str) -> str:
    text = name.strip().rstrip(".")
    # The form a question arrives in: names with spaces or other odd characters (which test
    # data may use, e.g. after SPF macro expansion) are escaped as on the wire.
    with contextlib.suppress(dns.exception.DNSException):
        text = dns.name.from_text(text).to_text(omit_final_dot=True) if text else text
    return text.lower()


class Zone:
    """Zone data normalised to {name: {RDTYPE: [rdata, ...] | TIMEOUT}} plus per-name timeouts."""

    def __init__(self, data: Mapping[str, Any] | None = None) -> None:
        self.records: dict[str, dict[str, list[dns.rdata.Rdata] | str]] = {}
        self.timeout_names: set[str] = set()
        self.authenticated_names: set[str] = set()
        if data:
            self.update(data)

    def update(self, data: Mapping[str, Any]) -> None:
        for name, types in data.items():
            key = _key(name)
            entry = self.records.setdefault(key, {})
            if types == TIMEOUT:
                self.timeout_names.add(key)
                continue
            for rdtype, values in (types or {}).items():
                rdtype = str(rdtype).upper()
                if rdtype == TIMEOUT:
                    if values:
                        self.timeout_names.add(key)
                    continue
                if rdtype == "AD":  # answers for this name carry the AD bit (DNSSEC validated)
                    if values:
                        self.authenticated_names.add(key)
                    continue
                if values == TIMEOUT:
                    entry[rdtype] = TIMEOUT
                    continue
                if not isinstance(values, list):
                    values = [values]
                entry[rdtype] = [_rdata(rdtype, v) for v in values]

    def replace(self, data: Mapping[str, Any]) -> None:
        self.records.clear()
        self.timeout_names.clear()
        self.authenticated_names.clear()
        self.update(data)

    def exists(self, name: str) -> bool:
        if name in self.records:
            return True
        suffix = "." + name
        return any(other.endswith(suffix) for other in self.records)

    def lookup(self, name: str) -> tuple[str, dict[str, list[dns.rdata.Rdata] | str]] | None:
        """The entry for `name`, through a wildcard if no exact name exists."""
        if name in self.records:
            return name, self.records[name]
        if self.exists(name):
            return None
        labels = name.split(".")
        for i in range(1, len(labels)):
            wildcard = "*." + ".".join(labels[i:])
            if wildcard in self.records:
                return wildcard, self.records[wildcard]
        return None


def _rdata(rdtype: str, value: Any) -> dns.rdata.Rdata:
    rdclass = dns.rdataclass.IN
    rdt = dns.rdatatype.from_text(rdtype)
    if rdtype in ("TXT", "SPF"):
        parts = value if isinstance(value, list) else [value]
        strings = [p if isinstance(p, bytes) else str(p).encode("utf-8") for p in parts]
        # Split long strings at 255 bytes, as a zone compiler would.
        chunks: list[bytes] = []
        for s in strings:
            chunks.extend(s[i : i + 255] for i in range(0, max(len(s), 1), 255))
        return dns.rdtypes.ANY.TXT.TXT(rdclass, rdt, chunks)
    if rdtype == "MX" and isinstance(value, list):
        value = f"{value[0]} {value[1]}"
    text = str(value)
    if rdtype in ("MX", "CNAME", "PTR", "NS") and not text.endswith("."):
        text += "."
    return dns.rdata.from_text(rdclass, rdt, text)


def load_zone(source: Mapping[str, Any] | str | Path) -> dict[str, Any]:
    """Zone data from a dict, a YAML file (same shape as the dict) or a master-format zone file."""
    if isinstance(source, Mapping):
        return dict(source)
    path = Path(source)
    text = path.read_text()
    if path.suffix in (".yml", ".yaml"):
        return dict(yaml.safe_load(text) or {})
    zone = dns.zone.from_text(
        text, origin=None if "$ORIGIN" in text else path.stem, check_origin=False
    )
    data: dict[str, Any] = {}
    for name, node in zone.nodes.items():
        fqdn = name.derelativize(zone.origin).to_text(omit_final_dot=True)
        for rdataset in node.rdatasets:
            rdtype = dns.rdatatype.to_text(rdataset.rdtype)
            if rdtype == "SOA":
                continue
            values = data.setdefault(fqdn, {}).setdefault(rdtype, [])
            for rd in rdataset:
                if rdtype in ("TXT", "SPF"):
                    values.append(list(rd.strings))
                else:
                    values.append(rd.to_text())
    return data


class LoopbackNameserver:
    """Serve `zone` on 127.0.0.1 (UDP and TCP, the same free port) from a background thread."""

    def __init__(
        self,
        zone: Mapping[str, Any] | str | Path | None = None,
        *,
        delay: float = 0.0,
        host: str = "127.0.0.1",
        ttl: int = 300,
    ) -> None:
        self.zone = Zone(load_zone(zone) if zone is not None else None)
        self.delay = delay
        self.host = host
        self.ttl = ttl
        self.port = 0
        self.queries: list[tuple[str, str]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._stopping: asyncio.Event | None = None
        self._error: BaseException | None = None

    # -- lifecycle -------------------------------------------------------------------------------

    def __enter__(self) -> LoopbackNameserver:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="loopback-dns", daemon=True)
        self._thread.start()
        self._ready.wait(10)
        if self._error is not None:
            raise RuntimeError(f"loopback nameserver failed to start: {self._error}")

    def stop(self) -> None:
        if self._loop is not None and self._stopping is not None:
            self._loop.call_soon_threadsafe(self._stopping.set)
        if self._thread is not None:
            self._thread.join(10)

    def resolver(self, *, timeout: float = 2.0, cache: bool = True) -> Resolver:
        return Resolver([self.host], port=self.port, timeout=timeout, cache=cache)

    def update(self, data: Mapping[str, Any]) -> None:
        """Change the served data while running (e.g. a record that was fixed)."""
        self.zone.update(data)

    def replace(self, data: Mapping[str, Any]) -> None:
        self.zone.replace(data)

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    # -- serving ---------------------------------------------------------------------------------

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._serve())
        except BaseException as exc:  # reported to start()
            self._error = exc
            self._ready.set()
        finally:
            loop.close()

    async def _serve(self) -> None:
        self._stopping = asyncio.Event()
        udp_sock, tcp_sock = _bind_pair(self.host)
        self.port = udp_sock.getsockname()[1]
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(lambda: _Udp(self), sock=udp_sock)
        server = await asyncio.start_server(self._handle_tcp, sock=tcp_sock)
        self._ready.set()
        await self._stopping.wait()
        transport.close()
        server.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(server.wait_closed(), 1)

    async def _handle_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                header = await reader.readexactly(2)
                (length,) = struct.unpack("!H", header)
                wire = await reader.readexactly(length)
                reply = await self._answer(wire, udp=False)
                if reply is None:
                    # A name that never answers: hold the connection open until the client gives up.
                    await reader.read()
                    return
                writer.write(struct.pack("!H", len(reply)) + reply)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def _answer(self, wire: bytes, *, udp: bool) -> bytes | None:
        try:
            query = dns.message.from_wire(wire)
        except dns.exception.DNSException:
            return None
        if self.delay:
            await asyncio.sleep(self.delay)
        question = query.question[0]
        qname = _key(question.name.to_text())
        qtype = dns.rdatatype.to_text(question.rdtype)
        self.queries.append((qname, qtype))
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA | dns.flags.RA
        if qname in self.zone.authenticated_names:
            response.flags |= dns.flags.AD
        if not self._fill(response, qname, qtype, question.name):
            return None
        limit = max(query.payload if query.edns >= 0 else 512, 512) if udp else 65535
        try:
            # Records in the order the zone lists them (dnspython shuffles by default): the peer
            # suites' cases depend on it (the first 10 of 11 PTR names), as their resolvers do.
            return response.to_wire(max_size=limit, want_shuffle=False)
        except dns.exception.TooBig:
            truncated = dns.message.make_response(query)
            truncated.flags |= dns.flags.TC | dns.flags.AA
            return truncated.to_wire()

    def _fill(
        self, response: dns.message.Message, qname: str, qtype: str, wire_name: dns.name.Name
    ) -> bool:
        """Put the answer into `response`; False when the query must go unanswered."""
        owner = wire_name
        for _ in range(16):  # CNAME chain limit
            found = self.zone.lookup(qname)
            if found is None:
                if self.zone.exists(qname):
                    self._add_soa(response)
                    return True
                if qname in self.zone.timeout_names:
                    return False
                response.set_rcode(dns.rcode.NXDOMAIN)
                self._add_soa(response)
                return True
            _, entry = found
            values = entry.get(qtype)
            if values == TIMEOUT:
                return False
            if values:
                response.answer.append(_rrset(owner, qtype, values, self.ttl))
                return True
            cname = entry.get("CNAME")
            if isinstance(cname, list) and cname and qtype != "CNAME":
                response.answer.append(_rrset(owner, "CNAME", cname, self.ttl))
                target = cname[0].target  # type: ignore[attr-defined]
                owner = target
                qname = _key(target.to_text())
                continue
            if qname in self.zone.timeout_names:
                return False
            self._add_soa(response)
            return True
        response.set_rcode(dns.rcode.SERVFAIL)
        return True

    def _add_soa(self, response: dns.message.Message) -> None:
        soa = dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.SOA, _SOA)
        response.authority.append(_rrset(dns.name.from_text("test."), "SOA", [soa], 60))


def _rrset(
    owner: dns.name.Name, rdtype: str, values: Iterable[dns.rdata.Rdata], ttl: int
) -> dns.rrset.RRset:
    rrset = dns.rrset.RRset(owner, dns.rdataclass.IN, dns.rdatatype.from_text(rdtype))
    for value in values:
        rrset.add(value, ttl)
    return rrset


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, server: LoopbackNameserver) -> None:
        self.server = server
        self.transport: asyncio.DatagramTransport | None = None
        self.tasks: set[asyncio.Task[None]] = set()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        task = asyncio.ensure_future(self._reply(data, addr))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _reply(self, data: bytes, addr: tuple[str, int]) -> None:
        reply = await self.server._answer(data, udp=True)
        if reply is not None and self.transport is not None and not self.transport.is_closing():
            self.transport.sendto(reply, addr)


def _bind_pair(host: str) -> tuple[socket.socket, socket.socket]:
    """A UDP and a TCP socket on the same free port (clients fall back to TCP on that port)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    last_error: OSError | None = None
    for _ in range(50):
        udp = socket.socket(family, socket.SOCK_DGRAM)
        udp.bind((host, 0))
        port = udp.getsockname()[1]
        tcp = socket.socket(family, socket.SOCK_STREAM)
        tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            tcp.bind((host, port))
            tcp.listen(64)
        except OSError as exc:
            last_error = exc
            udp.close()
            tcp.close()
            continue
        udp.setblocking(False)
        tcp.setblocking(False)
        return udp, tcp
    raise OSError(f"no free port for UDP and TCP together: {last_error}")


def _wire(text: str) -> bytes:
    # The suite writes raw bytes as "\xEF..." escapes, which YAML reads as code points below 256.
    if all(ord(ch) < 256 for ch in text):
        return text.encode("latin-1")
    return text.encode("utf-8")


def _txt(value: Any) -> list[bytes]:
    parts = value if isinstance(value, list) else [value]
    return [_wire(str(part)) for part in parts]


def zone_from_entries(zonedata: dict[str, list[Any]]) -> dict[str, dict[str, Any]]:
    """Zone data written as the OpenSPF suite writes it (name -> list of {TYPE: value}, in the
    order they are answered), in the dict form above. The peer suites (tests/data/peer-suites/)
    use the same form.

    tests/data/spf/SOURCE.md: `NONE` means no record of that type (the name exists: NODATA); a
    bare `TIMEOUT` makes every type without records time out; an SPF entry is also served as TXT
    when the name has no TXT entry (not even NONE) and no TIMEOUT."""
    zone: dict[str, dict[str, Any]] = {}
    for name, entries in zonedata.items():
        types: dict[str, list[Any]] = {}
        timeout = False
        for entry in entries or []:
            if entry == "TIMEOUT":
                timeout = True
                continue
            for rdtype, value in entry.items():
                values = types.setdefault(rdtype.upper(), [])
                if value == "NONE":
                    continue
                if rdtype.upper() in ("TXT", "SPF"):
                    if value == []:
                        continue  # "null text": a TXT record with no strings cannot be sent
                    values.append(_txt(value))
                else:
                    values.append(value)
        if "SPF" in types and "TXT" not in types and not timeout:
            types["TXT"] = list(types["SPF"])
        served: dict[str, Any] = {rdtype: v for rdtype, v in types.items() if v}
        if timeout:
            served["TIMEOUT"] = True
        zone[name] = served
    return zone
