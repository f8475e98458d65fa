"""`python -m diagnostics headers FILE`: explain a received message's SPF, DKIM and DMARC results.

FILE holds the message's headers (or the whole message); `-` reads them from standard input. Exit 0
when DMARC passed with nothing to warn about, 1 when something failed or did not align, 2 when the
file cannot be read or does not hold e-mail headers.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from diagnostics.cli import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE
from diagnostics.config import DeskConfig
from diagnostics.findings import Severity
from diagnostics.headers import HeaderReport, analyze
from diagnostics.wording import plural

# A header block is a few kilobytes; a whole message with attachments a few megabytes at most.
_MAX_BYTES = 10_000_000


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "headers",
        help="explain SPF, DKIM and DMARC from a received message's headers",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("file", help="a file with the headers, or - for standard input")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.set_defaults(handler=run)


def _read(name: str) -> str | None:
    try:
        if name == "-":
            return sys.stdin.read(_MAX_BYTES)
        with Path(name).open("rb") as handle:
            return handle.read(_MAX_BYTES).decode("utf-8", errors="replace")
    except OSError as exc:
        print(f"error: cannot read {name}: {exc.strerror or exc}", file=sys.stderr)
        return None


def run(args: argparse.Namespace, config: DeskConfig) -> int:
    text = _read(args.file)
    if text is None:
        return EXIT_USAGE
    report = analyze(text)
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        _print(report)
    if not report.readable:
        if not args.json:
            print(f"error: {report.message}", file=sys.stderr)
        return EXIT_USAGE
    problems = any(f.severity is not Severity.INFO for f in report.findings)
    return EXIT_FINDINGS if problems else EXIT_OK


def _print(report: HeaderReport) -> None:
    if not report.readable:
        return
    print(report.message)
    print(f"  From domain: {report.from_domain or '(none)'}")
    print(f"  Envelope (Return-Path) domain: {report.envelope_domain or '(none)'}")
    if report.authserv_id:
        print(f"  Checked by: {report.authserv_id}")
    for method in (report.spf, report.dkim, report.dmarc):
        if method is not None:
            print(f"\n{method.name.upper()}: {method.result or 'not reported'}")
            print(f"  {method.explanation}")
    if report.signatures:
        print("\nDKIM signatures:")
        for s in report.signatures:
            aligned = "aligned" if s.aligned else "not aligned"
            print(f"  d={s.domain} s={s.selector or '?'}: {s.result or 'no result'} ({aligned})")
    if report.arc.instances:
        first = ", ".join(f"{m}={r}" for m, r in report.arc.first_results)
        hops = plural(report.arc.instances, "hop")
        print(f"\nARC: {hops}, chain {report.arc.chain or 'unknown'}")
        if report.arc.first_hop:
            print(f"  first hop {report.arc.first_hop} saw: {first or 'nothing recorded'}")
    if report.findings:
        print("\nFindings:")
        for f in report.findings:
            print(f"  [{f.severity.value}] {f.title}")
