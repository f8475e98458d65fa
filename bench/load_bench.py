"""Many people on the "DMARC reports" page at once: do they all get an answer, and how fast?

    python -m bench.load_bench [--sessions 20] [--rows 1000000] [--seed 7] [--out bench/out/load]
                               [--budget 240] [--warm] [--option NAME=VALUE]

The app is served as in production: one `streamlit run app.py` server process (headless, on a free
loopback port), one script thread a session, st.cache_data and st.cache_resource shared by all
sessions. A "session" is one browser-less client of that server (bench/streamlit_client.py): a
WebSocket speaking Streamlit's own protocol, as the browser does. It opens the page at its URL path
(`dmarc-reports`), then picks the domain (the busiest, which the page opens on) and then a period
of the last 30 days, each by sending the widget states the browser would send; the Sources tab
needs no rerun (Streamlit sends every tab in one run), so the session reads its table from the
last run and checks that its messages add up to the "Messages" figure. Every run is a "page
answer", timed in the bench process from sending the rerun to the server's `script_finished`,
so it includes the script run (diagnoses included), the WebSocket and the protobuf and Arrow
encoding; it does not include a browser drawing the page. A run with an exception or an
`st.error` on the page is that session's error. All the sessions' clients run as coroutines on
one asyncio loop in the bench process: they connect first, then all send their first rerun at
once, so the figures are a burst, not a steady load.

Before the burst: one throwaway visit (the server imports the page's modules, as a server that has
been up a while has done), then the caches are cleared and one session runs alone, so the report
shows a single user's figures too. The caches are cleared again before the burst, so the burst
meets a cold server and the sessions share only what they compute themselves (`--warm` keeps what
the single session cached). The server shows full error details here, so the report can name an
error; the bench store holds no secrets.

The store is a fresh SQLite file under `--out` holding `--rows` records of one domain over 20
daily reports, 5,000 sources of known kinds (the generator of bench/explain_bench.py, written into
the store's tables); it is kept between runs when it already holds that many records. DNS goes to a
loopback nameserver serving explain_bench's zone (the domain's SPF and DMARC and its providers'
SPF); any other name is a fast NXDOMAIN, so nothing waits on real DNS. The server's output goes to
`--out`/server.log.

The server's peak memory (VmHWM) and its CPU time during the burst are reported: the script threads
of one server process share one interpreter lock, so a burst gets about one core however many the
machine has. A burst that would not fit in 60 % of the available memory is refused with a plain
message (the estimate: the server's base, plus what each concurrent page run holds over the
store's records; measured about 0.5 GB for 20 sessions over 1,000,000 records). `--option`
passes Streamlit config options to the server, to measure a setting before adopting it. The burst stops after `--budget` seconds (240 by
default); a session cut off counts as failed, with the answers it had given.

Exit status 0 when every session went through and every answer met the target (3 s), 1 when not,
2 when the burst was refused.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import statistics
import sys
import time
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from sqlalchemy import func, insert, select

from bench import explain_bench
from bench.streamlit_client import (
    ProtocolError,
    Run,
    StreamlitClient,
    StreamlitServer,
    date_range,
)
from diagnostics.database import PROJECT_ROOT
from diagnostics.dmarc.store import ReportStore
from diagnostics.dmarc.store import _rollup as rollup
from diagnostics.dmarc.store import _tables as tables
from tests.support.nameserver import LoopbackNameserver

APP = PROJECT_ROOT / "app.py"
PAGE_PATH = "dmarc-reports"  # the page's url_path in app.py
OUT = PROJECT_ROOT / "bench" / "out" / "load"
TARGET_SECONDS = 3.0
# Long enough that a slow answer is measured as slow rather than counted as a failure.
RUN_TIMEOUT = 600.0
SOURCES = 5_000
# Measured (VmHWM of the server process, 2026-11-24): 235 MB with 2 sessions over 2,000 records;
# with 20 sessions over 1,000,000, 2,151 MB before the store's rollup (b77de88), 510-540 MB after.
# The server's base, and what each record of the period adds at the peak of one page run
# (concurrent runs each hold their own), with room above the latest figure.
SERVER_BASE_MB = 250.0
RECORD_KB = 0.03
# The machine is shared: a burst must leave this share of the available memory to others.
MEMORY_SHARE = 0.6
# The whole burst stops after this long (the default run stays near 5 minutes); a session cut off
# counts as failed, with the answers it had given.
BUDGET_SECONDS = 240.0
STEPS = ("open the page", "pick the domain", "pick the period")


@dataclass(frozen=True, slots=True)
class Answer:
    """One timed page run of one session."""

    step: str
    seconds: float


@dataclass(frozen=True, slots=True)
class Session:
    """What one session saw: its timed answers, the diagnoses' outcome, and its error (None: it
    went through and its Sources table added up to the Messages figure)."""

    number: int
    answers: tuple[Answer, ...]
    explain_gave_up: bool = False
    error: str | None = None


def record_count(path: Path) -> int:
    """How many records the store at `path` holds (0 when there is no file)."""
    if not path.exists():
        return 0
    store = ReportStore(f"sqlite:///{path}")
    try:
        with store.engine.connect() as connection:
            return int(
                connection.execute(select(func.count()).select_from(tables.records)).scalar_one()
            )
    finally:
        store.close()


def prepare_store(path: Path, rows: int, seed: int) -> float | None:
    """A store at `path` with `rows` records; the seconds spent filling it (None when reused)."""
    if record_count(path) == rows:
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    # Filled under another name, then renamed: an interrupted fill is never taken for a full one.
    partial = path.with_name(path.name + ".partial")
    partial.unlink(missing_ok=True)
    started = time.perf_counter()
    store = ReportStore(f"sqlite:///{partial}")
    try:
        fill(store, rows, seed)
    finally:
        store.close()
    partial.replace(path)
    return time.perf_counter() - started


def fill(store: ReportStore, rows: int, seed: int) -> None:
    """`rows` records of explain_bench's domain (its 5,000 sources of known kinds, fewer below
    50,000 records) in one report a day, as an import would store them."""
    # Fewer sources for a small store: every source has at least one record.
    frame, _ = explain_bench.build(rows, min(SOURCES, max(rows // 10, 10)), seed)
    # Unix seconds whatever the frame's time unit (pandas 3 keeps microseconds here).
    epoch = pd.Timestamp(0, tz="UTC")
    begin = ((frame["begin"] - epoch) // pd.Timedelta(seconds=1)).to_numpy()
    with store.engine.begin() as connection:
        pks = {}
        for day in sorted(set(begin.tolist())):
            pks[day] = connection.execute(
                insert(tables.reports),
                {
                    "org_name": "bench",
                    "report_id": f"day-{day}",
                    "policy_domain": explain_bench.DOMAIN,
                    "policy_p": "none",
                    "begin_ts": day,
                    "end_ts": day + 86_399,
                    "record_count": int((begin == day).sum()),
                    "message_count": int(frame.loc[begin == day, "count"].sum()),
                    "imported_at": 0,
                },
            ).inserted_primary_key[0]
        columns = [c.name for c in tables.records.columns if c.name in frame.columns]
        table = frame[columns].astype({c: str for c in columns if c != "count"})
        table = table.assign(
            report_pk=[pks[day] for day in begin.tolist()], begin_ts=begin, count=frame["count"]
        )
        table.to_sql(
            tables.records.name, connection, if_exists="append", index=False, chunksize=50_000
        )
        # As an import leaves it: the page's figures read the rollup, not the records.
        rollup.rebuild(connection)
        rollup.bump(connection)


def needed_mb(sessions: int, rows: int) -> float:
    """About how much memory the server takes at its peak when `sessions` page runs over `rows`
    records overlap: each holds the period's figures while it explains them."""
    return SERVER_BASE_MB + sessions * rows * RECORD_KB / 1024


