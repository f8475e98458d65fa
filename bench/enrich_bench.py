"""IP enrichment: `diagnostics.enrich.enrich` against parsedmarc's `get_ip_address_info(offline=False)`.

    python -m bench.enrich_bench [--ips 2000] [--delay 0.05] [--concurrency 64] [--parsedmarc-seconds 180]

One run, one nameserver: 2,000 distinct addresses (seeded; IPv4 and IPv6; PTR names shaped like the
SMTP providers', like ISPs' from parsedmarc's own service map, and some with no PTR at all) are served
by the loopback nameserver the tests use, answering every query after 50 ms. It runs in a child
process, as a real nameserver is never inside its client: in-process, its own work on 2,000 queries
would compete with the client under test for one interpreter lock. Ours enriches them all at
once (cold: a resolver without cache, an empty MemoryCache); parsedmarc enriches them one by one, as
its report parser does, with a pre-loaded service map (so it never tries to download one). The bench
prints both times, IPs/second and the ratio (target: at least 30x), checks that both name the same
reverse DNS (and the same ASN and country: both read the same IPinfo Lite file) for every address
parsedmarc did, and times a re-run on the warm cache, which must send no DNS.

How parsedmarc is pointed at the loopback nameserver: `get_ip_address_info` takes `nameservers=[...]`
as plain addresses only; it builds a fresh `dns.resolver.Resolver()` per query, so the port is always
53 (a `host:port` string or a dnspython Nameserver object is rejected). Nothing of parsedmarc is
patched: the bench listens on 127.0.0.2:53 (UDP) with a small relay that passes each datagram
unchanged to the loopback nameserver's port and its answer back, and passes
`nameservers=["127.0.0.2"]`. Binding port 53 needs root (or CAP_NET_BIND_SERVICE); without it the
bench says so and exits 1. The relay adds well under a millisecond to parsedmarc's 50 ms per query.
If parsedmarc would take longer than --parsedmarc-seconds for every address, it is timed on the
first ones (as many as fit) and the bench says so.
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
import multiprocessing as mp
import random
import socket
import sys
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import Connection

import pandas as pd

from diagnostics.dns import Resolver
from diagnostics.enrich import MemoryCache, enrich
from diagnostics.enrich import offline as offline_data
from diagnostics.enrich.addresses import reverse_pointer
from tests.support.nameserver import LoopbackNameserver

TARGET_RATIO = 30.0
RELAY_HOST = "127.0.0.2"

# PTR shapes as seen in headers (see PRODUCT.md), filled with numbers from the seed.
PROVIDER_PTRS: list[Callable[[random.Random], str]] = [
    lambda r: f"a{r.randint(8, 48)}-{r.randint(1, 250)}.smtp-out.amazonses.com",
    lambda r: f"o{r.randint(1, 99)}.ptr{r.randint(1000, 9999)}.sendgrid.net",
    lambda r: f"m{r.randint(10, 250)}-{r.randint(1, 9)}.mailgun.net",
    lambda r: f"mta{r.randint(100, 999)}a-ord.mtasv.net",
    lambda r: f"mta-{r.randint(1, 250)}-{r.randint(1, 250)}.sparkpostmail.com",
    lambda r: f"o{r.randint(1, 99)}.p{r.randint(1, 99)}.mailjet.com",
    lambda r: f"mail-ej1-f{r.randint(1, 99)}.google.com",
    lambda r: (
        f"mail-{r.choice(['db8', 'am6', 'he1'])}eur0{r.randint(1, 9)}on2{r.randint(100, 999)}.outbound.protection.outlook.com"
    ),
]


def make_corpus(count: int, rng: random.Random) -> tuple[list[str], dict[str, dict[str, str]]]:
    """`count` distinct addresses and the zone data holding their PTR records."""
    isp_domains = sorted(d for d in offline_data._service_map() if d.count(".") == 1)
    ips: dict[str, None] = {}
    zone: dict[str, dict[str, str]] = {}
    while len(ips) < count:
        if rng.random() < 0.15:
            ip = str(ipaddress.IPv6Address((0x2A << 120) | rng.getrandbits(120)))
        else:
            ip = str(ipaddress.IPv4Address(rng.randint(0x01000000, 0xDFFFFFFF)))
        if ip in ips or ipaddress.ip_address(ip).is_private:
            continue
        ips[ip] = None
        roll = rng.random()
        if roll < 0.45:
            zone[reverse_pointer(ip)] = {"PTR": rng.choice(PROVIDER_PTRS)(rng)}
        elif roll < 0.85:
            host = ip.replace(".", "-").replace(":", "-")
            zone[reverse_pointer(ip)] = {"PTR": f"host-{host}.{rng.choice(isp_domains)}"}
        # else: no PTR record (NXDOMAIN), as for many senders in real reports
    return list(ips), zone


class Port53Relay:
    """UDP on RELAY_HOST:53 -> the loopback nameserver's port, one datagram at a time (parsedmarc
    asks one question at a time), answers passed back unchanged."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((RELAY_HOST, 53))  # PermissionError without root: reported by run()
        self.sock.settimeout(0.2)
        self.relayed = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="port53-relay", daemon=True)

    def __enter__(self) -> Port53Relay:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        self.sock.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                query, client = self.sock.recvfrom(65535)
            except TimeoutError:
                continue
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as upstream:
                upstream.settimeout(5)
                upstream.sendto(query, self.upstream)
                try:
                    answer = upstream.recv(65535)
                except TimeoutError:
                    continue  # the client times out, as it would against the server itself
            self.sock.sendto(answer, client)
            self.relayed += 1


