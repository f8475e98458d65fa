"""The support queue and alerts on the command line (issue 16), added to `python -m admin`:

    python -m admin queue [--json] [--plan P] [--kind K] [--provider KEY] [--all] [--limit N]
    python -m admin queue refresh [--all]       (the stale and never-refreshed rows; --all: every one)
    python -m admin alerts run [--json] [--no-refresh]      (fit for cron or a systemd timer)
    python -m admin alerts history [--json] [--active]

`queue` reads the stored table (admin.queue): it answers at once however many accounts there are.
`queue refresh` diagnoses the accounts whose row is stale (after a test, an import, a change) or
missing, with the app's DNS settings and report store. `alerts run` refreshes those rows first,
then opens and resolves alerts and sends what is due (admin.alerts). Plain lines on stdout, codes
only with --json; progress on stderr (tqdm, when it is a terminal).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from tqdm import tqdm

from admin.alerts import AlertRecord
from admin.queue import QueueEntry
from admin.queue_refresh import mark_new_reports, refresh_accounts
from admin.store import Store
from admin.troubles import TroubleKind
from diagnostics.config import DeskConfig
from diagnostics.dmarc import ReportStore

EXIT_OK = 0
# What one alert run diagnoses first at most: each may wait on DNS up to DESK_CHECK_TIMEOUT.
REFRESH_LIMIT = 500


def add_commands(commands: Any, parser_class: type[argparse.ArgumentParser]) -> None:
    queue = commands.add_parser(
        "queue",
        help="accounts that need attention, the worst first (refresh: diagnose the changed ones)",
    )
    queue.add_argument("--json", action="store_true", help="print JSON (codes, not labels)")
    queue.add_argument("--plan", help="only this plan (nano, starter, pro, agency)")
    queue.add_argument(
        "--kind", choices=[k.value for k in TroubleKind], help="only this kind of trouble"
    )
    queue.add_argument("--provider", help="only accounts sending through this provider (its key)")
    queue.add_argument(
        "--all", action="store_true", help="every account, those with no trouble too"
    )
    queue.add_argument("--limit", type=int, help="at most this many accounts")
    queue.set_defaults(handler=_queue)
    queue_actions = queue.add_subparsers(
        dest="action", metavar="[refresh]", parser_class=parser_class
    )
    refresh = queue_actions.add_parser("refresh", help="diagnose the changed accounts again")
    refresh.add_argument("--all", action="store_true", help="every account, not only changed ones")
    refresh.set_defaults(handler=_refresh)

    alerts = commands.add_parser("alerts", help="send the alerts that are due; their history")
    actions = alerts.add_subparsers(dest="action", metavar="ACTION", parser_class=parser_class)
    run = actions.add_parser("run", help="refresh changed accounts, open and resolve alerts, send")
    run.add_argument("--json", action="store_true", help="print what the run did as JSON")
    run.add_argument(
        "--no-refresh", action="store_true", help="use the queue as stored (no DNS, no diagnosis)"
    )
    run.add_argument(
        "--refresh-limit",
        type=int,
        default=REFRESH_LIMIT,
        metavar="N",
        help=f"diagnose at most N changed accounts first; the rest at the next run "
        f"(default {REFRESH_LIMIT}: a run stays short even with DNS slow)",
    )
    run.set_defaults(handler=_alerts_run)
    history = actions.add_parser("history", help="alerts, active first, with their notices")
    history.add_argument("--json", action="store_true", help="print JSON")
    history.add_argument("--active", action="store_true", help="only active alerts")
    history.set_defaults(handler=_alerts_history)


def _queue(store: Store, args: argparse.Namespace) -> int:
    entries = store.queue.entries(
        plan=args.plan,
        kind=args.kind,
        provider=args.provider,
        everyone=args.all,
        limit=args.limit,
    )
    if args.json:
        print(json.dumps([e.to_dict() for e in entries], indent=2))
        return EXIT_OK
    counts = store.queue.counts()
    if counts["stale"] or counts["missing"]:
        print(
            f"{counts['stale'] + counts['missing']} accounts changed since their last check: "
            "run `python -m admin queue refresh`.",
            file=sys.stderr,
        )
    if not entries:
        print("No account needs attention.")
    for n, entry in enumerate(entries, start=1):
        print(_entry_line(n, entry))
    return EXIT_OK


def _entry_line(n: int, entry: QueueEntry) -> str:
    kinds = ", ".join(k.label for k in entry.kinds) or "nothing"
    provider = f" · {entry.provider_name}" if entry.provider else ""
    return (
        f"{n:>4}. {entry.account_name} ({entry.plan.display_name}{provider}): {kinds}\n"
        f"      {entry.line}"
    )


def _refresh(store: Store, args: argparse.Namespace) -> int:
    _mark_new_reports(store, args.config)
    ids = [a.id for a in store.list_accounts()] if args.all else store.queue.to_refresh()
    done = _refresh_ids(store, args.config, ids)
    print(f"Refreshed {len(done)} of {len(ids)} accounts; {_needing(done)} need attention.")
    return EXIT_OK


def _refresh_ids(store: Store, config: DeskConfig, ids: list[int]) -> list[QueueEntry]:
    if not ids:
        return []
    reports = ReportStore.from_config(config)
    try:
        with tqdm(total=len(ids), unit="account", file=sys.stderr, disable=None) as bar:
            return refresh_accounts(
                store,
                ids,
                report_store=reports,
                resolver=config.dns.resolver(),
                config=config,
                progress=lambda done, total: bar.update(1),
            )
    finally:
        reports.close()


def _mark_new_reports(store: Store, config: DeskConfig) -> None:
    reports = ReportStore.from_config(config)
    try:
        mark_new_reports(store, reports)
    finally:
        reports.close()


def _needing(entries: list[QueueEntry]) -> int:
    return sum(1 for e in entries if e.score > 0)


def _alerts_run(store: Store, args: argparse.Namespace) -> int:
    config: DeskConfig = args.config
    refreshed = 0
    if not args.no_refresh:
        _mark_new_reports(store, config)
        ids = store.queue.to_refresh(limit=max(0, args.refresh_limit))
        refreshed = len(_refresh_ids(store, config, ids))
    cafile = str(config.smtp.cafile) if config.smtp.cafile else None
    result = store.alerts.run(timeout=config.smtp.timeout, cafile=cafile)
    if args.json:
        print(json.dumps({"refreshed": refreshed, **result.to_dict()}, indent=2))
        return EXIT_OK
    if refreshed:
        print(f"Refreshed {refreshed} changed accounts.")
    print(f"Alerts: {result.summary()}")
    for error in result.errors:
        print(f"  not sent: {error}")
    return EXIT_OK


def _alerts_history(store: Store, args: argparse.Namespace) -> int:
    records = store.alerts.history(active=True if args.active else None)
    if args.json:
        print(json.dumps([r.to_dict() for r in records], indent=2))
        return EXIT_OK
    if not records:
        print("No alerts yet.")
    for record in records:
        print(_record_line(record))
    return EXIT_OK


def _record_line(record: AlertRecord) -> str:
    state = (
        "active"
        if record.active
        else f"resolved {record.resolved_at:%Y-%m-%d %H:%M}"
        if record.resolved_at
        else "resolved"
    )
    notices = ", ".join(
        f"{d.channel} {d.event} {d.status}"
        + (f" after {d.attempts} tries" if d.status == "failed" else "")
        for d in record.deliveries
    )
    return (
        f"{record.account_name}: {record.kind.label} ({state}; first seen "
        f"{record.first_seen:%Y-%m-%d %H:%M}, last seen {record.last_seen:%Y-%m-%d %H:%M} UTC)\n"
        f"    {record.line}" + (f"\n    notices: {notices}" if notices else "")
    )
