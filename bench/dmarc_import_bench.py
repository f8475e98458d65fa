"""Importing DMARC reports into the store, on SQLite and on PostgreSQL: records per second on the
three corpora of `bench/dmarc_bench.py` against parsedmarc's parsing alone, peak memory against the
500 MB target, then how fast the page queries answer.

1. Import, once per database, each in a child process so that its peak memory (ru_maxrss) is its
   own: (a) the corpus of `bench/make_dmarc_corpus.py` (generated in a child process when missing;
   `--size`, 1 GB by default, scaled down with `--size` on a shared machine), (b) the receivers'
   layouts of `bench/receiver_layouts.py`, (c) the real reports (../shared/data/dmarc-real, or
   tests/data/dmarc-real). Each into a fresh store: a SQLite file, or a fresh schema of the
   PostgreSQL database at `--postgres` (the tests' default; skipped with a note when it does not
   answer). parsedmarc only parses (it has no such store); its records/s on a seeded subset of each
   corpus, within `--parsedmarc-seconds`, is the yardstick the ratio is printed against.
2. Queries over the imported corpus: volume_by_day and by_source for its largest domain and for all.
3. Queries over one domain with `--query-rows` records (1,000,000 by default), generated straight
   into a fresh store with its rollup built as an import builds it: volume_by_day, by_source,
   by_service and verdicts against the 2 s target. The generator draws every record's address and
   verdicts at random, so its rollup is nearly as large as its records: the worst case for the
   rollup (real receivers report the same senders every day).

    python -m bench.dmarc_import_bench [--size 1GB] [--layout-files 600] [--seed 7]
                                       [--postgres URL] [--query-rows 1000000]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, insert, make_url, text
from sqlalchemy.exc import OperationalError

from bench import make_dmarc_corpus, receiver_layouts
from bench.dmarc_bench import _real_reports
from bench.dmarc_parity import parsedmarc_rows
from diagnostics.dmarc.store import ReportStore
from diagnostics.dmarc.store import _rollup as rollup
from diagnostics.dmarc.store import _tables as tables
from diagnostics.enrich import Enrichment

MEMORY_TARGET_MB = 500
# Its own folder: bench/dmarc_bench.py regenerates make_dmarc_corpus.OUT on every run, which must
# not happen under an import in progress.
CORPUS = make_dmarc_corpus.OUT.parent / "dmarc-import-corpus"
QUERY_TARGET_S = 2.0
LAYOUTS = make_dmarc_corpus.OUT.parent / "dmarc-import-layouts"
# The tests' PostgreSQL (tests/support/databases.py): trust auth on loopback.
POSTGRES = "postgresql+psycopg2://postgres@127.0.0.1:5432/test"


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


def parsedmarc_rate(files: list[Path], budget: float, seed: int) -> float:
    """parsedmarc's records/s (parsing only) on a seeded random subset of `files`."""
    os.environ["TZ"] = "UTC"  # as bench/dmarc_bench.py: its dates in UTC
    time.tzset()
    logging.getLogger("parsedmarc").setLevel(logging.CRITICAL)
    order = list(files)
    random.Random(seed).shuffle(order)
    parsedmarc_rows(order[0])  # imports and one-off costs out of the timing
    records = 0
    seconds = 0.0
    for path in order:
        if seconds >= budget:
            break
        started = time.perf_counter()
        rows = parsedmarc_rows(path)
        seconds += time.perf_counter() - started
        records += len(rows or [])
    return records / seconds


@contextmanager
def _database(kind: str, postgres: str, workdir: Path) -> Iterator[str]:
    """The URL of a fresh, empty database of `kind`, removed afterwards."""
    if kind == "sqlite":
        path = workdir / f"import-{uuid.uuid4().hex[:8]}.sqlite"
        yield f"sqlite:///{path}"
        path.unlink(missing_ok=True)
        return
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(postgres)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        url = make_url(postgres).update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def import_child(kind: str, postgres: str, corpora: dict[str, list[str]]) -> dict[str, Any]:
    """In a child process: import each corpus into a fresh database of `kind`; records/s each,
    and the process's peak memory over all of them."""
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="dmarc-import-bench-") as folder:
        for label, files in corpora.items():
            with _database(kind, postgres, Path(folder)) as url:
                store = ReportStore(url)
                started = time.perf_counter()
                summary = store.import_paths(files)
                seconds = time.perf_counter() - started
                store.close()
            results[label] = {
                "records": summary.records,
                "seconds": seconds,
                "rejected": summary.rejected,
            }
    results["peak_mb"] = _peak_mb()
    return results


