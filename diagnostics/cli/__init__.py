"""The command line: one module a subcommand, each with `register(subparsers)`.

Exit codes, for every subcommand: 0 nothing wrong, 1 problems found, 2 usage error or a failure to
reach what was asked (DNS, SMTP, a file). Bad input prints one plain line on stderr, never a traceback.

The configuration is the app's (diagnostics.config: DESK_NAMESERVER, DESK_DNS_TIMEOUT,
DESK_SMTP_TIMEOUT, DESK_SMTP_CAFILE, DATABASE_URL, ...), read from the environment once in main()
and handed to the subcommand's handler, `handler(args, config)`; an option given on the command line
wins over it. A malformed variable is a usage error (exit 2) that names every bad one.

A secret reaches a subcommand only through an option `--NAME-env VAR` naming an environment
variable; every command runs with its stdout and stderr scrubbed of those secrets in every form
(diagnostics.cli.output), so what a server echoes back is never printed.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from diagnostics.cli.output import scrubbed_output, secrets_in_play
from diagnostics.config import DeskConfig
from diagnostics.errors import DiagnosticsError

# Subcommand modules, in the order `--help` lists them.
COMMANDS: list[str] = ["spf", "health", "smtp", "reports", "explain", "headers"]

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: {_without_values(message)}\n")


def _without_values(message: str) -> str:
    """argparse repeats unrecognised arguments verbatim; one may be a password typed by mistake
    (`--password hunter2`), so only the option names are echoed, never the values."""
    prefix = "unrecognized arguments: "
    if not message.startswith(prefix):
        return message
    names = [word for word in message[len(prefix) :].split() if word.startswith("-")]
    shown = " ".join(name.partition("=")[0] for name in names) or "(values not repeated)"
    return f"{prefix}{shown} (values are not repeated, in case one is a secret)"


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="python -m diagnostics",
        description="Why mail through your own SMTP provider fails, and exactly what to change.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMANDS:
        importlib.import_module(f"diagnostics.cli.{name}").register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None, *, config: DeskConfig | None = None) -> int:
    """Run one subcommand. The configuration is read from the environment here, once, unless a
    caller (a test) gives `config`."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return EXIT_USAGE
    with scrubbed_output(secrets_in_play(args)):
        try:
            if config is None:
                config = DeskConfig.from_env(os.environ)  # a ConfigError is a DiagnosticsError
            code: int = args.handler(args, config)
        except DiagnosticsError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_USAGE
        except KeyboardInterrupt:
            print("interrupted", file=sys.stderr)
            return EXIT_USAGE
        return code