def available_mb() -> float | None:
    """MemAvailable of /proc/meminfo in MB (None where there is no such file)."""
    try:
        lines = Path("/proc/meminfo").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) / 1024
    return None


def bench_environment(store: Path, data_dir: Path, nameserver: str) -> dict[str, str]:
    """The settings every session's page runs under."""
    return {
        "DATABASE_URL": f"sqlite:///{store}",
        "DESK_DATA_DIR": str(data_dir),
        "DESK_AUTH": "none",  # no sign-in form: the page itself is what is measured
        "DESK_NAMESERVER": nameserver,
        "DESK_DNS_TIMEOUT": "1",
    }


class _Failed(RuntimeError):
    """A step of a session went wrong; the message says which and how."""


@dataclass(slots=True)
class Progress:
    """How far one session has got: its answers so far, and the step it waits on and since when
    (so a session cut off can say where it was)."""

    answers: list[Answer] = field(default_factory=list)
    step: str | None = None
    since: float = 0.0

    def waiting(self, now: float) -> str:
        if self.step is None:
            return ""
        return f" (waiting {now - self.since:.0f} s for '{self.step}')"


async def _timed(step: str, run: Awaitable[Run], progress: Progress) -> Run:
    progress.step, progress.since = step, time.perf_counter()
    result = await run
    progress.step = None
    if result.status != "finished":
        raise _Failed(f"{step}: the script run ended as '{result.status}'")
    progress.answers.append(Answer(step, time.perf_counter() - progress.since))
    errors = result.errors()
    if errors:
        raise _Failed(f"{step}: {errors[0]}")
    return result