def bench_imports(args: argparse.Namespace) -> None:
    _corpus(args.size, args.seed, args.corpus)
    receiver_layouts.generate(LAYOUTS, args.layout_files, args.seed)
    _, real = _real_reports()
    corpora = {
        f"(a) generated, {args.size}": sorted(args.corpus.iterdir()),
        "(b) receivers' layouts": sorted(LAYOUTS.iterdir()),
        "(c) real reports": real,
    }
    theirs = {
        label: parsedmarc_rate(files, args.parsedmarc_seconds, args.seed)
        for label, files in corpora.items()
    }
    kinds = ["sqlite", "postgresql"]
    try:
        engine = create_engine(args.postgres, connect_args={"connect_timeout": 3})
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        engine.dispose()
    except OperationalError as error:
        print(f"PostgreSQL at {args.postgres} does not answer ({error.orig}); SQLite only")
        kinds = ["sqlite"]
    payload = {label: [str(p) for p in files] for label, files in corpora.items()}
    for kind in kinds:
        command = [sys.executable, "-m", "bench.dmarc_import_bench", "--child", kind]
        command += ["--postgres", args.postgres]
        done = subprocess.run(
            command, input=json.dumps(payload), capture_output=True, text=True, check=True
        )
        results = json.loads(done.stdout.strip().splitlines()[-1])
        print(f"import into {kind}:")
        for label in corpora:
            entry = results[label]
            rate = entry["records"] / entry["seconds"]
            print(
                f"  {label}: {entry['records']:,} records in {entry['seconds']:.1f} s = "
                f"{rate:,.0f} records/s; parsedmarc parses {theirs[label]:,.0f} records/s: "
                f"ratio {rate / theirs[label]:.1f}x"
                + (f" ({entry['rejected']} files rejected)" if entry["rejected"] else "")
            )
        peak = results["peak_mb"]
        verdict = "OK" if peak < MEMORY_TARGET_MB else "OVER"
        print(
            f"  peak memory (ru_maxrss of the importing process): {peak:,.0f} MB, target < "
            f"{MEMORY_TARGET_MB} MB for the 1 GB import ({args.size} here): {verdict}",
            flush=True,
        )


def bench_import(corpus: Path, workdir: Path) -> ReportStore:
    store = ReportStore(f"sqlite:///{workdir / 'import.sqlite'}")
    summary = store.import_paths([corpus])
    print(f"queries over the imported corpus ({summary.records:,} records):")
    domains = store.domains().sort_values("records", ascending=False)
    top = str(domains["policy_domain"].iloc[0])
    print(f"  largest domain {top}:")
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
    parser.add_argument("--size", default="1GB", help="corpus (a) size (default 1GB)")
    parser.add_argument("--layout-files", type=int, default=600, help="corpus (b) files")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--postgres", default=POSTGRES, help=f"PostgreSQL URL ({POSTGRES})")
    parser.add_argument("--parsedmarc-seconds", type=float, default=20.0)
    parser.add_argument("--query-rows", type=int, default=1_000_000)
    parser.add_argument("--child", choices=["sqlite", "postgresql"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        corpora = json.loads(sys.stdin.read())
        print(json.dumps(import_child(args.child, args.postgres, corpora)))
        return 0
    print("The machine may be shared: figures are one run each.")
    bench_imports(args)
    with tempfile.TemporaryDirectory(prefix="dmarc-import-bench-") as folder:
        store = bench_import(args.corpus, Path(folder))
        store.close()
        if args.query_rows:
            bench_queries(args.query_rows, args.seed, Path(folder))
    return 0


if __name__ == "__main__":
    sys.exit(main())
