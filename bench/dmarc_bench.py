"""DMARC aggregate parsing: `load_reports` against `parsedmarc.parse_report_file(offline=True)`.

Three corpora in one run, each read by both with identical records required:

- (a) the generated corpus of `bench/make_dmarc_corpus.py` (schema element order) plus the sample
  reports;
- (b) a generated corpus in the receivers' layouts (`bench/receiver_layouts.py`: Google, Seznam,
  Zoho, Mimecast, Cisco ESA, Hotmail, LinkedIn, Mail.Ru 2013, AOL), 90% of files with 1 to 200
  records and 10% with thousands, a third gzipped;
- (c) the real reports of `../shared/data/dmarc-real` (tests/data/dmarc-real when that is absent);

then 2,000 one-record reports in one batch, the per-file cost. For each: records/s of both, the
ratio, the share of records our fast reader read itself (the rest went to lxml), and how many
files had identical records. parsedmarc reads a seeded random subset of (a) and (b) within a time
budget (it is too slow for all in a few minutes), and ours reads that same subset again (best of
three: the machine may be shared), so the ratio compares like with like. Files parsedmarc rejects
(Hotmail's BOM, for one) are left out of both timings, and counted.

    python -m bench.dmarc_bench [--size 100MB] [--layout-files 600] [--seed 7]
                                [--parsedmarc-seconds 40] [--small 2000]
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import logging
import os
import random
import resource
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from bench import make_dmarc_corpus, receiver_layouts
from bench.dmarc_parity import our_rows, parsedmarc_rows
from diagnostics.dmarc import DEFAULT_LIMITS, ReportBatch, load_reports
from diagnostics.dmarc.parse._aggregate import parse_aggregate_xml
from diagnostics.dmarc.parse._budget import UploadBudget
from diagnostics.dmarc.parse._columns import RecordColumns
from diagnostics.dmarc.parse._unpack import Kind, Piece, unpack
from diagnostics.errors import ReportError

ROOT = Path(__file__).parents[1]
SAMPLES = ROOT / "tests" / "data" / "dmarc"
REAL = ROOT.parent / "shared" / "data" / "dmarc-real"
REAL_COPY = ROOT / "tests" / "data" / "dmarc-real"
OUT = Path(__file__).parent / "out"
# Sample files whose records differ from parsedmarc's on purpose; the reasons are in
# tests/diagnostics/dmarc/parse/test_parity.py (EXPECTED_DIFFERENCES).
KNOWN_DIFFERENCES = {"invalid_utf_8.xml", "invalid_xml.xml"}
TARGET = 30.0
SMALL_TARGET = 20.0


def _aggregate_samples() -> list[Path]:
    folders = ("aggregate", "aggregate_invalid", "extract_report")
    return sorted(p for folder in folders for p in (SAMPLES / folder).iterdir())


def _real_reports() -> tuple[Path, list[Path]]:
    folder = REAL if (REAL / "manifest.json").exists() else REAL_COPY
    manifest = json.loads((folder / "manifest.json").read_text())
    return folder, [folder / e["file"] for e in manifest if e["kind"] == "aggregate"]


def _digest(rows: list[dict[str, object]]) -> str:
    """A fingerprint of rows: equal for equal rows (same columns, values and types, same order)."""
    return hashlib.sha256(repr(rows).encode()).hexdigest()


def _settle() -> None:
    gc.collect()
    gc.freeze()


def _digests_by_file(files: list[Path], batch: ReportBatch) -> dict[Path, str]:
    """A digest of our records for each input file, built file by file to bound memory (a file's
    reports are contiguous in the batch, in input order)."""
    by_name = {str(path): path for path in files}
    spans: dict[Path, list[tuple[int, int]]] = {}
    start = 0
    for source, size in zip(batch.reports["source"], batch.reports["record_count"], strict=True):
        name = str(source)
        # "file:member", "mailbox#3:attachment", "mail.eml:report.zip:report.xml" -> "file"
        while name not in by_name and (":" in name or "#" in name):
            name = name[: max(name.rfind(":"), name.rfind("#"))]
        path = by_name.get(name)
        if path is not None:
            spans.setdefault(path, []).append((start, start + int(size)))
        start += int(size)
    digests: dict[Path, str] = {}
    for path, ranges in spans.items():
        rows: list[dict[str, object]] = []
        for begin, end in ranges:
            rows.extend(our_rows(batch.records.iloc[begin:end]))
        digests[path] = _digest(rows)
    return digests


def fast_share(files: list[Path]) -> tuple[int, int]:
    """(records our fast reader read itself, all records) over `files`, read as `load_reports`
    reads them (one set of columns for the batch), outside any timing."""
    columns = RecordColumns()
    for path in files:
        with path.open("rb") as stream:
            for piece in unpack(str(path), stream, UploadBudget(DEFAULT_LIMITS)):
                if isinstance(piece, Piece) and piece.kind is Kind.XML:
                    try:
                        head = piece.stream.peek(8192)
                        parse_aggregate_xml(piece.stream, columns, DEFAULT_LIMITS, head=head)  # type: ignore[arg-type]
                    except ReportError:
                        pass
    return columns.fast_rows, len(columns)


@dataclass
class Result:
    label: str
    ours: float
    theirs: float
    records: int
    files: int
    identical: int
    compared: int
    rejected: int
    mismatched: list[str]

    @property
    def ratio(self) -> float:
        return self.ours / self.theirs


def compare(
    label: str, files: list[Path], budget: float, seed: int, repeat: int = 3, rounds: int = 1
) -> Result:
    """parsedmarc on a seeded random subset of `files` within `budget` seconds, then ours on the
    files of it that parsedmarc read (best of `repeat`), file by file compared. With `rounds`,
    each side reads each file that many times (small corpora, for a measurable time)."""
    order = list(files)
    random.Random(seed).shuffle(order)
    # Only a digest and a row count of parsedmarc's records are kept per file: a million row dicts
    # would take gigabytes.
    theirs_rows: dict[Path, tuple[str, int]] = {}
    rejected = 0
    theirs_seconds = 0.0
    _settle()
    for path in order:
        if theirs_seconds >= budget:
            break
        started = time.perf_counter()
        for _ in range(rounds):
            rows = parsedmarc_rows(path)
        theirs_seconds += time.perf_counter() - started
        if rows is None:
            rejected += 1
        else:
            theirs_rows[path] = (_digest(rows), len(rows))
    subset = [path for path in order if path in theirs_rows]
    theirs_records = rounds * sum(count for _, count in theirs_rows.values())
    ours_seconds = float("inf")
    batch = None
    for _ in range(repeat):
        batch = None
        _settle()
        started = time.perf_counter()
        batch = load_reports(subset * rounds)
        ours_seconds = min(ours_seconds, time.perf_counter() - started)
    assert batch is not None
    ours_records = len(batch.records)
    if rounds > 1:
        batch = load_reports(subset)
    our_digests = _digests_by_file(subset, batch)
    identical = 0
    mismatched: list[str] = []
    for path in subset:
        if our_digests.get(path, _digest([])) == theirs_rows[path][0]:
            identical += 1
        elif path.name not in KNOWN_DIFFERENCES:
            mismatched.append(path.name)
    return Result(
        label=label,
        ours=ours_records / ours_seconds,
        theirs=theirs_records / theirs_seconds,
        records=ours_records,
        files=len(subset),
        identical=identical,
        compared=len(subset),
        rejected=rejected,
        mismatched=mismatched,
    )


def report(result: Result, share: tuple[int, int], target: float, whole: int) -> None:
    fast, records = share
    known = result.compared - result.identical - len(result.mismatched)
    print(
        f"  parsedmarc: {result.theirs:,.0f} records/s; load_reports on the same "
        f"{result.files:,} files ({result.records:,} records, best of 3): {result.ours:,.0f} "
        f"records/s"
        + (f" ({whole:,} files in the corpus)" if whole > result.files + result.rejected else "")
    )
    print(
        f"  ratio ({result.label}): {result.ratio:.1f}x parsedmarc (target >= {target:.0f}x)"
        f"{'' if result.ratio >= target else '  BELOW TARGET'}"
    )
    print(f"  fast-path share: {fast / records:.1%} of {records:,} records")
    print(
        f"  records identical on {result.identical} of {result.compared} compared files"
        + (f"; {known} known, explained differences (see test_parity.py)" if known else "")
        + (
            f"; {result.rejected} files parsedmarc rejects (not compared)"
            if result.rejected
            else ""
        )
        + (f"; MISMATCHED: {', '.join(result.mismatched[:10])}" if result.mismatched else ""),
        flush=True,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="100MB", help="corpus (a): XML in all (default 100MB)")
    parser.add_argument(
        "--layout-files", type=int, default=600, help="corpus (b): files (default 600)"
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--parsedmarc-seconds",
        type=float,
        default=40.0,
        help="time budget for parsedmarc's subset of (a) and of (b) (default 40)",
    )
    parser.add_argument("--small", type=int, default=2000, help="one-record reports (2000)")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    # parsedmarc renders report dates in local time; UTC makes them comparable with ours.
    os.environ["TZ"] = "UTC"
    time.tzset()
    logging.getLogger("parsedmarc").setLevel(logging.CRITICAL)
    print("The machine may be shared: figures are best of three for ours, one run for parsedmarc.")

    # Warm both up (imports, the public suffix list) so neither pays one-off costs in its timing.
    load_reports(_aggregate_samples())
    parsedmarc_rows(_aggregate_samples()[0])
    failed = False

    generated = OUT / "dmarc-corpus"
    started = time.perf_counter()
    reports, records, xml_bytes = make_dmarc_corpus.generate(
        make_dmarc_corpus._size(args.size), args.seed, generated
    )
    files = [*_aggregate_samples(), *sorted(generated.iterdir())]
    print(
        f"(a) generated corpus: {reports:,} reports ({records:,} records, {xml_bytes / 1e6:,.0f} MB "
        f"of XML) + {len(_aggregate_samples())} samples, made in "
        f"{time.perf_counter() - started:.1f} s",
        flush=True,
    )
    _settle()
    started = time.perf_counter()
    whole = load_reports(files)
    seconds = time.perf_counter() - started
    print(
        f"  load_reports, whole corpus: {len(whole.records):,} records in {seconds:.1f} s = "
        f"{len(whole.records) / seconds:,.0f} records/s (peak RSS "
        f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB)",
        flush=True,
    )
    del whole
    result = compare("a", files, args.parsedmarc_seconds, args.seed)
    report(result, fast_share(files), TARGET, len(files))
    failed |= bool(result.mismatched)

    layouts = OUT / "dmarc-layouts"
    count, records = receiver_layouts.generate(layouts, args.layout_files, args.seed)
    files = sorted(layouts.iterdir())
    print(
        f"(b) receivers' layouts: {count:,} reports ({records:,} records; "
        f"{sum(1 for p in files if p.suffix == '.gz')} gzipped)",
        flush=True,
    )
    result = compare("b", files, args.parsedmarc_seconds, args.seed)
    report(result, fast_share(files), TARGET, len(files))
    failed |= bool(result.mismatched)

    folder, files = _real_reports()
    print(f"(c) real reports: {len(files)} files from {folder}", flush=True)
    # Small: everything is read, several times over for a measurable time.
    result = compare("c", files, float("inf"), args.seed, repeat=5, rounds=5)
    report(result, fast_share(files), TARGET, len(files))
    failed |= bool(result.mismatched)

    small = OUT / "dmarc-small"
    small.mkdir(parents=True, exist_ok=True)
    for old in small.iterdir():
        old.unlink()
    rng = random.Random(args.seed)
    layouts_cycle = receiver_layouts.BENCH_LAYOUTS
    for number in range(args.small):
        layout = layouts_cycle[number % len(layouts_cycle)]
        (small / f"{number}.xml").write_bytes(receiver_layouts.report(layout, rng, number, 1))
    files = sorted(small.iterdir())
    print(f"{args.small:,} one-record reports in one batch (receivers' layouts):", flush=True)
    result = compare("one-record reports", files, float("inf"), args.seed)
    report(result, fast_share(files), SMALL_TARGET, len(files))
    print(
        f"  per file: load_reports {1e6 / result.ours:,.0f} us, parsedmarc "
        f"{1e6 / result.theirs:,.0f} us",
        flush=True,
    )
    failed |= bool(result.mismatched)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