async def run_session(number: int, client: StreamlitClient, progress: Progress) -> Session:
    """One session on a connected `client`: open the page, pick the domain, pick the last 30
    days, read the Sources tab. `progress` hears of each answer as soon as it is timed."""
    try:
        run = await _timed(STEPS[0], client.open(), progress)
        picker = run.widget(key="dmarc_domain")
        busiest = picker.proto.selectbox.options[picker.proto.selectbox.default]
        run = await _timed(STEPS[1], client.change(picker, busiest), progress)
        # The options read "<domain> (<n> messages)"; the period's key names the domain.
        domain = busiest.rsplit(" (", 1)[0]
        period = run.widget(key=f"dmarc_period_{domain}")
        last = date_range(period)[-1]
        chosen = (last - dt.timedelta(days=29), last)
        run = await _timed(STEPS[2], client.change(period, chosen), progress)
        _check_sources(run)
        gave_up = any("did not finish" in e.proto.alert.body for e in run.of_kind("alert"))
        return Session(number, tuple(progress.answers), explain_gave_up=gave_up)
    except Exception as exc:  # any failure is this session's error, reported, not a crash
        return Session(number, tuple(progress.answers), error=_said(exc))


def _said(exc: BaseException) -> str:
    if isinstance(exc, _Failed):
        return str(exc)  # already says which step and what went wrong
    return traceback.format_exception_only(exc)[-1].strip()


def _check_sources(run: Run) -> None:
    """The Sources tab's services must carry every message the figure above counts: an answer
    that is fast but wrong is an error."""
    tables = run.dataframes(run.tab("Sources"))
    if not tables:
        raise _Failed("the Sources tab has no table")
    shown = f"{int(tables[0].column('messages').to_pandas().sum()):,}"
    if shown != run.metric("Messages"):
        raise _Failed(f"Sources add up to {shown}, the page says {run.metric('Messages')}")


async def _clear_caches(url: str) -> None:
    async with StreamlitClient(url, PAGE_PATH, timeout=RUN_TIMEOUT) as client:
        await client.clear_caches()


async def _warm_up(url: str) -> None:
    """One untimed visit: the server imports the page's modules once, as a running server has."""
    async with StreamlitClient(url, PAGE_PATH, timeout=RUN_TIMEOUT) as client:
        await client.open()
        await client.clear_caches()


