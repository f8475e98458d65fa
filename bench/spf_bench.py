"""Bulk SPF authorization against pyspf, in one run against one loopback nameserver.

    python -m bench.spf_bench [--ips 100000] [--sample 300]

A realistic tree (the platform's include plus Google Workspace, SendGrid, Amazon SES and Mailgun, an
`mx`, IPv4 and IPv6: exactly 10 DNS look-ups) is served by the loopback nameserver the tests use. The
bench times pyspf `spf.check2` per IP on a sample, `diagnostics.spf.compile(...).check_many` over
every IP, and our own `check_host` per IP on the same sample; it prints per-IP times, the ratio
(target: at least 100x faster than pyspf) and how many verdicts differ on the sample (must be 0).
Exit status 1 when the target is missed or any verdict differs.

pyspf asks DNS through dnspython's module-level default resolver, so the bench points that resolver at
the loopback nameserver; nothing of ours is patched.
"""

from __future__ import annotations

import argparse
import ipaddress
import random
import sys
import time
import warnings
from collections import Counter

import dns.resolver
import spf

from diagnostics.spf.compile import compile as compile_spf
from diagnostics.spf.evaluate import check_host
from tests.support.nameserver import LoopbackNameserver

DOMAIN = "bench.example"
SENDER = f"postmaster@{DOMAIN}"
TARGET_RATIO = 100.0

# Provider records as published (ranges abridged to what they looked like in 2025-2026).
ZONE: dict[str, dict[str, list[str]]] = {
    DOMAIN: {
        "TXT": [
            "v=spf1 mx include:spf.trekmail.net include:_spf.google.com include:sendgrid.net "
            "include:amazonses.com include:mailgun.org ~all"
        ],
        "MX": ["10 mx1.bench.example", "20 mx2.bench.example"],
    },
    "mx1.bench.example": {"A": ["198.51.100.10"], "AAAA": ["2001:db8:10::25"]},
    "mx2.bench.example": {"A": ["198.51.100.11"]},
    "spf.trekmail.net": {"TXT": ["v=spf1 ip4:203.0.113.0/24 ip6:2001:db8:7e0::/48 -all"]},
    "_spf.google.com": {
        "TXT": [
            "v=spf1 include:_netblocks.google.com include:_netblocks2.google.com "
            "include:_netblocks3.google.com ~all"
        ]
    },
    "_netblocks.google.com": {
        "TXT": [
            "v=spf1 ip4:35.190.247.0/24 ip4:64.233.160.0/19 ip4:66.102.0.0/20 ip4:66.249.80.0/20 "
            "ip4:72.14.192.0/18 ip4:74.125.0.0/16 ip4:108.177.8.0/21 ip4:173.194.0.0/16 "
            "ip4:209.85.128.0/17 ip4:216.58.192.0/19 ip4:216.239.32.0/19 ~all"
        ]
    },
    "_netblocks2.google.com": {
        "TXT": [
            "v=spf1 ip6:2001:4860:4000::/36 ip6:2404:6800:4000::/36 ip6:2607:f8b0:4000::/36 "
            "ip6:2800:3f0:4000::/36 ip6:2a00:1450:4000::/36 ip6:2c0f:fb50:4000::/36 ~all"
        ]
    },
    "_netblocks3.google.com": {
        "TXT": [
            "v=spf1 ip4:172.217.0.0/19 ip4:172.217.32.0/20 ip4:172.217.128.0/19 "
            "ip4:172.217.160.0/20 ip4:172.217.192.0/19 ip4:172.253.56.0/21 ip4:172.253.112.0/20 "
            "ip4:108.177.96.0/19 ip4:35.191.0.0/16 ip4:130.211.0.0/22 ~all"
        ]
    },
    "sendgrid.net": {
        "TXT": [
            "v=spf1 ip4:167.89.0.0/17 ip4:208.117.48.0/20 ip4:50.31.32.0/19 ip4:198.37.144.0/20 "
            "ip4:198.21.0.0/21 ip4:192.254.112.0/20 ip4:168.245.0.0/17 ip4:149.72.0.0/16 "
            "ip4:159.183.0.0/16 ~all"
        ]
    },
    "amazonses.com": {
        "TXT": [
            "v=spf1 ip4:199.255.192.0/22 ip4:199.127.232.0/22 ip4:54.240.0.0/18 "
            "ip4:69.169.224.0/20 ip4:23.249.208.0/20 ip4:23.251.224.0/19 ip4:76.223.176.0/20 "
            "ip4:54.240.64.0/19 ip4:54.240.96.0/19 ip4:76.223.128.0/19 ip4:216.221.160.0/19 "
            "ip4:206.55.144.0/20 -all"
        ]
    },
    "mailgun.org": {"TXT": ["v=spf1 include:_spf.mailgun.org ~all"]},
    "_spf.mailgun.org": {
        "TXT": [
            "v=spf1 ip4:209.61.151.0/24 ip4:166.78.68.0/22 ip4:198.61.254.0/23 "
            "ip4:192.237.158.0/23 ip4:23.253.182.0/23 ip4:104.130.96.0/28 ip4:146.20.113.0/24 "
            "ip4:146.20.191.0/24 ip4:159.135.224.0/20 ip4:69.72.32.0/20 ip4:161.38.192.0/20 "
            "ip4:143.55.224.0/21 ip4:166.78.71.0/24 ~all"
        ]
    },
}


