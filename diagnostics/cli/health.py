"""`python -m diagnostics health DOMAIN --provider KEY`: SPF, DKIM, DMARC, MX, MTA-STS, TLS reporting,
BIMI, the MX hosts' TLS and DNSSEC of a sending domain.

One status per part (ok / warning / error) and every finding with its fix. `--network` (or
DESK_HEALTH_NETWORK=on) also fetches the MTA-STS policy and the BIMI logo over HTTPS and tests
STARTTLS on port 25 of every MX; without it those parts say they were not checked.
`--tls-reports` reads the stored SMTP TLS reports of the last 30 days (`--database`, else the
configured database): whether reports arrive, and whether a testing MTA-STS policy could be
enforced. `--selector KEY=SELECTOR`
(repeatable) names DKIM selectors the catalogue cannot guess (SES tokens, Postmark's selector);
`--host SMTP-HOST` (repeatable) names a provider by the account's SMTP host, and its region fills the
custom MAIL FROM records (SES: email-smtp.REGION.amazonaws.com). Exit 0
when every part is ok, 1 when a part has a warning or an error, 2 on a usage error or when DNS did
not answer.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from typing import Any

from diagnostics import providers
from diagnostics.cli import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE
from diagnostics.cli.common import (
    add_provider_option,
    add_resolver_options,
    report_store,
    resolver_from,
)
from diagnostics.config import DeskConfig
from diagnostics.dns import normalize_name
from diagnostics.errors import InvalidInput
from diagnostics.health import DomainHealth, NetworkChecks, TlsReportSummary, check_domain
from diagnostics.verdict import Verdict

_MARK = {
    "ok": "ok",
    "warning": "WARNING",
    "error": "ERROR",
    "not_checked": "not checked",
    "not_set_up": "not set up",
}
_REPORT_DAYS = 30


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "health",
        help="SPF, DKIM, DMARC and MX of a domain, for the providers it sends through",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("domain", help="the sending (From) domain")
    add_provider_option(parser)
    parser.add_argument(
        "--selector",
        action="append",
        default=[],
        metavar="KEY=SELECTOR",
        help="a DKIM selector to check for a provider (repeatable), e.g. ses=TOKEN",
    )
    parser.add_argument(
        "--host",
        action="append",
        default=[],
        metavar="SMTP-HOST",
        help="an SMTP host the account sends through (repeatable), e.g. "
        "email-smtp.eu-west-1.amazonaws.com",
    )
    add_resolver_options(parser)
    network = parser.add_argument_group("network checks")
    network.add_argument(
        "--network",
        action="store_true",
        help="also fetch the MTA-STS policy and BIMI logo over HTTPS and test STARTTLS on each "
        "MX (default DESK_HEALTH_NETWORK)",
    )
    network.add_argument(
        "--network-timeout",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="give up on one fetch or connection after this long (they run at once); default 10",
    )
    network.add_argument(
        "--cafile",
        metavar="PEM",
        help="also trust the CA certificates in PEM (default DESK_SMTP_CAFILE, else none)",
    )
    network.add_argument(
        "--smtp-port", type=int, default=25, metavar="PORT", help="the MX port to test (25)"
    )
    network.add_argument(
        "--https-port", type=int, metavar="PORT", help="the HTTPS port to fetch from (443)"
    )
    parser.add_argument(
        "--tls-reports",
        action="store_true",
        help=f"read the stored TLS reports of the last {_REPORT_DAYS} days",
    )
    parser.add_argument("--database", metavar="URL", help="the report database (--tls-reports)")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.set_defaults(handler=run)


def _selectors(values: list[str]) -> dict[str, list[str]]:
    chosen: dict[str, list[str]] = {}
    known = providers.keys()
    for value in values:
        key, eq, selector = value.partition("=")
        if not eq or not selector or key.strip().lower() not in known:
            raise InvalidInput(
                f"--selector {value!r}: write KEY=SELECTOR with a provider key, e.g. ses=TOKEN."
            )
        chosen.setdefault(key.strip().lower(), []).append(selector.strip())
    return chosen


def _network(args: argparse.Namespace, config: DeskConfig) -> NetworkChecks | None:
    if not (args.network or config.checks.network):
        return None
    for port in (args.smtp_port, args.https_port):
        if port is not None and not 0 < port < 65536:
            raise InvalidInput(f"Port {port}: a port is a number from 1 to 65535.")
    cafile = args.cafile or config.smtp.cafile
    return NetworkChecks(
        timeout=args.network_timeout,
        cafile=str(cafile) if cafile else None,
        https_port=args.https_port,
        smtp_port=args.smtp_port,
    )


def _tls_reports(
    args: argparse.Namespace, config: DeskConfig, domain: str
) -> TlsReportSummary | None:
    if not args.tls_reports:
        return None
    name = normalize_name(domain)  # a name that is no domain is said before a database opens
    start = dt.datetime.now(dt.UTC) - dt.timedelta(days=_REPORT_DAYS)
    store = report_store(args.database, config)
    try:
        rows = store.tls_reports(name, start, None).to_dict("records")
    finally:
        store.close()
    return TlsReportSummary.from_rows(rows, days=_REPORT_DAYS)


def run(args: argparse.Namespace, config: DeskConfig) -> int:
    selectors = _selectors(args.selector)
    network = _network(args, config)
    if network is not None:
        # The one wait a person notices: said before it starts, on stderr (stdout stays the
        # result, --json included).
        print(
            f"Checking DNS, then fetching over HTTPS and testing each MX on port "
            f"{network.smtp_port}, all at once (each at most {network.timeout:g} s)...",
            file=sys.stderr,
        )
    health = check_domain(
        args.domain,
        providers=args.provider,
        selectors=selectors,
        hosts=args.host,
        resolver=resolver_from(args, config),
        tls_reports=_tls_reports(args, config, args.domain),
        network=network,
    )
    if args.json:
        print(json.dumps(health.to_dict(), indent=2))
    else:
        _print(health)
    # DNS did not answer at all: every record part failed to read (DNSSEC says so as information).
    if all(
        any(f.code in ("dns_error", "dnssec_unknown") for f in part.findings)
        for part in health.parts
        if part.checked and part.name != "mx_tls"
    ):
        return EXIT_USAGE
    return EXIT_OK if health.status is Verdict.OK else EXIT_FINDINGS


def _print(health: DomainHealth) -> None:
    print(f"Domain health for {health.domain} ({', '.join(health.providers)})")
    for part in health.parts:
        print(f"\n{part.label:6} {_MARK[part.state]:8} {part.summary}")
        for finding in part.findings:
            print(f"  [{finding.severity.value}] {finding.title}")
            # Unwrapped: a record to publish must survive copy and paste intact; a file to
            # publish (an MTA-STS policy) keeps its lines.
            print("    " + finding.message.replace("\n", "\n      "))
