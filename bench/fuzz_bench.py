"""Fuzz the parsers with N mutated inputs each and count how every call ended.

    python -m bench.fuzz_bench [--count 10000] [--seed 0] [--only parse_report,check_host]

For every parser the inputs come from tests/fuzz/mutations.py (mutated samples from tests/data/dmarc,
wrappers around garbage, SPF records from a grammar of terms, mutated header blocks); input i of
parser P is made from `random.Random(f"{seed}:{P}:{i}")`, so any input can be made again alone.
Each call runs in a worker process with a hang guard: no answer within `--timeout` (1 s) and the
worker is killed. A call that times out is tried once more in a fresh worker, so a moment of load on
a shared machine is not mistaken for a hang; it counts as hung only when it times out twice.

Per parser it prints how many inputs were
    accepted  the call returned a result (a report, a valid record, an SPF verdict other than
              permerror, an analysis, an expansion),
    rejected  the call said no the documented way (ReportError, MacroSyntaxError, a permerror, a
              record with errors, errors in a batch),
    crashed   any other exception escaped, or load_reports caught one in its safety net (it logs
              "unexpected failure" and goes on: still a bug of ours),
    hung      the call took longer than the timeout, twice.
The first few crashing or hanging inputs are saved under bench/out/fuzz/ (input and traceback) so
they can be replayed. Exit status 1 when anything crashed or hung.
"""

from __future__ import annotations

import argparse
import importlib
import ipaddress
import logging
import multiprocessing
import random
import sys
import time
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from tests.fuzz import mutations

OUT = Path(__file__).parent / "out" / "fuzz"
SAVE_FIRST = 5

ACCEPTED, REJECTED, CRASHED = "accepted", "rejected", "crashed"
BROKEN = "broken input"
# How diagnostics.headers.analyze words an exception it caught in its last-resort handler.
_HEADERS_SAFETY_NET = "These headers could not be read ("


# ---- inputs ------------------------------------------------------------------------------------


def _spf_case(rng: random.Random) -> dict[str, Any]:
    sender = "user@fuzz.test"
    if rng.random() < 0.05:  # the arguments too, now and then: InvalidInput is documented
        sender = rng.choice(("", "@", "a@b", "x" * 2000, "user@fuzz.test\x00", "user@[1.2.3.4]"))
    return {
        "zone": mutations.spf_zone(rng),
        "ip": rng.choice(("127.0.0.1", "192.0.2.1", "2001:db8::1", "::ffff:127.0.0.1")),
        "sender": sender,
    }


def _macro_case(rng: random.Random) -> dict[str, Any]:
    return {"text": mutations.macro_text(rng), "explanation": rng.random() < 0.3}


MAKERS: dict[str, Callable[[random.Random], Any]] = {
    "parse_report": mutations.report_input,
    "load_reports": lambda rng: [mutations.report_input(rng) for _ in range(rng.choice((1, 1, 2)))],
    # Issue 13's bomb shapes (tests/fuzz/mutations.py bomb_input): rejected within the guard.
    "load_reports.bombs": lambda rng: [mutations.bomb_input(rng)],
    "spf.parse_record": mutations.spf_record,
    "spf.expand": _macro_case,
    "spf.check_host": _spf_case,
    "spf.analyze": _spf_case,
    "headers.analyze": mutations.header_text,
}


def make_input(parser: str, seed: int, index: int) -> Any:
    return MAKERS[parser](random.Random(f"{seed}:{parser}:{index}"))


# ---- calls (in the worker) ---------------------------------------------------------------------