def time_parsedmarc(ips: list[str], budget: float) -> tuple[list[dict[str, object]], float, bool]:
    """parsedmarc's enrichment of each address in turn; stops early when the budget would be blown."""
    from parsedmarc import utils as pm

    logging.getLogger("parsedmarc").setLevel(logging.ERROR)
    service_map: dict[str, object] = {}
    pm.load_reverse_dns_map(service_map, always_use_local_file=True)
    pm.get_ip_address_info("192.0.2.1", offline=True, reverse_dns_map=service_map)  # warm up
    rows: list[dict[str, object]] = []
    started = time.perf_counter()
    for ip in ips:
        info = pm.get_ip_address_info(
            ip,
            offline=False,
            nameservers=[RELAY_HOST],
            timeout=2.0,
            reverse_dns_map=service_map,
            always_use_local_files=True,
        )
        rows.append(dict(info))
        spent = time.perf_counter() - started
        if len(rows) >= 50 and spent / len(rows) * len(ips) > budget:
            return rows, spent, True
    return rows, time.perf_counter() - started, False


def _value(value: object) -> object:
    return None if value is None or pd.isna(value) else value


def _serve(zone: dict[str, dict[str, str]], delay: float, conn: Connection) -> None:
    """The child process: one loopback nameserver until the parent says stop."""
    with LoopbackNameserver(zone, delay=delay) as server:
        conn.send((server.host, server.port))
        conn.recv()
        conn.send(len(server.queries))


