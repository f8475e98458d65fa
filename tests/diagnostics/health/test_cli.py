"""`python -m diagnostics health` and `headers`: output, JSON and exit codes, on loopback DNS."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

from diagnostics.cli import build_parser, main
from tests.diagnostics.health.test_health import ZONE

SAMPLES = Path(__file__).parents[2] / "data" / "headers"


@pytest.fixture
def ns(nameserver):
    return nameserver(ZONE).address


def test_health_seed_example_prints_the_record_and_exits_1(ns, capsys):
    code = main(["health", "seed.example", "--provider", "sendgrid", "--nameserver", ns])
    out = capsys.readouterr().out
    assert code == 1
    # SendGrid's include is advised, not required: a warning, never "ok".
    assert "SPF    WARNING" in out
    assert "Provider's include advised" in out
    assert "v=spf1 include:spf.trekmail.net include:sendgrid.net -all" in out
    assert "DKIM   ok" in out


def test_health_ses_host_gives_the_exact_mail_from_records(ns, capsys):
    code = main(
        ["health", "sesdefault.example", "--host", "email-smtp.eu-west-1.amazonaws.com",
         "--selector", "ses=abcdefabcdefabcdefabcdefabcdef34", "--nameserver", ns]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert "Domain health for sesdefault.example (trekmail, ses)" in out
    assert "SPF    ok" in out  # SES's own MAIL FROM is no SPF problem (issue 12 finding 4)
    assert 'mail.sesdefault.example MX "10 feedback-smtp.eu-west-1.amazonses.com"' in out
    assert code == 0


def test_health_all_good_exits_0_with_json(ns, capsys):
    code = main(["health", "good.example", "--provider", "sendgrid", "--nameserver", ns, "--json"])
    document = json.loads(capsys.readouterr().out)
    assert code == 0
    assert document["status"] == "ok"
    assert [s["selector"] for s in document["dkim_selectors"]] == ["trekmail", "s1", "s2"]


def test_health_selector_option(ns, capsys):
    code = main(
        [
            "health",
            "ses.example",
            "--provider",
            "ses",
            "--selector",
            "ses=abcdefabcdefabcdefabcdefabcdef12",
            "--nameserver",
            ns,
        ]
    )
    assert code == 1
    assert "revoked" in capsys.readouterr().out


@pytest.mark.parametrize("bad", ["ses", "nosuch=abc", "ses="])
def test_health_bad_selector_is_usage_error(ns, capsys, bad):
    assert main(["health", "x.example", "--selector", bad, "--nameserver", ns]) == 2
    assert "KEY=SELECTOR" in capsys.readouterr().err


def test_health_dns_down_exits_2(nameserver, capsys):
    silent = nameserver({"slow.example": {"TIMEOUT": True}}, delay=5).address
    code = main(["health", "slow.example", "--nameserver", silent, "--dns-timeout", "0.3"])
    assert code == 2
    out = capsys.readouterr().out
    assert "DNS did not answer" in out
    assert "dns_error" not in out


def test_headers_file(capsys):
    code = main(["headers", str(SAMPLES / "gmail_sendgrid_unaligned.txt")])
    out = capsys.readouterr().out
    assert code == 1
    assert "DMARC: fail" in out
    assert "SendGrid's own bounce domain" in out


def test_headers_aligned_exits_0_json(capsys):
    code = main(["headers", str(SAMPLES / "gmail_sendgrid_aligned.txt"), "--json"])
    assert code == 0
    assert json.loads(capsys.readouterr().out)["dmarc"]["result"] == "pass"


def test_headers_stdin(monkeypatch, capsys):
    text = (SAMPLES / "gmail_forwarded_arc.txt").read_text()
    monkeypatch.setattr(sys, "stdin", io.StringIO(text))
    assert main(["headers", "-"]) == 1
    assert "first hop mail.alumni.example-university.edu saw" in capsys.readouterr().out


def test_headers_garbage_and_missing_file_exit_2(tmp_path, capsys):
    junk = tmp_path / "junk.txt"
    junk.write_bytes(b"\x00\xff not headers at all")
    assert main(["headers", str(junk)]) == 2
    assert "do not look like e-mail headers" in capsys.readouterr().err
    assert main(["headers", str(tmp_path / "missing.txt")]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_help_lists_both_commands():
    out = build_parser().format_help()
    assert "health" in out
    assert "headers" in out