class _SafetyNet(logging.Handler):
    """Collects what load_reports logs when it catches an exception it did not expect."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.caught: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info and record.exc_info[1] is not None:
            self.caught.append(_crash(record.exc_info[1]))


def _crash(error: BaseException) -> str:
    """A first line naming the exception and the deepest line of ours it passed through (to group
    crashes by cause), then the traceback, its middle cut when it is long (deep recursion)."""
    ours = [f for f in traceback.extract_tb(error.__traceback__) if "/diagnostics/" in f.filename]
    where = f"{Path(ours[-1].filename).name}:{ours[-1].lineno}" if ours else "outside diagnostics"
    text = "".join(traceback.format_exception(error))
    if len(text) > 6000:
        text = text[:3000] + "\n[...]\n" + text[-3000:]
    return f"{type(error).__name__}: {str(error)[:80]} (at {where})\n{text}"


@dataclass
class _Worker:
    """State of one worker process: the nameserver for SPF inputs, the safety-net log handler."""

    nameserver: Any = None
    net: _SafetyNet = field(default_factory=_SafetyNet)

    def resolver(self, zone: dict[str, Any]) -> Any:
        if self.nameserver is None:
            from tests.support.nameserver import LoopbackNameserver

            self.nameserver = LoopbackNameserver()
            self.nameserver.start()
        self.nameserver.replace(zone)
        return self.nameserver.resolver(timeout=0.5, cache=False)

    def call(self, parser: str, data: Any) -> tuple[str, str]:
        """(outcome, detail) of one call."""
        from diagnostics import dmarc, spf
        from diagnostics.errors import InvalidInput, ReportError

        if parser == "parse_report":
            try:
                dmarc.parse_report(data)
            except ReportError as error:
                return REJECTED, str(error)
            return ACCEPTED, ""
        if parser in ("load_reports", "load_reports.bombs"):
            self.net.caught.clear()
            batch = dmarc.load_reports(data)
            if self.net.caught:
                return CRASHED, self.net.caught[0]
            return (REJECTED, str(batch.errors[0])) if batch.errors else (ACCEPTED, "")
        if parser == "spf.parse_record":
            record = spf.parse_record(data)
            return (ACCEPTED, "") if record.is_valid else (REJECTED, record.errors[0])
        if parser == "spf.expand":
            context = spf.MacroContext(
                sender="user@fuzz.test",
                domain="fuzz.test",
                ip=ipaddress.ip_address("192.0.2.1"),
                helo="helo.fuzz.test",
            )
            try:
                spf.expand(data["text"], context, explanation=data["explanation"])
            except spf.MacroSyntaxError as error:
                return REJECTED, str(error)
            return ACCEPTED, ""
        if parser in ("spf.check_host", "spf.analyze"):
            resolver = self.resolver(data["zone"])
            try:
                if parser == "spf.check_host":
                    result = spf.check_host(data["ip"], data["sender"], resolver=resolver)
                    rejected = result.result is spf.Result.PERMERROR
                else:
                    spf.analyze("fuzz.test", resolver=resolver)
                    rejected = False
            except InvalidInput as error:
                return REJECTED, str(error)
            return (REJECTED, "permerror") if rejected else (ACCEPTED, "")
        if parser == "headers.analyze":
            from diagnostics import headers

            report = headers.analyze(data)
            if report.message and report.message.startswith(_HEADERS_SAFETY_NET):
                # analyze() turned an exception of its own into this sentence: still a bug; the
                # private reader raises it again, for the traceback.
                try:
                    headers._analyze(data)
                except Exception as error:
                    return CRASHED, _crash(error)
            return (ACCEPTED, "") if report.readable else (REJECTED, report.message or "")
        raise ValueError(f"unknown parser {parser}")


def _serve(connection: Connection) -> None:
    """Worker process: answer (parser, seed, index) with (outcome, detail, seconds)."""
    worker = _Worker()
    batch_log = logging.getLogger("diagnostics.dmarc.parse._batch")
    batch_log.addHandler(worker.net)
    batch_log.propagate = False  # the bench counts these; a screenful of tracebacks helps nobody
    logging.getLogger("parsedmarc").setLevel(logging.CRITICAL)
    while True:
        job = connection.recv()
        if job is None:
            break
        parser, seed, index = job
        try:
            data = make_input(parser, seed, index)
        except Exception as error:  # a bug of the bench, not of a parser: stop the run
            connection.send((BROKEN, "".join(traceback.format_exception(error)), 0.0))
            continue
        started = time.perf_counter()
        try:
            outcome, detail = worker.call(parser, data)
        except Exception as error:
            outcome, detail = CRASHED, _crash(error)
        connection.send((outcome, detail, time.perf_counter() - started))
    if worker.nameserver is not None:
        worker.nameserver.stop()


class _Pool:
    """One worker process, restarted after it is killed for a hang."""

    def __init__(self) -> None:
        # fork, after the parent imported the parsers: a worker killed for a hang is replaced in
        # milliseconds, not the seconds a fresh interpreter takes to import pandas and lxml.
        self._context = multiprocessing.get_context("fork")
        self._process: Any = None
        self._connection: Connection | None = None

    def run(self, job: tuple[str, int, int], timeout: float) -> tuple[str, str, float] | None:
        if self._process is None:
            self._start()
        assert self._connection is not None
        self._connection.send(job)
        if self._connection.poll(timeout):
            answer: tuple[str, str, float] = self._connection.recv()
            return answer
        self.kill()
        return None

    def _start(self) -> None:
        parent, child = self._context.Pipe()
        self._process = self._context.Process(target=_serve, args=(child,), daemon=True)
        self._process.start()
        self._connection = parent
        # Warm the worker (imports, the nameserver) before any call is timed against the guard.
        self._connection.send(("spf.parse_record", 0, 0))
        self._connection.recv()

    def kill(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.join()
        self._process = None
        self._connection = None

    def close(self) -> None:
        if self._connection is not None:
            try:
                self._connection.send(None)
                self._process.join(10)
            except OSError:  # the worker is gone already
                pass
        self.kill()


# ---- the run -----------------------------------------------------------------------------------


@dataclass
class Tally:
    counts: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys((ACCEPTED, REJECTED, CRASHED, "hung"), 0)
    )
    retried: int = 0
    kinds: Counter[str] = field(default_factory=Counter)
    slowest: tuple[float, int] = (0.0, -1)
    seconds: list[float] = field(default_factory=list)
    saved: list[Path] = field(default_factory=list)


def _save(parser: str, seed: int, index: int, kind: str, detail: str, tally: Tally) -> None:
    if len(tally.saved) >= SAVE_FIRST:
        return
    OUT.mkdir(parents=True, exist_ok=True)
    # No "." in the name: the suffixes below would replace everything after it.
    stem = OUT / f"{parser.replace('.', '_')}-{kind}-{seed}-{index}"
    data = make_input(parser, seed, index)
    if isinstance(data, bytes):
        stem.with_suffix(".bin").write_bytes(data)
    else:
        stem.with_suffix(".repr").write_text(repr(data) + "\n")
    replay = f"make_input({parser!r}, {seed}, {index}) in bench.fuzz_bench makes this input again\n"
    stem.with_suffix(".txt").write_text(replay + detail)
    tally.saved.append(stem)


def _kind_of_crash(detail: str) -> str:
    return detail.split("\n", 1)[0]


def _kind_of_hang(parser: str, seed: int, index: int) -> str:
    data = make_input(parser, seed, index)
    return f"input starting {data[:50]!r}" if isinstance(data, str | bytes) else "?"


def fuzz(parser: str, count: int, seed: int, timeout: float, pool: _Pool) -> Tally:
    tally = Tally()
    for index in range(count):
        answer = pool.run((parser, seed, index), timeout)
        if answer is None:  # once more in a fresh worker before calling it a hang
            tally.retried += 1
            answer = pool.run((parser, seed, index), timeout)
        if answer is None:
            tally.counts["hung"] += 1
            tally.kinds["hung: " + _kind_of_hang(parser, seed, index)] += 1
            _save(parser, seed, index, "hung", f"no answer within {timeout} s, twice\n", tally)
            continue
        outcome, detail, seconds = answer
        if outcome == BROKEN:
            raise RuntimeError(f"making input {index} for {parser} failed:\n{detail}")
        tally.seconds.append(seconds)
        tally.slowest = max(tally.slowest, (seconds, index))
        if seconds > timeout:
            outcome = "hung"
        tally.counts[outcome] += 1
        if outcome == CRASHED:
            tally.kinds["crashed: " + _kind_of_crash(detail)] += 1
        elif outcome == "hung":
            tally.kinds["hung: " + _kind_of_hang(parser, seed, index)] += 1
        if outcome in (CRASHED, "hung"):
            _save(parser, seed, index, outcome, detail, tally)
    return tally


def _headers_available() -> bool:
    try:
        from diagnostics import headers
    except ImportError:
        return False
    return hasattr(headers, "analyze")


def run(count: int, seed: int, timeout: float, only: list[str]) -> int:
    parsers = only or list(MAKERS)
    if "headers.analyze" in parsers and not _headers_available():
        print("headers.analyze: diagnostics.headers is not there yet; skipped")
        parsers.remove("headers.analyze")
    print(f"{count:,} inputs per parser, seed {seed}, hang guard {timeout:g} s")
    print(
        f"{'parser':<18}{'accepted':>9}{'rejected':>9}{'crashed':>8}{'hung':>6}"
        f"{'retried':>8}{'mean ms':>9}{'max ms':>8}{'wall s':>8}"
    )
    for module in ("diagnostics.dmarc", "diagnostics.spf", "diagnostics.headers"):
        if module != "diagnostics.headers" or "headers.analyze" in parsers:
            importlib.import_module(module)  # before the worker forks: see _Pool
    if "load_reports.bombs" in parsers:
        mutations.bomb_templates()  # built once here, not in each worker within the hang guard
    import parsedmarc  # noqa: F401  (failure reports: imported on first use, else in the guard)

    pool = _Pool()
    bad = 0
    reports: list[tuple[str, Tally]] = []
    try:
        for parser in parsers:
            started = time.perf_counter()
            tally = fuzz(parser, count, seed, timeout, pool)
            wall = time.perf_counter() - started
            c = tally.counts
            mean = 1000 * sum(tally.seconds) / max(1, len(tally.seconds))
            worst = 1000 * max(tally.seconds, default=0.0)
            print(
                f"{parser:<18}{c[ACCEPTED]:>9}{c[REJECTED]:>9}{c[CRASHED]:>8}{c['hung']:>6}"
                f"{tally.retried:>8}{mean:>9.1f}{worst:>8.0f}{wall:>8.1f}",
                flush=True,
            )
            bad += c[CRASHED] + c["hung"]
            reports.append((parser, tally))
    finally:
        pool.close()
    for parser, tally in reports:
        seconds, index = tally.slowest
        print(f"{parser}: slowest answered input #{index}, {1000 * seconds:.0f} ms")
        for kind, number in tally.kinds.most_common(8):
            print(f"{parser}: {number} x {kind}")
        for stem in tally.saved:
            print(
                f"{parser}: saved {stem.relative_to(Path.cwd()) if stem.is_relative_to(Path.cwd()) else stem}.*"
            )
    print("target: 0 crashed, 0 hung --", "met" if bad == 0 else "MISSED")
    return 1 if bad else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.fuzz_bench", description=__doc__)
    parser.add_argument("--count", type=int, default=10_000, help="inputs per parser")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=1.0, help="hang guard, seconds per call")
    parser.add_argument(
        "--only", default="", help=f"comma-separated subset of: {', '.join(MAKERS)}"
    )
    args = parser.parse_args(argv)
    only = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = [name for name in only if name not in MAKERS]
    if unknown:
        parser.error(f"unknown parser(s): {', '.join(unknown)}")
    return run(args.count, args.seed, args.timeout, only)


if __name__ == "__main__":
    sys.exit(main())
