"""Draining a report mailbox: messages per second, ours against parsedmarc's IMAP mode, on one Dovecot.

A real Dovecot (Debian's dovecot-imapd, run as the tests run it: tests/support/dovecot.py) gets two
mailboxes filled over IMAP with the same `--messages` report e-mails (2,000 by default): real sample
reports from tests/data/dmarc/, each with its own report_id, gzipped and attached as receivers send
them. Then, timed from connecting to the last message filed:

- ours: `diagnostics.intake.check_mailbox` into a fresh SQLite report store (parsed, stored,
  archived);
- parsedmarc: `parsedmarc.get_dmarc_reports_from_mailbox` over `parsedmarc.mail.IMAPConnection`,
  offline=True, the whole folder in one call (batch_size=0), archived to its Archive folder. It only
  parses: it stores nothing, which is in its favour.

Both connect with verified TLS to the same server (parsedmarc's default context is pointed at the
test CA through SSL_CERT_FILE). The target is a ratio of at least 10.

Twice: on loopback, where a round trip to the server costs nothing, and through a relay that adds
`--rtt-ms` (10 ms by default: a mail host in the same region; Microsoft 365 or Gmail from another
continent is 50 to 150 ms) to every round trip, as any real mailbox does. parsedmarc fetches and
moves each message in its own commands, so it waits a round trip or more per message; the desk
fetches the heads of a block of messages at once, a block ahead, then only the report parts of a
chunk of messages per command, stores the chunk in one transaction and moves it with one command,
while the next chunk is fetched (diagnostics.intake.imap).

    python -m bench.intake_bench [--messages 2000] [--rtt-ms 10]
"""

from __future__ import annotations

import argparse
import gzip
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

import trustme

from diagnostics.dmarc import ReportStore
from diagnostics.intake import MailboxSettings, RunCounts, check_mailbox
from diagnostics.secret import Secret
from tests.support.dovecot import Dovecot, dovecot_problem
from tests.support.relay import Relay
from tests.support.reportmail import SAMPLES, report_message, report_xml

TARGET = 10.0
# Real reports from several receivers, one to a few records each (as most daily reports are).
BASES = [
    SAMPLES / "aggregate" / name
    for name in (
        "example.net!example.com!1529366400!1529452799.xml",
        "addisonfoods.com!example.com!1536105600!1536191999.xml",
        "usssa.com!example.com!1538784000!1538870399.xml",
        "veeam.com!example.com!1530133200!1530219600.xml",
        "protection.outlook.com!example.com!1711756800!1711843200.xml",
        "ikea.com!example.de!1538690400!1538776800.xml",
        "rfc9990-example.net!example.com!1700000000!1700086399.xml",
    )
]


def messages(count: int, first: int = 0) -> list[bytes]:
    """`count` report messages whose report ids start at `first`."""
    out = []
    for n in range(first, first + count):
        base = BASES[n % len(BASES)]
        xml = gzip.compress(report_xml(n, base), mtime=0)
        name = base.name.replace(".xml", f"!{n}.xml.gz")
        out.append(report_message([(name, xml)], subject=f"Report Domain: example.com #{n}"))
    return out


def ours(
    server: Dovecot, port: int, user: str, password: str, database: str
) -> tuple[float, RunCounts]:
    store = ReportStore(database)
    settings = MailboxSettings.from_address(
        f"127.0.0.1:{port}",
        username=user,
        password=Secret(password),
        cafile=str(server.ca_file),
    )
    try:
        started = time.perf_counter()
        outcomes = check_mailbox(settings, store)
        elapsed = time.perf_counter() - started
        stored = len(store.reports())
    finally:
        store.close()
    counts = RunCounts.of(outcomes)
    assert counts.archived == len(outcomes) == stored, (counts, stored)
    return elapsed, counts


def parsedmarcs(server: Dovecot, port: int, user: str, password: str) -> tuple[float, int]:
    import parsedmarc
    from parsedmarc.mail import IMAPConnection

    logging.getLogger("parsedmarc").setLevel(logging.ERROR)
    os.environ["SSL_CERT_FILE"] = str(server.ca_file)  # its verified default context trusts the CA
    started = time.perf_counter()
    connection = IMAPConnection(
        host="127.0.0.1", user=user, password=password, port=port, ssl=True, verify=True
    )
    results = parsedmarc.get_dmarc_reports_from_mailbox(
        connection, reports_folder="INBOX", archive_folder="Archive", offline=True, batch_size=0
    )
    elapsed = time.perf_counter() - started
    return elapsed, len(results["aggregate_reports"])


def run(server: Dovecot, mail: list[bytes], port: int, label: str) -> float:
    """Both drains through `port` (the server's, or a relay's); the ratio."""
    mine, theirs = server.add_user(), server.add_user()
    for user, _ in (mine, theirs):
        server.append(user, mail)
    with tempfile.TemporaryDirectory() as folder:
        database = f"sqlite:///{Path(folder) / 'desk.sqlite'}"
        our_time, counts = ours(server, port, *mine, database)
    their_time, parsed = parsedmarcs(server, port, *theirs)
    assert parsed == len(mail), parsed
    left = {user: server.count(user, "INBOX") for user, _ in (mine, theirs)}
    assert set(left.values()) == {0}, left
    ratio = their_time / our_time
    print(f"{label}:")
    print(
        f"  ours:       {our_time:7.2f} s  {len(mail) / our_time:8.1f} messages/s  ({counts.line})"
    )
    print(
        f"  parsedmarc: {their_time:7.2f} s  {len(mail) / their_time:8.1f} messages/s  "
        f"({parsed:,} aggregate reports parsed, none stored)"
    )
    verdict = "meets" if ratio >= TARGET else "MISSES"
    print(f"  ratio: {ratio:.1f}x ({verdict} the {TARGET:g}x target)", flush=True)
    return ratio


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--rtt-ms", type=float, default=10.0)
    args = parser.parse_args(argv)
    problem = dovecot_problem()
    if problem:
        print(f"skipped: {problem}")
        return 0
    # parsedmarc remembers the report ids it saw in a process: each run gets reports of its own.
    mail = messages(args.messages)
    again = messages(args.messages, first=args.messages)
    size = sum(len(m) for m in mail)
    print(f"{args.messages:,} report messages ({size / 1e6:.1f} MB) in each mailbox")
    server = Dovecot(trustme.CA()).start()
    relay = Relay(lambda: ("127.0.0.1", server.port), latency=args.rtt_ms / 2000).start()
    try:
        ratios = [
            run(server, mail, server.port, "loopback (no network)"),
            run(server, again, relay.port, f"through a {args.rtt_ms:g} ms round trip"),
        ]
    finally:
        relay.close()
        server.close()
    return 0 if min(ratios) >= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