def zone_networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """Every network the zone names (ip4/ip6 terms and the mx hosts' addresses)."""
    networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
    for types in ZONE.values():
        for text in types.get("TXT", []):
            for term in text.split():
                if term.startswith(("ip4:", "ip6:")):
                    networks.append(ipaddress.ip_network(term[4:]))
        for address in types.get("A", []) + types.get("AAAA", []):
            networks.append(ipaddress.ip_network(address))
    return networks


def sample_ips(count: int, rng: random.Random) -> list[str]:
    """Addresses a DMARC report might hold: many inside or next to a provider's ranges (edges
    included), many anywhere, some IPv6 and a few IPv4-mapped IPv6."""
    networks = zone_networks()
    ips: list[str] = []
    for _ in range(count):
        roll = rng.random()
        if roll < 0.5:
            net = rng.choice(networks)
            first, last = int(net.network_address), int(net.broadcast_address)
            top = (1 << net.max_prefixlen) - 1
            pick = rng.choice((first, last, first - 1, last + 1, rng.randint(first, last)))
            pick = min(max(pick, 0), top)
            kind = ipaddress.IPv4Address if net.version == 4 else ipaddress.IPv6Address
            ips.append(str(kind(pick)))
        elif roll < 0.85:
            ips.append(str(ipaddress.IPv4Address(rng.getrandbits(32))))
        elif roll < 0.98:
            ips.append(str(ipaddress.IPv6Address((0x2 << 124) | rng.getrandbits(125))))
        else:
            ips.append(f"::ffff:{ipaddress.IPv4Address(rng.getrandbits(32))}")
    return ips


def point_pyspf_at(server: LoopbackNameserver) -> None:
    """pyspf resolves through dnspython's default resolver: aim that one at the loopback server."""
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers = [server.host]
    resolver.port = server.port
    resolver.timeout = resolver.lifetime = 5.0
    dns.resolver.default_resolver = resolver


def run(ip_count: int, sample_size: int) -> int:
    rng = random.Random(20261124)
    ips = sample_ips(ip_count, rng)
    sample = rng.sample(ips, min(sample_size, len(ips)))

    with LoopbackNameserver(ZONE) as server:
        point_pyspf_at(server)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # pyspf calls dns.resolver.query
            started = time.perf_counter()
            theirs = [spf.check2(i=ip, s=SENDER, h=DOMAIN)[0] for ip in sample]
            pyspf_seconds = time.perf_counter() - started

        resolver = server.resolver()
        started = time.perf_counter()
        ours_one = [str(check_host(ip, SENDER, resolver=resolver).result) for ip in sample]
        check_host_seconds = time.perf_counter() - started

        queries_before = len(server.queries)
        started = time.perf_counter()
        authorizer = compile_spf(DOMAIN, resolver=server.resolver())
        compile_seconds = time.perf_counter() - started
        compile_queries = len(server.queries) - queries_before

        best = float("inf")
        verdicts: list[str] = []
        for _ in range(3):
            started = time.perf_counter()
            verdicts = authorizer.check_many(ips)
            best = min(best, time.perf_counter() - started)
        sampled = authorizer.check_many(sample)
        queries_after = len(server.queries) - queries_before - compile_queries

    pyspf_per_ip = pyspf_seconds / len(sample)
    ours_per_ip = best / len(ips)
    ratio = pyspf_per_ip / ours_per_ip
    amortised = (compile_seconds + best) / len(ips)
    vs_pyspf = sum(a != b for a, b in zip(sampled, theirs, strict=True))
    vs_check_host = sum(a != b for a, b in zip(sampled, ours_one, strict=True))
    stats = authorizer.stats

    print(f"tree: {DOMAIN}, {stats.domains} SPF records, 10 DNS look-ups per evaluation")
    print(f"pyspf check2          {len(sample):>7} IPs  {pyspf_per_ip * 1e6:>10.1f} µs/IP")
    print(
        f"check_host            {len(sample):>7} IPs  {check_host_seconds / len(sample) * 1e6:>10.1f} µs/IP"
    )
    print(
        f"compile               {compile_seconds * 1e3:>10.1f} ms  ({compile_queries} DNS queries, "
        f"{stats.evaluations} evaluations, {stats.segments} segments, {stats.undecided} undecided)"
    )
    print(f"check_many            {len(ips):>7} IPs  {ours_per_ip * 1e6:>10.3f} µs/IP (best of 3)")
    print(f"ratio pyspf/check_many          {ratio:>10.0f}x  (target >= {TARGET_RATIO:.0f}x)")
    print(f"ratio incl. compile             {pyspf_per_ip / amortised:>10.0f}x")
    print(f"verdicts over all IPs: {dict(Counter(verdicts).most_common())}")
    print(
        f"mismatches on the {len(sample)} compared IPs: vs pyspf {vs_pyspf}, vs check_host {vs_check_host}"
    )
    print(f"DNS queries sent by check_many: {queries_after}")
    return 0 if vs_pyspf == 0 and vs_check_host == 0 and ratio >= TARGET_RATIO else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.spf_bench", description=__doc__)
    parser.add_argument("--ips", type=int, default=100_000, help="IPs for check_many")
    parser.add_argument("--sample", type=int, default=300, help="IPs for pyspf and check_host")
    args = parser.parse_args(argv)
    return run(args.ips, args.sample)


if __name__ == "__main__":
    sys.exit(main())