async def run_sessions(
    count: int, url: str, budget: float, on_cut: Callable[[], None] | None = None
) -> tuple[list[Session], float]:
    """`count` sessions on the server at `url`, started together; their results and the wall
    time from the start to the last answer. Sessions still running after `budget` seconds are
    stopped and count as failed (`on_cut` is called first, while they still run)."""
    clients = [StreamlitClient(url, PAGE_PATH, timeout=RUN_TIMEOUT) for _ in range(count)]
    progress = [Progress() for _ in range(count)]
    try:
        # Connected first (a WebSocket each), then all ask at once.
        connected = await asyncio.gather(*(c.connect() for c in clients), return_exceptions=True)
        sessions = [
            Session(n, (), error=f"could not connect: {_said(outcome)}")
            for n, outcome in enumerate(connected)
            if isinstance(outcome, BaseException)
        ]
        started = time.perf_counter()
        tasks = {
            asyncio.create_task(run_session(n, client, progress[n])): n
            for n, client in enumerate(clients)
            if not isinstance(connected[n], BaseException)
        }
        done, pending = await asyncio.wait(tasks, timeout=budget) if tasks else (set(), set())
        now = time.perf_counter()
        wall = now - started
        sessions += [task.result() for task in done]
        if pending and on_cut is not None:
            on_cut()
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        cut = f"no answer to the next step within the {budget:.0f} s budget"
        sessions += [
            Session(n, tuple(progress[n].answers), error=cut + progress[n].waiting(now))
            for n in (tasks[t] for t in pending)
        ]
    finally:
        await asyncio.gather(*(c.close() for c in clients), return_exceptions=True)
    return sorted(sessions, key=lambda s: s.number), wall


async def run_alone(url: str) -> Session:
    """One session with the server to itself."""
    async with StreamlitClient(url, PAGE_PATH, timeout=RUN_TIMEOUT) as client:
        return await run_session(0, client, Progress())


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the bench measured: whether the single session met the target, and the burst."""

    alone_ok: bool
    sessions: list[Session]
    wall: float
    server_cpu: float | None  # seconds of CPU the server used during the burst


async def _bench(server: StreamlitServer, sessions: int, budget: float, warm: bool) -> Outcome:
    """The warm-up visit, one session alone (its figures printed at once), then the burst."""
    await _warm_up(server.url)
    alone = await run_alone(server.url)
    alone_ok = report_alone(alone)
    if alone.error is not None and "no end of the script run" in alone.error:
        _save_stacks(server)
    if not warm:
        await _clear_caches(server.url)
    before = server.cpu_seconds()
    burst, wall = await run_sessions(sessions, server.url, budget, lambda: _save_stacks(server))
    after = server.cpu_seconds()
    cpu = after - before if after is not None and before is not None else None
    return Outcome(alone_ok, burst, wall, cpu)


def _save_stacks(server: StreamlitServer) -> None:
    """Keep what the server's threads were doing when sessions waited too long, next to its log."""
    stacks = server.stacks()
    if stacks is not None and server.log is not None:
        path = server.log.with_name("server-stacks.txt")
        path.write_text(stacks)
        print(f"  (the server's threads at that moment: {path})", flush=True)


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def report_alone(session: Session) -> bool:
    """Print one session's figures; True when it went through within the target."""
    print("one session alone:")
    for answer in session.answers:
        print(f"  {answer.step:<18} {answer.seconds:6.2f}s", flush=True)
    if session.error is not None:
        print(f"  error: {session.error}")
    if session.explain_gave_up:
        print("  it saw 'explaining did not finish' (DESK_CHECK_TIMEOUT)")
    sys.stdout.flush()
    return session.error is None and all(a.seconds < TARGET_SECONDS for a in session.answers)