def run(count: int, delay: float, concurrency: int, budget: float, seed: int) -> int:
    ips, zone = make_corpus(count, random.Random(seed))
    parent, child = mp.get_context("fork").Pipe()
    # Forked before this process starts any thread; the server answers from its own interpreter.
    server = mp.get_context("fork").Process(target=_serve, args=(zone, delay, child), daemon=True)
    server.start()
    try:
        host, port = parent.recv()
        try:
            relay = Port53Relay((host, port))
        except PermissionError:
            print(
                f"cannot listen on {RELAY_HOST}:53 (needs root): parsedmarc cannot be pointed here"
            )
            return 1
        enrich(["192.0.2.1"], offline=True)  # load our offline data, as parsedmarc's is warmed up
        resolver = Resolver([host], port=port, timeout=2.0, cache=False)
        cache = MemoryCache()
        started = time.perf_counter()
        ours = enrich(ips, resolver=resolver, concurrency=concurrency, cache=cache)
        ours_seconds = time.perf_counter() - started
        ours_queries = resolver.queries_sent

        started = time.perf_counter()
        warm = enrich(ips, resolver=resolver, concurrency=concurrency, cache=cache)
        warm_seconds = time.perf_counter() - started
        warm_queries = resolver.queries_sent - ours_queries

        with relay:
            theirs, theirs_seconds, sampled = time_parsedmarc(ips, budget)
        relayed = relay.relayed
        parent.send("stop")
        served = parent.recv()
    finally:
        server.join(10)
        if server.is_alive():
            server.terminate()

    done = len(theirs)
    ours_rate = len(ips) / ours_seconds
    theirs_rate = done / theirs_seconds
    ratio = ours_rate / theirs_rate
    by_ip = ours.set_index("ip")
    ptr_diff = asn_diff = country_diff = 0
    for info in theirs:
        row = by_ip.loc[str(info["ip_address"])]
        ptr_diff += _value(row["reverse_dns"]) != info["reverse_dns"]
        asn_diff += _value(row["asn"]) != info["asn"]
        country_diff += _value(row["country"]) != info["country"]
    named = int(ours["reverse_dns"].notna().sum())

    print(
        f"corpus: {len(ips)} distinct IPs ({sum(':' in ip for ip in ips)} IPv6), {named} with a PTR "
        f"record; loopback nameserver (own process) answering after {delay * 1e3:.0f} ms, "
        f"{served} queries served"
    )
    print(
        f"ours       enrich(concurrency={concurrency})  {len(ips):>5} IPs  {ours_seconds:>8.2f} s  "
        f"{ours_rate:>9.1f} IPs/s  ({ours_queries} DNS queries)"
    )
    print(
        f"parsedmarc get_ip_address_info     {done:>5} IPs  {theirs_seconds:>8.2f} s  "
        f"{theirs_rate:>9.1f} IPs/s  ({relayed} queries via the {RELAY_HOST}:53 relay)"
    )
    if sampled:
        print(
            f"  parsedmarc timed on the first {done} IPs only: all {len(ips)} would take about "
            f"{len(ips) / theirs_rate:.0f} s, over the {budget:.0f} s budget"
        )
    print(f"ratio ours/parsedmarc (IPs/s)      {ratio:>8.1f}x  (target >= {TARGET_RATIO:.0f}x)")
    print(
        f"warm cache re-run                  {len(ips):>5} IPs  {warm_seconds * 1e3:>8.1f} ms  "
        f"({warm_queries} DNS queries)"
    )
    print(
        f"differences on the {done} IPs both enriched: reverse_dns {ptr_diff}, asn {asn_diff}, "
        f"country {country_diff}"
    )
    agree = ptr_diff == 0 and asn_diff == 0 and country_diff == 0
    same_warm = warm.equals(ours)
    if not same_warm:
        print("warm re-run returned a different table")
    return 0 if agree and same_warm and warm_queries == 0 and ratio >= TARGET_RATIO else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.enrich_bench", description=__doc__)
    parser.add_argument("--ips", type=int, default=2000, help="distinct IPs to enrich")
    parser.add_argument("--delay", type=float, default=0.05, help="nameserver delay, seconds")
    parser.add_argument("--concurrency", type=int, default=64, help="our look-ups in flight")
    parser.add_argument(
        "--parsedmarc-seconds", type=float, default=180.0, help="time budget for parsedmarc"
    )
    parser.add_argument("--seed", type=int, default=20261124)
    args = parser.parse_args(argv)
    return run(args.ips, args.delay, args.concurrency, args.parsedmarc_seconds, args.seed)


if __name__ == "__main__":
    sys.exit(main())
