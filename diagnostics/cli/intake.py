"""`python -m diagnostics reports watch|receive|rua`: reports that arrive by themselves.

    reports watch --imap HOST[:PORT] --user U --password-env VAR [--folder INBOX] [--archive Archive]
                  [--invalid Invalid] [--security tls|starttls] [--cafile PEM] [--once] [--database URL]
    reports receive --listen HOST:PORT --recipient ADDRESS... [--lmtp] [--tls-cert PEM --tls-key PEM]
                  [--max-message-size 32M] [--max-connections 50] [--database URL]
    reports rua DOMAIN --recipient ADDRESS... [--ruf] [--record TEXT] [--nameserver HOST] [--json]

watch: every message in the folder is read, its reports stored, and it is moved to the archive
folder (or to the invalid folder, with the reason printed, when it holds no report); then the folder
is watched (IDLE, else polled) until SIGTERM or Ctrl-C. A lost connection is retried with a
growing, jittered delay; a refused password or an untrusted certificate stops at once (exit 2).
--once drains the folder and exits (for cron): 0 when every message was stored, 1 when some were not
reports or had parts that were not, 2 on a failure to reach the mailbox or the database.
receive: an SMTP (or LMTP) server for the report addresses, until SIGTERM or Ctrl-C; one line per
message received. rua: the rua= (or ruf=) to publish and, for a report address outside the
customer's domain, the record its domain must publish (RFC 7489 7.1). Exit 0, or 2 on bad input.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import sys
import threading
from collections.abc import Callable
from typing import Any

from diagnostics._sync import run_sync
from diagnostics.cli import EXIT_FINDINGS, EXIT_OK
from diagnostics.cli.common import add_resolver_options, report_store, resolver_from
from diagnostics.config import DeskConfig
from diagnostics.dmarc import ReportStore
from diagnostics.dmarc.record import check_dmarc
from diagnostics.errors import InvalidInput
from diagnostics.intake.endpoints import parse_endpoint
from diagnostics.intake.imap import (
    DEFAULT_MAX_MESSAGE_BYTES,
    ImapSecurity,
    MailboxSettings,
    Watcher,
    check_mailbox,
)
from diagnostics.intake.receiver import (
    DEFAULT_MAX_CONNECTIONS,
    server_tls_context,
    start_receiver,
)
from diagnostics.intake.rua import rua_advice, rua_advice_for
from diagnostics.intake.triage import Disposition, MessageOutcome, RunCounts
from diagnostics.secret import Secret

__all__ = ["add_intake_actions"]

_SIZE = re.compile(r"^\s*(\d+)\s*([kmg]?)i?b?\s*$", re.IGNORECASE)


def add_intake_actions(
    actions: Any, add_database: Callable[[argparse.ArgumentParser], None]
) -> None:
    """The watch, receive and rua actions of `python -m diagnostics reports`."""
    # No abbreviations: `--password SECRET` must be an error, not taken for `--password-env`.
    watch = actions.add_parser(
        "watch",
        allow_abbrev=False,
        help="take reports from a mailbox over IMAP, now and as they arrive",
        description="Store the reports in every message of an IMAP folder and file the messages.",
    )
    watch.add_argument("--imap", required=True, metavar="HOST[:PORT]", help="the IMAP server")
    watch.add_argument("--user", dest="username", required=True, help="the mailbox's user name")
    watch.add_argument(
        "--password-env",
        required=True,
        metavar="VAR",
        help="the environment variable holding the mailbox's password",
    )
    watch.add_argument("--folder", default="INBOX", help="the folder reports arrive in (INBOX)")
    watch.add_argument("--archive", default="Archive", help="where stored messages go (Archive)")
    watch.add_argument("--invalid", default="Invalid", help="where non-reports go (Invalid)")
    watch.add_argument(
        "--security",
        choices=[s.value for s in ImapSecurity],
        help="tls (implicit, port 993) or starttls (port 143); by default from the port",
    )
    watch.add_argument("--cafile", metavar="PEM", help="also trust the CA certificates in PEM")
    watch.add_argument("--once", action="store_true", help="drain the folder once and exit")
    watch.add_argument(
        "--poll",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="how often to look for new mail on a server without IDLE (default 60)",
    )
    watch.add_argument(
        "--max-message-size",
        type=_size,
        default=DEFAULT_MAX_MESSAGE_BYTES,
        metavar="SIZE",
        help="larger messages go to the invalid folder unread (default 32M)",
    )
    add_database(watch)
    watch.set_defaults(handler=run_watch)

    receive = actions.add_parser(
        "receive",
        allow_abbrev=False,
        help="be the report address: an SMTP/LMTP server that stores the reports it receives",
        description="Receive report mail by SMTP (or LMTP) and store the reports before saying yes.",
    )
    receive.add_argument("--listen", required=True, metavar="HOST:PORT", help="e.g. 0.0.0.0:25")
    receive.add_argument(
        "--recipient",
        action="append",
        required=True,
        metavar="ADDRESS",
        help="a report address to accept mail for (repeatable)",
    )
    receive.add_argument("--lmtp", action="store_true", help="speak LMTP (behind an MTA)")
    receive.add_argument("--tls-cert", metavar="PEM", help="certificate chain for STARTTLS")
    receive.add_argument("--tls-key", metavar="PEM", help="its private key")
    receive.add_argument(
        "--max-message-size",
        type=_size,
        default=DEFAULT_MAX_MESSAGE_BYTES,
        metavar="SIZE",
        help="refuse larger messages with 552 (default 32M)",
    )
    receive.add_argument(
        "--max-connections",
        type=int,
        default=DEFAULT_MAX_CONNECTIONS,
        metavar="N",
        help=f"sessions at once; more are told to try later (default {DEFAULT_MAX_CONNECTIONS})",
    )
    add_database(receive)
    receive.set_defaults(handler=run_receive)

    rua = actions.add_parser(
        "rua",
        help="the rua= a customer publishes to send reports to the desk",
        description="The exact rua= (or ruf=) to publish, keeping the current record's tags.",
    )
    rua.add_argument("domain", metavar="DOMAIN", help="the customer's domain")
    rua.add_argument(
        "--recipient",
        action="append",
        required=True,
        metavar="ADDRESS",
        help="the desk's report address (repeatable)",
    )
    rua.add_argument("--ruf", action="store_true", help="the ruf= tag (failure reports) instead")
    rua.add_argument(
        "--record",
        metavar="TEXT",
        help="the domain's current DMARC record (default: read it from DNS)",
    )
    add_resolver_options(rua)
    rua.add_argument("--json", action="store_true", help="print one JSON document")
    rua.set_defaults(handler=run_rua)


def _size(text: str) -> int:
    match = _SIZE.match(text)
    if match is None or int(match.group(1)) <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a size, e.g. 32M or 500K")
    scale = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}[match.group(2).lower()]
    return int(match.group(1)) * scale


def _password(variable: str) -> Secret:
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", variable):
        # Someone may have typed the password itself here: never echo it.
        raise InvalidInput(
            "--password-env takes the name of an environment variable that holds the "
            "password, not the password itself."
        )
    if not os.environ.get(variable):
        raise InvalidInput(f"The environment variable {variable} is not set.")
    return Secret(os.environ[variable])


# ---- watch -----------------------------------------------------------------------------------------


def run_watch(args: argparse.Namespace, config: DeskConfig) -> int:
    from tqdm import tqdm

    settings = MailboxSettings.from_address(
        args.imap,
        security=args.security,
        username=args.username,
        password=_password(args.password_env),
        folder=args.folder,
        archive=args.archive,
        invalid=args.invalid,
        cafile=args.cafile,
        max_message_bytes=args.max_message_size,
    )
    if args.cafile and not os.path.isfile(args.cafile):
        raise InvalidInput(f"--cafile {args.cafile}: there is no such file.")
    store = report_store(args.database, config)
    outcomes: list[MessageOutcome] = []
    bar: Any = None

    def progress(done: int, total: int) -> None:
        nonlocal bar
        if bar is None and total > 1:
            # disable=None: no bar when stderr is not a terminal (logs, pipes, tests).
            bar = tqdm(total=total, unit="message", file=sys.stderr, disable=None)
        if bar is not None:
            bar.update(1)
            if done >= total:
                bar.close()
                bar = None

    def show(outcome: MessageOutcome) -> None:
        outcomes.append(outcome)
        tqdm.write(outcome.line, file=sys.stdout)

    def retrying(why: str, delay: float) -> None:
        print(f"{why}; trying again in {delay:.0f} s", file=sys.stderr, flush=True)

    try:
        if args.once:
            check_mailbox(settings, store, progress=progress, on_outcome=show)
        else:
            watcher = Watcher(
                settings,
                store,
                poll_seconds=args.poll,
                progress=progress,
                on_outcome=show,
                on_retry=retrying,
            )
            print(
                f"watching {settings.folder} on {settings.host}:{settings.port} "
                f"({settings.security.value}); Ctrl-C or SIGTERM stops",
                file=sys.stderr,
                flush=True,
            )
            with _stopping(watcher.stop):
                watcher.run()
    finally:
        if bar is not None:
            bar.close()
        store.close()
    print(RunCounts.of(outcomes).line)
    clean = all(o.disposition is Disposition.STORED and not o.problems for o in outcomes)
    return EXIT_OK if clean else EXIT_FINDINGS


class _stopping:
    """SIGTERM and SIGINT call `stop` (a clean end for a service) instead of killing mid-message."""

    def __init__(self, stop: Callable[[], None]) -> None:
        self._stop = stop
        self._before: dict[int, Any] = {}

    def __enter__(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        for number in (signal.SIGTERM, signal.SIGINT):
            self._before[number] = signal.signal(number, lambda *_: self._stop())

    def __exit__(self, *exc: object) -> None:
        for number, handler in self._before.items():
            signal.signal(number, handler)


# ---- receive ---------------------------------------------------------------------------------------


def run_receive(args: argparse.Namespace, config: DeskConfig) -> int:
    host, port = parse_endpoint(args.listen, None, "--listen")
    if port is None:
        raise InvalidInput("--listen needs a port too, e.g. 0.0.0.0:25.")
    if bool(args.tls_cert) != bool(args.tls_key):
        raise InvalidInput("--tls-cert and --tls-key go together.")
    tls = server_tls_context(args.tls_cert, args.tls_key) if args.tls_cert else None
    store = report_store(args.database, config)
    try:
        run_sync(lambda: _serve(args, store, host, port, tls))
    finally:
        store.close()
    return EXIT_OK


async def _serve(
    args: argparse.Namespace, store: ReportStore, host: str, port: int, tls: Any
) -> None:
    def show(outcome: MessageOutcome) -> None:
        print(outcome.line, flush=True)

    try:
        server = await start_receiver(
            store,
            args.recipient,
            host=host,
            port=port,
            lmtp=args.lmtp,
            tls=tls,
            max_message_bytes=args.max_message_size,
            max_connections=args.max_connections,
            on_outcome=show,
        )
    except OSError as exc:
        raise InvalidInput(f"Cannot listen on {args.listen}: {exc.strerror or exc}.") from None
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for number in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(number, stop.set)
    where = ", ".join(f"{s.getsockname()[0]}:{s.getsockname()[1]}" for s in server.sockets)
    protocol = "LMTP" if args.lmtp else "SMTP"
    print(
        f"receiving reports by {protocol} on {where} for {', '.join(args.recipient)}",
        file=sys.stderr,
        flush=True,
    )
    try:
        await stop.wait()
    finally:
        server.close()
        await server.wait_closed()


# ---- rua -------------------------------------------------------------------------------------------


def run_rua(args: argparse.Namespace, config: DeskConfig) -> int:
    kind = "ruf" if args.ruf else "rua"
    domain = args.domain.strip().rstrip(".").lower()
    if args.record is not None:
        advice = rua_advice(domain, args.recipient, current=args.record or None, kind=kind)
    else:
        check = check_dmarc(domain, resolver=resolver_from(args, config))
        advice = rua_advice_for(check, args.recipient, kind=kind)
    if args.json:
        print(json.dumps(advice.to_dict(), indent=2))
    else:
        print("\n".join(advice.lines()))
    return EXIT_OK
