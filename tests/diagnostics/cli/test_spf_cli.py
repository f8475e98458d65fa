"""`python -m diagnostics spf` against a loopback nameserver: output, JSON and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from diagnostics.cli import main

ZONE = {
    "good.example": {"TXT": "v=spf1 include:spf.trekmail.net -all"},
    "spf.trekmail.net": {"TXT": "v=spf1 ip4:198.51.100.0/24 -all"},
    "sendgrid.net": {"TXT": "v=spf1 ip4:167.89.0.0/17 ~all"},
    "open.example": {"TXT": "v=spf1 +all"},
    "slow.example": {"TIMEOUT": True},
    # Issue 12 finding 1: a domain whose SPF record cannot be found at all.
    "bluebird-bakery.example": {"MX": "10 mx.trekmail.net"},
}


@pytest.fixture
def ns(nameserver):
    return nameserver(ZONE).address


def test_clean_domain_exits_0(ns, capsys):
    assert main(["spf", "good.example", "--nameserver", ns]) == 0
    out = capsys.readouterr().out
    assert "v=spf1 include:spf.trekmail.net -all" in out
    assert "DNS lookups: 1 of 10" in out


@pytest.mark.parametrize(
    "named", [["sendgrid"], ["sendgrid", "trekmail"], ["trekmail", "sendgrid"]]
)
def test_the_record_for_a_domain_without_spf_keeps_the_platform(ns, capsys, named):
    # Published without the platform's include, the record would break the platform's own
    # managed sending, and the fallback the plan rules switch to.
    options = [option for key in named for option in ("--provider", key)]
    code = main(["spf", "bluebird-bakery.example", *options, "--nameserver", ns, "--json"])
    document = json.loads(capsys.readouterr().out)
    assert code == 1
    wanted = "v=spf1 include:spf.trekmail.net include:sendgrid.net -all"
    assert document["recommendation"]["record"] == wanted


def test_not_on_platform_leaves_the_platform_out(ns, capsys):
    code = main(
        ["spf", "bluebird-bakery.example", "--provider", "sendgrid", "--not-on-platform",
         "--nameserver", ns]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 1
    assert (
        "Publish this TXT record at bluebird-bakery.example:\n    v=spf1 include:sendgrid.net -all\n"
        in out
    )


def test_missing_provider_prints_record_and_exits_1(ns, capsys):
    code = main(["spf", "good.example", "--provider", "sendgrid", "--nameserver", ns])
    out = capsys.readouterr().out
    assert code == 1
    assert "v=spf1 include:spf.trekmail.net include:sendgrid.net -all" in out


def test_findings_exit_1(ns, capsys):
    assert main(["spf", "open.example", "--nameserver", ns]) == 1
    out = capsys.readouterr().out
    assert "Record authorizes everyone (+all)" in out
    assert "pass_all" not in out


def test_ip_check_and_json(ns, capsys):
    code = main(["spf", "good.example", "--ip", "198.51.100.7", "--nameserver", ns, "--json"])
    document = json.loads(capsys.readouterr().out)
    assert code == 0
    assert document["check"]["result"] == "pass"
    assert document["analysis"]["record"] == "v=spf1 include:spf.trekmail.net -all"
    assert document["check"]["trace"], "the trace is missing from the JSON"


def test_failing_ip_exits_1(ns, capsys):
    assert main(["spf", "good.example", "--ip", "203.0.113.1", "--nameserver", ns]) == 1
    assert "fail" in capsys.readouterr().out


def test_dns_timeout_exits_2(ns, capsys):
    code = main(["spf", "slow.example", "--nameserver", ns, "--dns-timeout", "0.3"])
    captured = capsys.readouterr()
    assert code == 2
    assert "Traceback" not in captured.out + captured.err


@pytest.mark.parametrize(
    "argv",
    [
        ["spf", "good.example", "--provider", "nosuch"],
        ["spf", "good.example", "--nameserver", "127.0.0.1:99999"],
        ["spf", "good.example", "--ip", "not-an-ip", "--nameserver", "127.0.0.1:1"],
        ["spf", "good.example", "--sender", "a@b.example"],
        ["spf"],
    ],
)
def test_usage_errors_exit_2_without_traceback(argv, capsys):
    code = _run(argv)
    captured = capsys.readouterr()
    assert code == 2
    assert "Traceback" not in captured.err


def _run(argv):
    try:
        return main(argv)
    except SystemExit as exc:  # argparse exits on its own usage errors
        return exc.code


def test_help_runs_as_a_module():
    done = subprocess.run(
        [sys.executable, "-m", "diagnostics", "--help"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0
    assert "spf" in done.stdout
