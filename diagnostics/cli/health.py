"""`python -m diagnostics health DOMAIN --provider KEY`: SPF, DKIM, DMARC and MX of a sending domain.

One status per part (ok / warning / error) and every finding with its fix. `--selector KEY=SELECTOR`
(repeatable) names DKIM selectors the catalogue cannot guess (SES tokens, Postmark's selector);
`--host SMTP-HOST` (repeatable) names a provider by the account's SMTP host, and its region fills the
custom MAIL FROM records (SES: email-smtp.REGION.amazonaws.com). Exit 0
when every part is ok, 1 when a part has a warning or an error, 2 on a usage error or when DNS did
not answer.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from diagnostics import providers
from diagnostics.cli import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE
from diagnostics.cli.common import add_provider_option, add_resolver_options, resolver_from
from diagnostics.config import DeskConfig
from diagnostics.errors import InvalidInput
from diagnostics.health import DomainHealth, check_domain
from diagnostics.verdict import Verdict

_MARK = {Verdict.OK: "ok", Verdict.WARNING: "WARNING", Verdict.ERROR: "ERROR"}


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


def run(args: argparse.Namespace, config: DeskConfig) -> int:
    selectors = _selectors(args.selector)
    health = check_domain(
        args.domain,
        providers=args.provider,
        selectors=selectors,
        hosts=args.host,
        resolver=resolver_from(args, config),
    )
    if args.json:
        print(json.dumps(health.to_dict(), indent=2))
    else:
        _print(health)
    if any(f.code == "dns_error" for f in health.findings) and all(
        part.status is Verdict.ERROR for part in health.parts
    ):
        return EXIT_USAGE
    return EXIT_OK if health.status is Verdict.OK else EXIT_FINDINGS


def _print(health: DomainHealth) -> None:
    print(f"Domain health for {health.domain} ({', '.join(health.providers)})")
    for part in health.parts:
        print(f"\n{part.label:6} {_MARK[part.status]:8} {part.summary}")
        for finding in part.findings:
            print(f"  [{finding.severity.value}] {finding.title}")
            # One line, unwrapped: a record to publish must survive copy and paste intact.
            print(f"    {finding.message}")
