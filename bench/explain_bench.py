"""How long `diagnostics.dmarc.explain` takes on a large domain, after enrichment.

    python -m bench.explain_bench [--records 1000000] [--sources 5000] [--seed 7]

Builds a records table with pandas directly (the columns `load_reports` gives, categorical where
the parser makes them categorical): one domain, `--sources` sending IPs (TrekMail, SendGrid with
its include missing, SES on its own MAIL FROM, Google Workspace, mailbox forwarders, spoofers),
each with its own mix of verdicts, `--records` rows in all. The enrichment table is given, as a
page would pass the stored one. The providers' SPF records are served by the loopback nameserver
the tests use. Prints the time and the diagnoses; exit status 1 when over the target (10 s).
"""

from __future__ import annotations

import argparse
import ipaddress
import sys
import time

import numpy as np
import pandas as pd

from diagnostics.dmarc import explain
from tests.support.nameserver import LoopbackNameserver

DOMAIN = "bench.example"
TARGET_SECONDS = 10.0

ZONE = {
    DOMAIN: {"TXT": ["v=spf1 include:spf.trekmail.net include:_spf.google.com -all"]},
    f"_dmarc.{DOMAIN}": {"TXT": [f"v=DMARC1; p=none; rua=mailto:dmarc@{DOMAIN}"]},
    "spf.trekmail.net": {"TXT": ["v=spf1 ip4:203.0.113.0/24 ip4:198.19.0.0/16 -all"]},
    "sendgrid.net": {"TXT": ["v=spf1 ip4:167.89.0.0/17 ip4:208.117.48.0/20 ~all"]},
    "amazonses.com": {"TXT": ["v=spf1 ip4:54.240.0.0/18 ip4:23.249.208.0/20 ~all"]},
    "_spf.google.com": {"TXT": ["v=spf1 ip4:209.85.128.0/17 ~all"]},
}

# Per kind of source: share of the sources, base network, and the verdict columns of its rows.
KINDS: list[tuple[str, float, str, dict[str, str]]] = [
    (
        "trekmail",
        0.30,
        "198.19.0.0",
        dict(envelope_from=DOMAIN, spf_result="pass", spf_aligned="pass", dkim_aligned="pass",
             dkim_domains=DOMAIN, dkim_results="pass"),
    ),
    (
        "sendgrid",
        0.20,
        "167.89.0.0",
        dict(envelope_from=DOMAIN, spf_result="fail", spf_aligned="fail", dkim_aligned="pass",
             dkim_domains=DOMAIN, dkim_results="pass"),
    ),
    (
        "ses",
        0.15,
        "54.240.0.0",
        dict(envelope_from="us-east-1.amazonses.com", spf_result="pass", spf_aligned="fail",
             dkim_aligned="pass", dkim_domains=f"{DOMAIN},amazonses.com", dkim_results="pass,pass"),
    ),
    (
        "google",
        0.10,
        "209.85.128.0",
        dict(envelope_from=DOMAIN, spf_result="pass", spf_aligned="pass", dkim_aligned="pass",
             dkim_domains=DOMAIN, dkim_results="pass"),
    ),
    (
        "forwarder",
        0.10,
        "192.0.2.0",
        dict(envelope_from=DOMAIN, spf_result="fail", spf_aligned="fail", dkim_aligned="pass",
             dkim_domains=DOMAIN, dkim_results="pass"),
    ),
    (
        "spoofer",
        0.15,
        "100.64.0.0",
        dict(envelope_from=DOMAIN, spf_result="fail", spf_aligned="fail", dkim_aligned="fail",
             dkim_domains="", dkim_results=""),
    ),
]  # fmt: skip

ORGS = ["google.com", "Outlook.com", "Yahoo", "Mail.Ru", "comcast.net", "GMX"]


