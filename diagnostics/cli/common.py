"""Options more than one subcommand shares: the providers in use, which nameserver to ask, and
how long to wait."""

from __future__ import annotations

import argparse

from diagnostics import providers
from diagnostics.dns import Resolver, parse_nameserver


def add_resolver_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--nameserver",
        metavar="HOST[:PORT]",
        help="ask this nameserver instead of the system's (e.g. 127.0.0.1:5353)",
    )
    parser.add_argument(
        "--dns-timeout",
        type=float,
        default=3.0,
        metavar="SECONDS",
        help="give up on a DNS question after this long (default 3)",
    )


def resolver_from(args: argparse.Namespace) -> Resolver:
    """The resolver the options ask for; bad values raise InvalidInput (exit 2, one plain line)."""
    if args.nameserver:
        host, port = parse_nameserver(args.nameserver)
        return Resolver([host], port=port, timeout=args.dns_timeout)
    return Resolver(timeout=args.dns_timeout)


def add_provider_option(parser: argparse.ArgumentParser) -> None:
    """`--provider KEY`, repeatable, checked against the catalogue."""
    parser.add_argument(
        "--provider",
        action="append",
        default=[],
        metavar="KEY",
        choices=providers.keys(),
        help="a provider the domain sends through (repeatable): " + ", ".join(providers.keys()),
    )
