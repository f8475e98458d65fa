"""`python -m diagnostics` as a process reads the app's configuration from its environment: the
same variables as the app (DESK_NAMESERVER, DESK_DNS_TIMEOUT; DESK_SMTP_CAFILE and
DESK_SMTP_TIMEOUT in tests/diagnostics/smtp/test_cli.py), an option on the command line winning
over them, and a malformed one a usage error (exit 2) naming every bad variable."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from diagnostics.cli import main
from diagnostics.config import DeskConfig, DnsConfig

ROOT = Path(__file__).resolve().parents[3]
RECORD = "v=spf1 include:spf.trekmail.net -all"
ZONE = {
    "good.example": {"TXT": RECORD},
    "spf.trekmail.net": {"TXT": "v=spf1 ip4:198.51.100.0/24 -all"},
}


def run_cli(*argv: str, **variables: str) -> subprocess.CompletedProcess[str]:
    """`python -m diagnostics ARGV` with the desk's variables as given and no others."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DESK_")}
    env.pop("DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "diagnostics", *argv],
        cwd=ROOT,
        env={**env, **variables},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_cli_asks_the_nameserver_the_app_asks(nameserver) -> None:
    server = nameserver(ZONE)
    done = run_cli("spf", "good.example", DESK_NAMESERVER=server.address)
    assert done.returncode == 0, done.stderr
    assert RECORD in done.stdout
    assert ("good.example", "TXT") in server.queries


def test_the_cli_gives_up_after_the_apps_dns_timeout(nameserver) -> None:
    slow = nameserver(ZONE, delay=2.0)  # answers, but later than DESK_DNS_TIMEOUT allows
    done = run_cli("spf", "good.example", DESK_NAMESERVER=slow.address, DESK_DNS_TIMEOUT="0.5")
    assert done.returncode == 2, done.stdout
    assert RECORD not in done.stdout
    assert "Traceback" not in done.stderr
    # The option still wins over the variable: given time, the same question is answered.
    done = run_cli(
        "spf",
        "good.example",
        "--dns-timeout",
        "5",
        DESK_NAMESERVER=slow.address,
        DESK_DNS_TIMEOUT="0.5",
    )
    assert done.returncode == 0, done.stderr
    assert RECORD in done.stdout


def test_a_malformed_variable_is_a_usage_error_naming_every_bad_one() -> None:
    done = run_cli(
        "spf",
        "good.example",
        DESK_DNS_TIMEOUT="abc",
        DESK_MAX_UPLOAD_MB="lots",
        DESK_NAMESERVER="127.0.0.1:1",
    )
    assert done.returncode == 2
    assert done.stdout == ""
    [line] = done.stderr.splitlines()  # one plain line, no traceback
    assert line.startswith("error: The configuration needs fixing (README, Configuration): ")
    assert 'DESK_DNS_TIMEOUT="abc" is not a number of seconds above 0' in line
    assert 'DESK_MAX_UPLOAD_MB="lots" is not a whole number of megabytes (1 or more)' in line


def test_help_needs_no_configuration() -> None:
    done = run_cli("--help", DESK_DNS_TIMEOUT="abc")
    assert done.returncode == 0
    assert "spf" in done.stdout


def test_main_takes_a_configuration_instead_of_the_environment(nameserver, capsys) -> None:
    config = DeskConfig(dns=DnsConfig(nameserver(ZONE).address, timeout=1.0))
    assert main(["spf", "good.example"], config=config) == 0
    assert RECORD in capsys.readouterr().out