def build(records: int, sources: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The records table and the enrichment table for `sources` IPs."""
    rng = np.random.default_rng(seed)
    ips: list[str] = []
    kinds: list[int] = []
    for k, (_, share, base, _) in enumerate(KINDS):
        start = int(ipaddress.IPv4Address(base))
        n = round(share * sources) if k < len(KINDS) - 1 else sources - len(ips)
        ips.extend(str(ipaddress.IPv4Address(start + 1 + i * 3)) for i in range(n))
        kinds.extend([k] * n)
    kind_of = np.asarray(kinds)
    # Zipf-like volume per source: a few big senders, a long tail, every source present.
    weights = 1.0 / np.arange(1, sources + 1) ** 0.8
    rng.shuffle(weights)
    picks = np.concatenate(
        [np.arange(sources), rng.choice(sources, records - sources, p=weights / weights.sum())]
    )
    row_kind = kind_of[picks]
    columns: dict[str, object] = {
        "org_name": pd.Categorical.from_codes(rng.integers(0, len(ORGS), records), ORGS),
        "report_id": pd.Categorical.from_codes(
            rng.integers(0, 5000, records), [f"r{i}" for i in range(5000)]
        ),
        "begin": pd.Timestamp("2026-11-01", tz="UTC")
        + pd.to_timedelta(rng.integers(0, 20, records), unit="D"),
        "policy_domain": pd.Categorical.from_codes(np.zeros(records, dtype=np.int8), [DOMAIN]),
        "policy_p": pd.Categorical.from_codes(np.zeros(records, dtype=np.int8), ["none"]),
        "source_ip": pd.Categorical.from_codes(picks, ips),
        "count": rng.integers(1, 50, records),
        "disposition": pd.Categorical.from_codes(np.zeros(records, dtype=np.int8), ["none"]),
        "header_from": pd.Categorical.from_codes(np.zeros(records, dtype=np.int8), [DOMAIN]),
        "override_reasons": pd.Categorical.from_codes(np.zeros(records, dtype=np.int8), [""]),
    }
    columns["end"] = columns["begin"] + pd.Timedelta(days=1)  # type: ignore[operator]
    for name in ("envelope_from", "spf_result", "spf_aligned", "dkim_aligned", "dkim_domains",
                 "dkim_results"):  # fmt: skip
        values = [kind[3][name] for kind in KINDS]
        categories = list(dict.fromkeys(values))
        codes = np.asarray([categories.index(v) for v in values])[row_kind]
        columns[name] = pd.Categorical.from_codes(codes, categories)
    columns["spf_domain"] = columns["envelope_from"]
    frame = pd.DataFrame(columns)
    enrichment = pd.DataFrame(
        {
            "ip": ips,
            "reverse_dns": [
                f"out-{i}.mx.fwdmail.example" if KINDS[k][0] == "forwarder" else None
                for i, k in enumerate(kinds)
            ],
            "service_name": ["Fwdmail" if KINDS[k][0] == "forwarder" else None for k in kinds],
            "service_type": [
                "Email Provider" if KINDS[k][0] == "forwarder" else None for k in kinds
            ],
        }
    )
    return frame, enrichment


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--sources", type=int, default=5_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)

    records, enrichment = build(args.records, args.sources, args.seed)
    print(
        f"records: {len(records):,} rows, {records['source_ip'].nunique():,} sources, "
        f"{int(records['count'].sum()):,} messages"
    )
    with LoopbackNameserver(ZONE) as server:
        resolver = server.resolver()
        started = time.perf_counter()
        diagnoses = explain(records, resolver=resolver, enrichment=enrichment)
        diagnoses.sort(key=lambda d: -d.messages)
        seconds = time.perf_counter() - started
        queries = resolver.queries_sent
    shown = diagnoses[:12]
    for d in shown:
        codes = ",".join(d.action_codes)
        print(
            f"  {d.category.value:<20} {d.source:<26} {len(d.ips):>5} IPs "
            f"{d.messages:>11,} msgs {d.share:6.1%}  {codes}"
        )
    if len(diagnoses) > len(shown):
        print(f"  ... and {len(diagnoses) - len(shown)} more diagnoses (one per unknown IP)")
    print(f"explain: {seconds:.2f} s for {len(records):,} records ({queries} DNS queries)")
    ok = seconds < TARGET_SECONDS
    print(f"target: under {TARGET_SECONDS:.0f} s -> {'met' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
