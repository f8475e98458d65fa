"""`python -m diagnostics smtp test|lint`: check an SMTP connection from the command line.

The password is read from an environment variable named with `--password-env`, never from the
command line (where `ps` and the shell history would keep it). The time limit, the extra CA and the
nameserver default to the app's settings (DESK_SMTP_TIMEOUT, DESK_SMTP_CAFILE, DESK_NAMESERVER and
DESK_DNS_TIMEOUT), so a test here is the test the Test mail page runs. `test` prints the diagnosis card
first (what went wrong, why, what to change), then the transcript; `--json` prints the stored form.
Exit codes: 0 the test passed (or lint found nothing), 1 a failure was diagnosed (or lint found
problems), 2 a usage error.
"""

from __future__ import annotations

import argparse
import json
import os
import re
from typing import Any

from diagnostics.cli import EXIT_FINDINGS, EXIT_OK
from diagnostics.cli.common import resolver_from
from diagnostics.config import DeskConfig
from diagnostics.errors import InvalidInput
from diagnostics.findings import Finding
from diagnostics.smtp.lint import lint
from diagnostics.smtp.probe import probe
from diagnostics.smtp.result import ProbeResult
from diagnostics.smtp.settings import Security, SmtpSettings


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "smtp",
        help="test or lint the settings of an SMTP connection",
        description="Test an SMTP connection live, or check its settings without connecting.",
    )
    actions = parser.add_subparsers(dest="smtp_action", metavar="ACTION", parser_class=type(parser))
    # No abbreviations: `--password SECRET` must be an error, not taken for `--password-env`.
    test = actions.add_parser(
        "test",
        allow_abbrev=False,
        help="connect, log in and optionally send a test message; diagnose any failure",
        description="Connect, log in and (with --to) send a test message; say what failed and why.",
    )
    _connection_arguments(test)
    test.add_argument(
        "--to",
        action="append",
        default=[],
        metavar="ADDR",
        help="send a test message to ADDR (repeatable); without it, only connect and log in",
    )
    test.add_argument(
        "--timeout",
        type=float,
        metavar="S",
        help="give up after S seconds in all (default DESK_SMTP_TIMEOUT, else 10)",
    )
    test.add_argument(
        "--nameserver",
        metavar="HOST[:PORT]",
        help="resolve the SMTP host through this nameserver (default DESK_NAMESERVER, else the "
        "system's)",
    )
    test.add_argument(
        "--cafile",
        metavar="PEM",
        help="also trust the CA certificates in PEM (default DESK_SMTP_CAFILE, else none)",
    )
    test.add_argument(
        "--no-verify",
        action="store_true",
        help="do not verify the server's certificate (shows it anyway)",
    )
    test.add_argument("--json", action="store_true", help="print the result as JSON")
    test.set_defaults(handler=_test)
    check = actions.add_parser(
        "lint",
        allow_abbrev=False,
        help="check the settings without connecting",
        description="Check SMTP settings for the usual mistakes, without connecting.",
    )
    _connection_arguments(check)
    check.add_argument("--json", action="store_true", help="print the findings as JSON")
    check.set_defaults(handler=_lint)


def _connection_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", required=True, help="the provider's SMTP host name")
    parser.add_argument("--port", type=int, default=587, help="the port (default 587)")
    parser.add_argument(
        "--security",
        choices=[s.value for s in Security],
        default="starttls",
        help="starttls (587), tls (465) or none (default starttls)",
    )
    parser.add_argument("--username", default="", help="the SMTP user name")
    parser.add_argument(
        "--password-env",
        metavar="VAR",
        help="the environment variable holding the password or API key",
    )
    parser.add_argument(
        "--from",
        dest="from_address",
        default="",
        metavar="ADDR",
        help="the From address of the test message",
    )


def _settings(args: argparse.Namespace) -> SmtpSettings:
    password = ""
    if args.password_env:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", args.password_env):
            # Someone may have typed the password itself here: never echo it.
            raise InvalidInput(
                "--password-env takes the name of an environment variable that holds the "
                "password, not the password itself."
            )
        if args.password_env not in os.environ:
            raise InvalidInput(f"The environment variable {args.password_env} is not set.")
        password = os.environ[args.password_env]
    return SmtpSettings(
        args.host, args.port, args.security, args.username, password, args.from_address
    )


def _test(args: argparse.Namespace, config: DeskConfig) -> int:
    settings = _settings(args)
    cafile = args.cafile or config.smtp.cafile
    result = probe(
        settings,
        send_to=args.to or None,
        timeout=config.smtp.timeout if args.timeout is None else args.timeout,
        tls_verify=not args.no_verify,
        cafile=str(cafile) if cafile else None,
        resolver=resolver_from(args, config),
    )
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
    else:
        print(card(result))
        # The settings' own mistakes often explain the failure (or the next one); no network.
        noted = [f for f in lint(settings) if f.severity.value != "info"]
        if noted:
            print()
            print("In the settings:")
            for finding in noted:
                print(f"  {_finding_line(finding)}")
        print()
        print("Transcript:")
        for line in result.transcript:
            print(f"  {line}")
    return EXIT_OK if result.ok else EXIT_FINDINGS


def card(result: ProbeResult) -> str:
    """The diagnosis card: the verdict, why, and what to change."""
    where = f"{result.host}:{result.port} ({result.security})"
    if result.ok:
        lines = [
            f"OK  {where}: passed every step up to {result.stage.label} in {result.duration:.1f} s."
        ]
    else:
        symptom = result.symptom.label if result.symptom else "Failed"
        lines = [f"FAILED  {where} at {result.stage.label}: {symptom}"]
        if result.hints:
            lines.append(f"Hints:  {'; '.join(h.label for h in result.hints)}")
        lines += [f"Why:    {result.explanation}", f"Fix:    {result.fix}"]
    if result.refused_recipients:
        for address, reply in result.refused_recipients.items():
            lines.append(f"Refused recipient {address}: {reply}")
    if result.tls is not None:
        expiry = f", expires {result.tls.not_after:%Y-%m-%d}" if result.tls.not_after else ""
        lines.append(f"TLS:    {result.tls.version} {result.tls.cipher}{expiry}")
    return "\n".join(lines)


def _lint(args: argparse.Namespace, config: DeskConfig) -> int:
    findings = lint(_settings(args))
    if args.json:
        print(json.dumps([f.to_dict() for f in findings], indent=2))
    elif not findings:
        print("No problems found in these settings.")
    else:
        for finding in findings:
            print(_finding_line(finding))
    return EXIT_FINDINGS if any(f.severity != "info" for f in findings) else EXIT_OK


def _finding_line(finding: Finding) -> str:
    return f"{finding.severity.value.upper():8} {finding.title}: {finding.message}"
