"""The support queue and alerts at platform size (issue 16), SQLite and PostgreSQL side by side.

Builds a desk of `--accounts` accounts (10,000), each with a saved connection and a test, and
`--records` DMARC records (10,000,000 in the issue; 1,000,000 by default here: say which you ran)
over one domain per account in `--days` days (90), one report per domain every third day, written
straight into the tables (an import's rollup built as an import builds it). The queue table is
filled the way refreshes leave it (a mix of troubles), then measured:

- the Needs attention page: the page itself run through Streamlit's AppTest on the database
  (target < 2 s), and the store reads behind it;
- the queue CLI (`python -m admin queue --json`, in-process, output discarded);
- one account's refresh after an import or a test: its diagnosis (admin.diagnosis) against a
  loopback nameserver, its domain's trend, its row written (median of several; target < 1 s);
- the alert run: the first (every alert opens, one notice each to a loopback webhook) and a
  steady one (nothing new) (target < 60 s);
- data volumes (rows, database size) and this process's peak memory (ru_maxrss), which stays far
  below what holding the records would take: nothing here reads all the records.

    python -m bench.queue_bench [--accounts 10000] [--records 1000000] [--days 90]
                                [--backends sqlite,postgresql] [--postgres URL]

PostgreSQL: a fresh schema of TEST_POSTGRES_URL's database (default postgres@127.0.0.1:5432/test),
dropped afterwards. The machine the figures come from is said with them (cores, load).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import random
import resource
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, func, insert, make_url, select, text
from sqlalchemy.engine import URL, Engine

from admin import Store
from admin.cli import main as admin_cli
from admin.models import AccountRow, ConnectionRow, ProbeRow, QueueRow
from admin.queue_refresh import refresh_account
from admin.secrets import generate_key
from admin.troubles import Trouble, TroubleKind, one_line, score
from diagnostics.config import AuthConfig, AuthMode, DatabaseConfig, DeskConfig
from diagnostics.dmarc import ReportStore
from diagnostics.dmarc.store import _rollup as rollup
from diagnostics.dmarc.store import _tables as tables
from diagnostics.secret import Secret
from tests.support.nameserver import LoopbackNameserver
from tests.support.webhook import WebhookReceiver

POSTGRES_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test"
)
PAGE_TARGET_S, ALERTS_TARGET_S, REFRESH_TARGET_S = 2.0, 60.0, 1.0
NOW = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
DAY = 86_400
_BATCH = 20_000
HOSTS = (
    ("smtp.sendgrid.net", 587, "apikey", "sendgrid"),
    ("email-smtp.us-east-1.amazonaws.com", 587, "AKIAIOSFODNN7EXAMPLE", "ses"),
    ("smtp.mailgun.org", 587, "postmaster@mg.example", "mailgun"),
    ("smtp.postmarkapp.com", 587, "00000000-0000-4000-8000-000000000001", "postmark"),
)
PLANS = ("nano", "starter", "pro", "agency")


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _timed(run: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = run()
    return time.perf_counter() - started, result


@contextlib.contextmanager
def _database(backend: str, folder: Path, postgres: str) -> Iterator[URL]:
    if backend == "sqlite":
        yield URL.create("sqlite", database=str(folder / "queue-bench.sqlite"))
        return
    schema = f"queue_bench_{uuid.uuid4().hex[:10]}"
    owner = create_engine(postgres)
    with owner.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield make_url(postgres).update_query_dict({"options": f"-csearch_path={schema}"})
    finally:
        with owner.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        owner.dispose()


# -- filling the desk --------------------------------------------------------------------------


def _fill_admin(store: Store, engine: Engine, accounts: int, rng: random.Random) -> None:
    """Accounts, one connection each (the password encrypted once, the token shared: the bench
    reads no password), one test each; 5% of Nano accounts paused (no connection active)."""
    token = store._box.encrypt("bench-password-not-a-secret")
    now = NOW
    with engine.begin() as connection:
        for start in range(1, accounts + 1, _BATCH):
            ids = range(start, min(start + _BATCH, accounts + 1))
            account_rows, connection_rows, probe_rows = [], [], []
            for i in ids:
                plan = PLANS[i % len(PLANS)]
                host, port, user, _ = HOSTS[i % len(HOSTS)]
                if host == "smtp.sendgrid.net" and rng.random() < 0.05:
                    user = f"account-{i}"  # the SendGrid mistake the lint finds
                paused = plan == "nano" and rng.random() < 0.05
                account_rows.append(
                    {
                        "id": i,
                        "name": f"Account {i:05d}",
                        "plan": plan,
                        "active_connection_id": None if paused else i,
                        "route_cause": "last_connection_deleted" if paused else "new_account",
                        "route_detail": None,
                        "created_at": now,
                        "updated_at": now,
                    }
                )
                connection_rows.append(
                    {
                        "id": i,
                        "account_id": i,
                        "label": host,
                        "host": host,
                        "port": port,
                        "security": "starttls",
                        "username": user,
                        "from_address": f"mail@acct{i:05d}.example",
                        "password_encrypted": token,
                        "password_hint": "set",
                        "created_at": now,
                        "updated_at": now,
                    }
                )
                ok = rng.random() > 0.04
                probe_rows.append(
                    {
                        "account_id": i,
                        "connection_id": i,
                        "connection_label": host,
                        "at": now - timedelta(hours=rng.randrange(1, 200)),
                        "actor": "bench",
                        "outcome": "ok" if ok else "auth_failed",
                        "ok": ok,
                        "stage": "auth",
                        "duration": 0.4,
                        "transcript": "",
                        "result": {"ok": ok},
                    }
                )
            connection.execute(insert(AccountRow), account_rows)
            connection.execute(insert(ConnectionRow), connection_rows)
            connection.execute(insert(ProbeRow), probe_rows)
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            for table in ("accounts", "connections"):
                connection.execute(
                    text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), {accounts})")
                )


def _fill_reports(reports: ReportStore, accounts: int, records: int, days: int, seed: int) -> int:
    """One report per domain every third day, its records spread over a few senders each: the
    domain's own provider passing, a platform address, now and then a stranger failing."""
    rng = random.Random(seed)
    every = 3
    starts = [
        int((NOW - timedelta(days=d)).timestamp()) // DAY * DAY for d in range(1, days, every)
    ]
    per_report = max(1, records // (accounts * len(starts)))
    written = 0
    with reports.engine.begin() as connection:
        report_rows: list[dict[str, Any]] = []
        record_rows: list[dict[str, Any]] = []
        next_pk = 1
        for i in range(1, accounts + 1):
            domain = f"acct{i:05d}.example"
            falling = i % 50 == 0  # 2% of the domains: this week's mail failing
            for begin in starts:
                report_rows.append(
                    {
                        "id": next_pk,
                        "org_name": "receiver.example",
                        "report_id": f"{i}-{begin}",
                        "policy_domain": domain,
                        "begin_ts": begin,
                        "end_ts": begin + DAY - 1,
                        "policy_p": "none",
                        "record_count": per_report,
                        "message_count": per_report * 10,
                        "imported_at": 0,
                    }
                )
                recent = begin >= int((NOW - timedelta(days=7)).timestamp())
                for n in range(per_report):
                    fails = (falling and recent) or rng.random() < 0.03
                    record_rows.append(
                        {
                            "report_pk": next_pk,
                            "policy_domain": domain,
                            "begin_ts": begin,
                            "source_ip": f"10.{i >> 8 & 255}.{i & 255}.{n % 6}",
                            "count": 10,
                            "disposition": "none",
                            "dkim_aligned": "fail" if fails else "pass",
                            "spf_aligned": "fail",
                            "header_from": domain,
                        }
                    )
                next_pk += 1
                if len(record_rows) >= _BATCH:
                    connection.execute(insert(tables.reports), report_rows)
                    connection.execute(insert(tables.records), record_rows)
                    written += len(record_rows)
                    report_rows, record_rows = [], []
        if report_rows:
            connection.execute(insert(tables.reports), report_rows)
        if record_rows:
            connection.execute(insert(tables.records), record_rows)
            written += len(record_rows)
        rollup.rebuild(connection)
        rollup.bump(connection)
    return written


def _fill_queue(engine: Engine, accounts: int, rng: random.Random) -> None:
    """The queue as refreshes leave it: about a third of the accounts with one to three troubles."""
    kinds = list(TroubleKind)
    with engine.begin() as connection:
        for start in range(1, accounts + 1, _BATCH):
            rows = []
            for i in range(start, min(start + _BATCH, accounts + 1)):
                found = []
                if rng.random() < 0.33:
                    for kind in rng.sample(kinds, rng.randrange(1, 4)):
                        found.append(Trouble(kind, f"{kind.label} at acct{i:05d}.example.", 10))
                found.sort(key=lambda t: -t.kind.weight)
                host = HOSTS[i % len(HOSTS)]
                rows.append(
                    {
                        "account_id": i,
                        "account_name": f"Account {i:05d}",
                        "plan": PLANS[i % len(PLANS)],
                        "provider": host[3],
                        "domain": f"acct{i:05d}.example",
                        "score": score(found),
                        "messages": sum(t.messages for t in found),
                        "kinds": [t.kind.value for t in found],
                        "line": one_line(found),
                        "troubles": [t.to_dict() for t in found],
                        "stale": False,
                        "refreshed_at": NOW,
                    }
                )
            connection.execute(insert(QueueRow), rows)


# -- measuring ---------------------------------------------------------------------------------


def _page_seconds(config: DeskConfig, at_least: int) -> float:
    """The Needs attention page, run whole by Streamlit's AppTest on this database; its table
    must hold at least `at_least` rows (else it drew something else: a sign-in form, an error)."""
    from streamlit.testing.v1 import AppTest

    from desk.configuration import use_config

    page = Path(__file__).resolve().parents[1] / "pages" / "needs_attention.py"
    with use_config(config):
        AppTest.from_file(str(page), default_timeout=120).run()  # the store opened once
        at = AppTest.from_file(str(page), default_timeout=120)
        seconds, _ = _timed(at.run)
        if at.exception:
            raise RuntimeError(at.exception[0].value)
        if not at.dataframe or len(at.dataframe[0].value) < at_least:
            raise RuntimeError("the page did not draw the queue")
    return seconds


def _volumes(engine: Engine) -> dict[str, int]:
    names = ("accounts", "connections", "probes", "support_queue", "alerts", "alert_deliveries")
    names += ("dmarc_reports", "dmarc_records", "dmarc_rollup")
    found = {}
    with engine.connect() as connection:
        for name in names:
            found[name] = int(connection.scalar(text(f"SELECT count(*) FROM {name}")) or 0)
    return found


def _size_mb(engine: Engine, url: URL) -> float:
    if engine.dialect.name == "sqlite":
        return Path(str(url.database)).stat().st_size / 1e6
    with engine.connect() as connection:
        schema = connection.scalar(text("SELECT current_schema()"))
        size = connection.scalar(
            text(
                "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c JOIN pg_namespace n "
                "ON n.oid = c.relnamespace WHERE n.nspname = :s AND c.relkind = 'r'"
            ),
            {"s": schema},
        )
    return float(size or 0) / 1e6


def run_backend(backend: str, args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    rng = random.Random(args.seed)
    figures: dict[str, Any] = {"backend": backend}
    with _database(backend, folder, args.postgres) as url:
        config = DeskConfig(
            database=DatabaseConfig(url.render_as_string(hide_password=False), folder / "data"),
            secret_key=Secret(generate_key()),
            # The page without sign-in, as on a loopback desk: what is timed is the page itself.
            auth=AuthConfig(mode=AuthMode.NONE),
        )
        store = Store.from_config(config)
        engine = store._tx.engine
        seconds, _ = _timed(lambda: _fill_admin(store, engine, args.accounts, rng))
        reports = ReportStore(url)
        fill_s, written = _timed(
            lambda: _fill_reports(reports, args.accounts, args.records, args.days, args.seed)
        )
        _fill_queue(engine, args.accounts, rng)
        figures["fill_s"] = round(seconds + fill_s, 1)
        figures["records"] = written
        print(f"[{backend}] filled in {figures['fill_s']} s ({written:,} records)", flush=True)

        # The page and its reads.
        figures["page_s"] = _page_seconds(config, store.queue.counts()["attention"])
        figures["store_reads_s"], entries = _timed(
            lambda: (store.queue.entries(), store.queue.counts(), store.queue.facets())
        )
        figures["queue_rows"] = len(entries[0])
        figures["filtered_s"], _ = _timed(
            lambda: store.queue.entries(plan="nano", kind="connection_failing")
        )

        # The CLI, in-process, its output discarded.
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            figures["cli_s"], _ = _timed(
                lambda: admin_cli(["queue", "--json"], store=store, config=config)
            )

        # One account's refresh, real diagnosis, loopback DNS that knows the platform only.
        server = LoopbackNameserver(
            {"spf.trekmail.net": {"TXT": ["v=spf1 ip4:198.51.100.0/24 -all"]}}
        )
        server.start()
        try:
            samples = []
            for i in rng.sample(range(1, args.accounts + 1), args.refresh_samples):
                seconds, _ = _timed(
                    lambda i=i: refresh_account(
                        store, i, report_store=reports, resolver=server.resolver(), now=NOW
                    )
                )
                samples.append(seconds)
        finally:
            server.stop()
        figures["refresh_median_s"] = statistics.median(samples)
        figures["refresh_max_s"] = max(samples)

        # The alert run: a webhook on loopback.
        receiver = WebhookReceiver().start()
        try:
            store.alerts.save_webhook_channel(receiver.url, hmac_secret="bench")
            figures["alerts_first_s"], first = _timed(lambda: store.alerts.run(now=NOW))
            figures["alerts_opened"] = first.opened
            figures["notices_sent"] = first.sent
            figures["alerts_steady_s"], _ = _timed(
                lambda: store.alerts.run(now=NOW + timedelta(minutes=5))
            )
        finally:
            receiver.stop()
        figures["volumes"] = _volumes(engine)
        figures["size_mb"] = round(_size_mb(engine, url), 1)
        figures["peak_mb"] = round(_peak_mb(), 0)
        with engine.connect() as connection:
            figures["records_counted"] = connection.scalar(
                select(func.count()).select_from(tables.records)
            )
        reports.close()
        store.close()
    return figures


def _report(results: list[dict[str, Any]], args: argparse.Namespace) -> None:
    load = os.getloadavg()
    print(
        f"\nqueue bench: {args.accounts:,} accounts, {args.records:,} records asked over "
        f"{args.days} days; {os.cpu_count()} cores, load {load[0]:.1f} (a shared machine)"
    )
    rows = [
        ("records written", "records", "{:,}"),
        ("Needs attention page (AppTest run)", "page_s", "{:.2f} s"),
        ("  store reads behind it", "store_reads_s", "{:.2f} s"),
        ("  filtered (plan + kind)", "filtered_s", "{:.2f} s"),
        ("queue CLI --json", "cli_s", "{:.2f} s"),
        ("one account's refresh, median", "refresh_median_s", "{:.2f} s"),
        ("one account's refresh, slowest", "refresh_max_s", "{:.2f} s"),
        ("alert run, first (all open)", "alerts_first_s", "{:.2f} s"),
        ("  alerts opened / notices sent", "alerts_opened", "{:,}"),
        ("alert run, steady", "alerts_steady_s", "{:.2f} s"),
        ("database size", "size_mb", "{:,.0f} MB"),
        ("peak memory (this process)", "peak_mb", "{:,.0f} MB"),
        ("fill time", "fill_s", "{:,.0f} s"),
    ]
    header = f"{'':<38}" + "".join(f"{r['backend']:>16}" for r in results)
    print(header)
    for label, key, form in rows:
        print(f"{label:<38}" + "".join(f"{form.format(r[key]):>16}" for r in results))
    for r in results:
        print(f"[{r['backend']}] rows: " + ", ".join(f"{k} {v:,}" for k, v in r["volumes"].items()))
    print(
        f"targets: page < {PAGE_TARGET_S:.0f} s, alert run < {ALERTS_TARGET_S:.0f} s, one "
        f"refresh < {REFRESH_TARGET_S:.0f} s"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--postgres", default=POSTGRES_URL)
    parser.add_argument("--refresh-samples", type=int, default=7)
    parser.add_argument("--seed", type=int, default=16)
    args = parser.parse_args(argv)
    results = []
    with tempfile.TemporaryDirectory(prefix="queue-bench-") as folder:
        for backend in args.backends.split(","):
            results.append(run_backend(backend.strip(), args, Path(folder)))
    _report(results, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
