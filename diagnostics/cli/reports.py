"""`python -m diagnostics reports`: import DMARC reports into the store, and summarise a domain.

    python -m diagnostics reports import PATH... [--database URL]
    python -m diagnostics reports summary --domain D [--since DATE] [--database URL] [--json]
    python -m diagnostics reports watch|receive|rua ...   (reports that arrive by themselves:
                                                          diagnostics.cli.intake)

import: one line per file (imported, already stored, or rejected with the reason), then the totals.
Exit 0 when every file was imported or already stored, 1 when any was rejected, 2 on a usage error or
when the database cannot be opened.
summary: messages, DMARC pass rate by day and the top sources. Exit 0 when all mail passed DMARC, 1
when some failed, 2 when the store holds no report for the domain.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import pandas as pd

from diagnostics.cli import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE
from diagnostics.cli.common import report_store
from diagnostics.cli.intake import add_intake_actions
from diagnostics.config import DeskConfig
from diagnostics.dmarc.store import FileResult, period_bound

TOP_SOURCES = 10


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "reports",
        help="import DMARC reports into the store, summarise a domain, take reports by mail",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION")

    importing = actions.add_parser("import", help="import report files, folders or globs")
    importing.add_argument("paths", nargs="+", metavar="PATH")
    _add_database(importing)
    importing.set_defaults(handler=run_import)

    summary = actions.add_parser("summary", help="volume, DMARC pass rate and sources of a domain")
    summary.add_argument("--domain", required=True, help="the policy domain, e.g. example.com")
    summary.add_argument("--since", metavar="DATE", help="first day to include (YYYY-MM-DD)")
    _add_database(summary)
    summary.add_argument("--json", action="store_true", help="print one JSON document")
    summary.set_defaults(handler=run_summary)
    add_intake_actions(actions, _add_database)
    parser.set_defaults(handler=lambda _args, _config: _usage(parser))


def _add_database(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--database",
        metavar="URL",
        help="SQLAlchemy URL of the store (default: DATABASE_URL, else data/desk.sqlite)",
    )


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return EXIT_USAGE


def run_import(args: argparse.Namespace, config: DeskConfig) -> int:
    from tqdm import tqdm

    store = report_store(args.database, config)
    bar: Any = None

    def progress(done: int, total: int, _name: str) -> None:
        nonlocal bar
        if bar is None:
            # disable=None: no bar when stderr is not a terminal (logs, pipes, tests).
            bar = tqdm(total=total, unit="file", file=sys.stderr, disable=None)
        bar.update(1)

    def show(result: FileResult) -> None:
        tqdm.write(result.line, file=sys.stdout)

    try:
        summary = store.import_paths(args.paths, progress=progress, on_result=show)
    finally:
        if bar is not None:
            bar.close()
        store.close()
    print(summary.totals)
    return EXIT_OK if summary.ok else EXIT_FINDINGS


def run_summary(args: argparse.Namespace, config: DeskConfig) -> int:
    since = args.since
    if since is not None:
        period_bound(since)  # a malformed date is a usage error before the database is opened
    store = report_store(args.database, config)
    try:
        days = store.volume_by_day(args.domain, start=since)
        sources = store.by_source(args.domain, start=since).head(TOP_SOURCES)
    finally:
        store.close()
    if days.empty:
        print(f"error: the store holds no report for {args.domain}", file=sys.stderr)
        return EXIT_USAGE
    messages = int(days["messages"].sum())
    passed = int(days["dmarc_pass"].sum())
    if args.json:
        document = {
            "domain": args.domain,
            "since": since,
            "messages": messages,
            "dmarc_pass": passed,
            "dmarc_pass_pct": round(passed * 100 / messages, 2) if messages else 0.0,
            "days": _jsonable(days),
            "top_sources": _jsonable(sources),
        }
        print(json.dumps(document, indent=2))
    else:
        _print_summary(args.domain, days, sources, messages, passed)
    return EXIT_OK if passed == messages else EXIT_FINDINGS


def _print_summary(
    domain: str, days: pd.DataFrame, sources: pd.DataFrame, messages: int, passed: int
) -> None:
    share = passed * 100 / messages if messages else 0.0
    dates = days["day"].dt.strftime("%Y-%m-%d")
    first, last = dates.iloc[0], dates.iloc[-1]
    print(f"{domain}: {messages:,} messages from {first} to {last}, {share:.1f}% passed DMARC")
    print("\nday          messages   passed")
    for date, row in zip(dates, days.itertuples(), strict=True):
        print(f"{date}  {row.messages:>9,}   {row.dmarc_pass_pct:5.1f}%")
    print("\ntop sources  (messages, SPF aligned, DKIM aligned, service)")
    for row in sources.itertuples():
        service = row.service_name if isinstance(row.service_name, str) else "-"
        print(
            f"{row.source_ip:<39} {row.messages:>9,}  {row.spf_aligned_pct:5.1f}%  "
            f"{row.dkim_aligned_pct:5.1f}%  {service}"
        )


def _jsonable(frame: pd.DataFrame) -> list[dict[str, Any]]:
    out = frame.copy()
    for name in out.columns:
        if isinstance(out[name].dtype, pd.DatetimeTZDtype):
            out[name] = out[name].dt.strftime("%Y-%m-%d")
    rows: list[dict[str, Any]] = json.loads(out.to_json(orient="records"))
    return rows
