"""`python -m diagnostics spf DOMAIN`: the SPF record, its tree, its findings, the record to publish.

With `--provider KEY` (repeatable) it writes the record that authorizes those providers and the
platform's managed sending (TrekMail's include stays first, as on every page: the platform sends as
the domain too, and falls back to managed sending); `--not-on-platform` leaves it out, for a domain
that is not on the platform. With `--ip` it runs check_host for that address and prints the trace. Exit 0 when nothing is wrong, 1 when a finding
(error or warning) or a non-pass verdict needs attention, 2 on a usage error or when DNS did not answer.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import sys
from typing import Any

from diagnostics.cli import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE
from diagnostics.cli.common import add_provider_option, add_resolver_options, resolver_from
from diagnostics.config import DeskConfig
from diagnostics.errors import InvalidInput
from diagnostics.findings import Finding, Severity
from diagnostics.providers import PLATFORM
from diagnostics.serialize import to_jsonable
from diagnostics.spf import SpfAnalysis, SpfNode, SpfRecommendation, analyze, check_host, recommend
from diagnostics.spf.tree import MAX_LOOKUPS
from diagnostics.wording import plural

# The domain itself could not be read (DNS failed, or the name cannot exist): exit 2, not 1.
_UNREADABLE_CODES = {"dns_error", "invalid_domain"}


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "spf",
        help="check a domain's SPF record and write the one to publish",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("domain", help="the domain to check (the From or envelope domain)")
    add_provider_option(parser)
    parser.add_argument(
        "--not-on-platform",
        action="store_true",
        help="the domain is not on the platform: leave its include out of the record to publish",
    )
    parser.add_argument("--ip", help="test whether this sending IP is authorized")
    parser.add_argument("--sender", help="envelope sender for --ip (default: postmaster@DOMAIN)")
    add_resolver_options(parser)
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, config: DeskConfig) -> int:
    if args.sender and not args.ip:
        print("error: --sender goes with --ip", file=sys.stderr)
        return EXIT_USAGE
    if args.ip:
        _check_ip(args.ip)  # before any DNS: a typo should not cost a timeout first
    resolver = resolver_from(args, config)
    analysis = analyze(args.domain, resolver=resolver)
    # The platform's include is in every record the desk recommends for a platform domain.
    keys = args.provider if args.not_on_platform else [PLATFORM, *args.provider]
    recommendation = recommend(args.domain, keys, resolver=resolver) if args.provider else None
    verdict = None
    if args.ip:
        sender = args.sender or f"postmaster@{analysis.domain}"
        verdict = check_host(args.ip, sender, resolver=resolver)

    if args.json:
        document = {
            "analysis": to_jsonable(analysis),
            "recommendation": to_jsonable(recommendation),
            "check": to_jsonable(verdict),
        }
        print(json.dumps(document, indent=2))
    else:
        _print_analysis(analysis)
        if recommendation is not None:
            _print_recommendation(recommendation, analysis.findings)
        if verdict is not None:
            print(f"\nIP test: {verdict.ip} sending as {verdict.sender}")
            print(_indent(verdict.format_trace(), 2))

    root_findings = analysis.tree.findings if analysis.tree is not None else analysis.findings
    if any(f.code in _UNREADABLE_CODES for f in root_findings):
        return EXIT_USAGE
    needs_attention = any(f.severity is not Severity.INFO for f in analysis.findings)
    if recommendation is not None and recommendation.record != recommendation.current:
        needs_attention = True
    if verdict is not None and verdict.result != "pass":
        needs_attention = True
    return EXIT_FINDINGS if needs_attention else EXIT_OK


def _check_ip(text: str) -> None:
    try:
        ipaddress.ip_address(text.strip())
    except ValueError:
        raise InvalidInput(f"--ip {text!r} is not an IPv4 or IPv6 address.") from None


def _print_analysis(analysis: SpfAnalysis) -> None:
    print(f"SPF for {analysis.domain}")
    print(f"  record: {analysis.record or '(none published)'}")
    print(
        f"  DNS lookups: {analysis.lookups} of {MAX_LOOKUPS}"
        f"  (void lookups: {analysis.void_lookups} of 2)"
    )
    if analysis.tree is not None:
        print("\nTree (lookups per record, running total against 10):")
        _print_node(analysis.tree, 1)
    print("\nFindings:")
    _print_findings(analysis.findings)


def _print_node(node: SpfNode, depth: int) -> None:
    via = f"{node.via} -> " if node.via else ""
    cost = f"{plural(node.lookups, 'lookup')}, total {node.running_total}/{MAX_LOOKUPS}"
    print(f"{'  ' * depth}{via}{node.domain}  [{cost}]")
    print(f"{'  ' * depth}  {node.record or '(no SPF record)'}")
    for child in node.children:
        _print_node(child, depth + 1)


def _print_findings(findings: tuple[Finding, ...] | list[Finding]) -> None:
    if not findings:
        print("  none: the record is fine.")
        return
    for finding in sorted(findings, key=lambda f: f.severity.rank):
        term = f" ({finding.term})" if finding.term else ""
        print(f"  [{finding.severity.value}] {finding.title}{term}")
        print(_indent(finding.message, 4))


def _print_recommendation(rec: SpfRecommendation, shown: tuple[Finding, ...]) -> None:
    print("\nRecommendation:")
    if rec.record == rec.current:
        print(f"  {rec.domain}: nothing to change.")
    else:
        print(f"  Publish this TXT record at {rec.domain}:")
        print(f"    {rec.record}")
        if rec.current:
            print(f"  (replacing: {rec.current})")
    print(f"  DNS lookups after the change: {rec.lookups_after} of {MAX_LOOKUPS}")
    if rec.already_authorized:
        print(f"  Already authorized: {', '.join(rec.already_authorized)}")
    for note in rec.notes:
        print(_indent(f"- {note}", 2))
    # The recommendation re-checks the current tree: show only what the analysis above did not.
    new = [f for f in rec.findings if f not in shown]
    if new:
        _print_findings(new)


def _indent(text: str, spaces: int) -> str:
    pad = " " * spaces
    return "\n".join(pad + line for line in str(text).splitlines())
