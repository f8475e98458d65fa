"""`python -m admin intake show|check`: the report mailbox kept in the admin store (admin.intake),
from the command line: what is set up and what the last check brought in, or one check now (for
cron), recorded and audited like the page's "Check now".

    python -m admin intake show [--json]
    python -m admin intake check [--json]

`check` prints a line for each message, a progress bar on a terminal, and the run's counts. Exit
codes: 0 every message was a report, 1 some message was not (it went to the invalid folder), 2
the check stopped (the server could not be reached, refused the password, ...: the run's error),
as well as the admin CLI's usage errors.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from admin.intake import IntakeRun
from admin.store import Store
from diagnostics.dmarc import ReportStore
from diagnostics.intake import MessageOutcome

EXIT_OK = 0
EXIT_NOT_REPORTS = 1
EXIT_STOPPED = 2


def add_intake_commands(commands: Any, actor: Any) -> None:
    """The `intake` command and its actions, on the admin CLI's subcommands."""
    intake = commands.add_parser("intake", help="the mailbox the desk takes DMARC reports from")
    actions = intake.add_subparsers(dest="action", metavar="ACTION", required=True)
    show = actions.add_parser("show", help="the mailbox's settings and its last check")
    show.add_argument("--json", action="store_true", help="print one JSON document")
    show.set_defaults(handler=lambda store, args: _show(store, args, actor()))
    check = actions.add_parser("check", help="check the mailbox now, once (for cron)")
    check.add_argument("--json", action="store_true", help="print the run as one JSON document")
    check.set_defaults(handler=lambda store, args: _check(store, args, actor()))


def _show(store: Store, args: argparse.Namespace, actor: str) -> int:
    mailbox = store.intake.mailbox(actor=actor)
    last = store.intake.last_run(actor=actor)
    if args.json:
        print(
            json.dumps(
                {
                    "mailbox": mailbox.public_dict() if mailbox else None,
                    "last_run": _run_dict(last) if last else None,
                },
                indent=2,
            )
        )
        return EXIT_OK
    if mailbox is None:
        print("No report mailbox is set up (the DMARC reports page, Reports by mail).")
    else:
        print(
            f"Reads {mailbox.folder} of {mailbox.username} on {mailbox.host}:{mailbox.port} "
            f"({mailbox.security.value}); files reports in {mailbox.archive}, the rest in "
            f"{mailbox.invalid}. Password {mailbox.password_hint}."
            + (" Trusts a private CA." if mailbox.private_ca else "")
        )
    if last is None:
        print("Not checked yet.")
    else:
        print(f"Last check {last.finished_at:%Y-%m-%d %H:%M} UTC by {last.actor}: {last.summary}")
    return EXIT_OK


def _check(store: Store, args: argparse.Namespace, actor: str) -> int:
    from tqdm import tqdm

    bar: Any = None

    def progress(done: int, total: int) -> None:
        nonlocal bar
        if bar is None and total > 1:
            # disable=None: no bar when stderr is not a terminal (cron, pipes, tests).
            bar = tqdm(total=total, unit="message", file=sys.stderr, disable=None)
        if bar is not None:
            bar.update(1)

    def said(outcome: MessageOutcome) -> None:
        if not args.json:
            tqdm.write(outcome.line, file=sys.stdout)

    reports = ReportStore.from_config(args.config)
    try:
        run = store.intake.check_now(reports, actor=actor, progress=progress, on_outcome=said)
    finally:
        if bar is not None:
            bar.close()
        reports.close()
    if args.json:
        print(json.dumps(_run_dict(run), indent=2))
    else:
        print(run.summary)
    if run.error is not None:
        return EXIT_STOPPED
    return EXIT_NOT_REPORTS if run.counts.get("invalid") else EXIT_OK


def _run_dict(run: IntakeRun) -> dict[str, object]:
    return {
        "started_at": run.started_at.isoformat(),
        "finished_at": run.finished_at.isoformat(),
        "actor": run.actor,
        "ok": run.ok,
        "counts": run.counts,
        "error": run.error,
        "problems": list(run.problems),
    }