def report(
    sessions: list[Session],
    wall: float,
    peak_mb: float | None = None,
    server_cpu: float | None = None,
) -> bool:
    """Print the burst's figures; True when every session went through and every answer met the
    target."""
    errors = [s for s in sessions if s.error is not None]
    times = [a.seconds for s in sessions for a in s.answers]
    print(f"sessions: {len(sessions)}, errors: {len(errors)}")
    for s in errors:
        print(f"  session {s.number}: {s.error}")
    gave_up = sum(s.explain_gave_up for s in sessions)
    if gave_up:
        print(f"  {gave_up} session(s) saw 'explaining did not finish' (DESK_CHECK_TIMEOUT)")
    if not times:
        print("target met: NO")
        return False
    print(f"page answers: {len(times)} (target: each under {TARGET_SECONDS:.0f} s)")
    print(f"  {'':<18} {'p50':>7} {'p95':>7} {'max':>7}")
    for step in (*STEPS, "all"):
        these = [a.seconds for s in sessions for a in s.answers if step in ("all", a.step)]
        if these:
            figures = (statistics.median(these), _percentile(these, 0.95), max(these))
            print(f"  {step:<18} " + " ".join(f"{f:6.2f}s" for f in figures))
    over = sum(t >= TARGET_SECONDS for t in times)
    print(f"  over the target: {over} of {len(times)}")
    print(f"wall time: {wall:.1f} s")
    if server_cpu is not None:
        # One process: its script threads share one interpreter lock, so about one core's worth.
        print(f"server CPU time in the burst: {server_cpu:.1f} s ({server_cpu / wall:.2f} cores)")
    if peak_mb is not None:
        print(f"peak memory of the server process: {peak_mb:,.0f} MB")
    ok = not errors and over == 0
    print(f"target met: {'yes' if ok else 'NO'}")
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument(
        "--budget", type=float, default=BUDGET_SECONDS, help="stop sessions after this many seconds"
    )
    parser.add_argument(
        "--warm", action="store_true", help="keep the single session's caches for the burst"
    )
    parser.add_argument(
        "--option",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a Streamlit config option for the server, e.g. runner.postScriptGC=false",
    )
    args = parser.parse_args(argv)
    options = {"client.showErrorDetails": "full"}
    for option in args.option:
        name, equals, value = option.partition("=")
        if not equals or not name:
            parser.error(f"--option {option!r}: expected NAME=VALUE")
        options[name] = value

    need, free = needed_mb(args.sessions, args.rows), available_mb()
    if free is not None and need > MEMORY_SHARE * free:
        # Refused rather than run into the out-of-memory killer on a machine others use too.
        print(
            f"not started: {args.sessions} sessions over {args.rows:,} records need about "
            f"{need:,.0f} MB at their peak, and only {MEMORY_SHARE:.0%} of the {free:,.0f} MB "
            "available may be used. Fewer --sessions or --rows."
        )
        return 2
    store = args.out / f"{explain_bench.DOMAIN}-{args.rows}-{args.seed}.sqlite"
    filled = prepare_store(store, args.rows, args.seed)
    how = "reused" if filled is None else f"filled in {filled:.1f} s"
    print(f"store: {store} ({args.rows:,} records, {how})")
    print(
        "a session = one WebSocket client of one `streamlit run app.py` server: open "
        f"/{PAGE_PATH}, pick the domain, pick the last 30 days, read the Sources tab "
        f"({'warm' if args.warm else 'cold'} caches at the start of the burst)"
    )
    if args.option:
        print(f"server options: {', '.join(args.option)}")
    log = args.out / "server.log"
    log.unlink(missing_ok=True)
    with (
        LoopbackNameserver(explain_bench.ZONE) as nameserver,
        StreamlitServer(
            APP,
            bench_environment(store, args.out / "data", nameserver.address),
            options=options,
            cwd=PROJECT_ROOT,
            log=log,
        ) as server,
    ):
        try:
            outcome = asyncio.run(_bench(server, args.sessions, args.budget, args.warm))
        except (ProtocolError, OSError) as exc:
            print(f"the bench could not run: {exc}\nthe server said:\n{server.log_tail()}")
            return 1
        peak = server.peak_rss_mb()
    ok = report(outcome.sessions, outcome.wall, peak, outcome.server_cpu)
    return 0 if ok and outcome.alone_ok else 1


if __name__ == "__main__":
    sys.exit(main())
