"""Importing DMARC reports into the store: records per second and peak memory against the 500 MB
target, then how fast the page queries answer.

1. Import: the corpus of `bench/make_dmarc_corpus.py` (generated in a child process when missing, so
   its memory is not counted here) goes into a fresh SQLite store with `ReportStore.import_paths`;
   the peak resident memory of this process (ru_maxrss) is compared with the 500 MB target.
2. Queries over the imported corpus: volume_by_day and by_source for its largest domain and for all.
3. Queries over one domain with `--query-rows` records (1,000,000 by default), generated straight
   into a fresh store with its rollup built as an import builds it: volume_by_day, by_source,
   by_service and verdicts against the 2 s target. The generator draws every record's address and
   verdicts at random, so its rollup is nearly as large as its records: the worst case for the
   rollup (real receivers report the same senders every day).

    python -m bench.dmarc_import_bench [--size 1GB] [--seed 7] [--query-rows 1000000]
"""

from __future__ import annotations

import argparse
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from bench import make_dmarc_corpus
from diagnostics.dmarc.store import ReportStore
from diagnostics.dmarc.store import _rollup as rollup
from diagnostics.dmarc.store import _tables as tables
from diagnostics.enrich import Enrichment

MEMORY_TARGET_MB = 500
# Its own folder: bench/dmarc_bench.py regenerates make_dmarc_corpus.OUT on every run, which must
# not happen under an import in progress.
CORPUS = make_dmarc_corpus.OUT.parent / "dmarc-import-corpus"
QUERY_TARGET_S = 2.0


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def _corpus(size: str, seed: int, out: Path) -> None:
    # Beside the corpus, not in it: the import would count it as a file that is not a report.
    marker = out.parent / f".{out.name}-made-{size}-{seed}"
    if marker.exists():
        print(f"corpus: reusing {out}")
        return
    print(f"corpus: generating {size} (seed {seed}) in a child process ...", flush=True)
    command = [sys.executable, "-m", "bench.make_dmarc_corpus", "--size", size]
    subprocess.run([*command, "--seed", str(seed), "--out", str(out)], check=True)
    marker.touch()


def _timed(label: str, run: Callable[[], Any], target: float | None = None) -> float:
    started = time.perf_counter()
    result = run()
    seconds = time.perf_counter() - started
    verdict = ""
    if target is not None:
        verdict = "  OK" if seconds < target else f"  OVER the {target:.0f} s target"
    print(f"  {label:<44} {seconds:7.3f} s  ({len(result):,} rows){verdict}")
    return seconds


def bench_import(corpus: Path, workdir: Path) -> ReportStore:
    store = ReportStore(f"sqlite:///{workdir / 'import.sqlite'}")
    before = _peak_mb()
    started = time.perf_counter()
    summary = store.import_paths([corpus])
    seconds = time.perf_counter() - started
    peak = _peak_mb()
    print(summary.totals)
    print(
        f"import: {summary.records:,} records in {seconds:.1f} s = "
        f"{summary.records / seconds:,.0f} records/s"
    )
    verdict = "OK" if peak < MEMORY_TARGET_MB else "OVER"
    print(
        f"peak memory (ru_maxrss): {peak:,.0f} MB (before import {before:,.0f} MB), "
        f"target < {MEMORY_TARGET_MB} MB: {verdict}"
    )
    domains = store.domains().sort_values("records", ascending=False)
    top = str(domains["policy_domain"].iloc[0])
    print(f"queries over the imported corpus (largest domain {top}):")
    _timed(f"volume_by_day({top!r})", lambda: store.volume_by_day(top))
    _timed(f"by_source({top!r})", lambda: store.by_source(top))
    _timed("volume_by_day(all domains)", store.volume_by_day)
    _timed("by_source(all domains)", store.by_source)
    return store


def _fill(store: ReportStore, rows: int, seed: int) -> None:
    """`rows` records of one domain over 90 daily reports, from 20,000 addresses."""
    rng = random.Random(seed)
    ips = [f"10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}" for i in range(20_000)]
    days = 90
    start = 1_700_006_400  # a UTC midnight
    per_report = rows // days + 1
    written = 0
    with store.engine.begin() as connection:
        for day in range(days):
            begin = start + day * 86_400
            pk = connection.execute(
                insert(tables.reports),
                {
                    "org_name": "bench",
                    "report_id": f"day-{day}",
                    "policy_domain": "big.example",
                    "begin_ts": begin,
                    "end_ts": begin + 86_399,
                    "record_count": per_report,
                    "message_count": 0,
                    "imported_at": 0,
                },
            ).inserted_primary_key[0]
            batch = []
            for _ in range(min(per_report, rows - written)):
                dkim = "pass" if rng.random() < 0.8 else "fail"
                spf = "pass" if rng.random() < 0.6 else "fail"
                batch.append(
                    {
                        "report_pk": pk,
                        "policy_domain": "big.example",
                        "begin_ts": begin,
                        "source_ip": rng.choice(ips),
                        "count": rng.randrange(1, 50),
                        "disposition": "none" if "pass" in (dkim, spf) else "reject",
                        "dkim_aligned": dkim,
                        "spf_aligned": spf,
                    }
                )
            connection.execute(insert(tables.records), batch)
            written += len(batch)
        # As an import leaves the store: the page queries read the rollup, not the records.
        rollup.rebuild(connection)
        rollup.bump(connection)
    store.enrichment_cache().put_many(
        [Enrichment(ip=ip, service_name=f"service {i % 40}") for i, ip in enumerate(ips)],
        ttl=86_400,
    )


def bench_queries(rows: int, seed: int, workdir: Path) -> None:
    store = ReportStore(f"sqlite:///{workdir / 'queries.sqlite'}")
    started = time.perf_counter()
    _fill(store, rows, seed)
    print(
        f"queries over {rows:,} records of one domain (filled in {time.perf_counter() - started:.0f} s):"
    )
    worst = 0.0
    for label, run in (
        ("volume_by_day, 90 days", lambda: store.volume_by_day("big.example")),
        ("by_source, 90 days", lambda: store.by_source("big.example")),
        ("by_service, 90 days", lambda: store.by_service("big.example")),
        # What explain reads: every distinct verdict combination of the period.
        ("verdicts, 90 days", lambda: store.verdicts("big.example")),
        (
            "by_source, one month",
            lambda: store.by_source("big.example", "2023-12-01", "2023-12-31"),
        ),
    ):
        worst = max(worst, _timed(label, run, QUERY_TARGET_S))
    print(f"slowest query: {worst:.2f} s (target < {QUERY_TARGET_S:.0f} s)")
    store.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="1GB", help="corpus size (default 1GB)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--query-rows", type=int, default=1_000_000)
    args = parser.parse_args(argv)
    _corpus(args.size, args.seed, args.corpus)
    with tempfile.TemporaryDirectory(prefix="dmarc-import-bench-") as folder:
        store = bench_import(args.corpus, Path(folder))
        store.close()
        if args.query_rows:
            bench_queries(args.query_rows, args.seed, Path(folder))
    return 0


if __name__ == "__main__":
    sys.exit(main())
