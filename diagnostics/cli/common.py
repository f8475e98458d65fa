"""Options more than one subcommand shares: the providers in use, which nameserver to ask, how
long to wait, and which database holds the reports. Each option's default is the configuration's
(diagnostics.config), so the command line honours the same variables as the app."""

from __future__ import annotations

import argparse
from dataclasses import replace
from typing import TYPE_CHECKING

from diagnostics import providers
from diagnostics.config import DeskConfig, DnsConfig
from diagnostics.dns import Resolver

if TYPE_CHECKING:
    from diagnostics.dmarc.store import ReportStore


def add_resolver_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--nameserver",
        metavar="HOST[:PORT]",
        help="ask this nameserver (e.g. 127.0.0.1:5353); default DESK_NAMESERVER, else the "
        "system's",
    )
    parser.add_argument(
        "--dns-timeout",
        type=float,
        metavar="SECONDS",
        help="give up on a DNS question after this long; default DESK_DNS_TIMEOUT, else 3",
    )


def dns_from(args: argparse.Namespace, config: DeskConfig) -> DnsConfig:
    """The configuration's DNS settings, with what the options (where a subcommand has them) say
    instead."""
    nameserver = getattr(args, "nameserver", None)
    timeout = getattr(args, "dns_timeout", None)
    return replace(
        config.dns,
        nameserver=nameserver or config.dns.nameserver,
        timeout=config.dns.timeout if timeout is None else timeout,
    )


def resolver_from(args: argparse.Namespace, config: DeskConfig) -> Resolver:
    """The resolver the options and the configuration ask for; bad values raise InvalidInput
    (exit 2, one plain line)."""
    return dns_from(args, config).resolver()


def report_store(database: str | None, config: DeskConfig) -> ReportStore:
    """The report store `--database` names, else the configuration's (DATABASE_URL, else the
    embedded SQLite file), with the configuration's busy timeout and parse caps."""
    from diagnostics.dmarc.store import ReportStore

    if database:
        config = replace(config, database=replace(config.database, url=database))
    return ReportStore.from_config(config)


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
