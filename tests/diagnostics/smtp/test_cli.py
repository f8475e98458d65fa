"""`python -m diagnostics smtp test|lint` through `main(argv)`, against a loopback server."""

from __future__ import annotations

import json
import time

import pytest

from diagnostics.cli import main
from tests.diagnostics.cli.test_configured_cli import run_cli
from tests.support.smtpserver import Behaviour

USER = "sender@example.test"
PASSWORD = "a long and secret password 42"


@pytest.fixture
def ns(nameserver):
    return nameserver({"smtp.sendgrid.net": {"A": "127.0.0.1"}, "mx.test": {"A": "127.0.0.1"}})


def test_a_passing_test(smtp_server, good_tls, cafile, ns, monkeypatch, capsys):
    behaviour = Behaviour(users={USER: PASSWORD})
    server = smtp_server(behaviour, starttls=good_tls)
    monkeypatch.setenv("SMTP_PASSWORD", PASSWORD)
    code = main(
        ["smtp", "test", "--host", "mx.test", "--port", str(server.port), "--username", USER,
         "--password-env", "SMTP_PASSWORD", "--to", "a@example.org", "--from", USER,
         "--nameserver", ns.address, "--cafile", cafile, "--timeout", "5"]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    assert out.startswith("OK  mx.test:")
    assert out.index("OK") < out.index("Transcript:")
    assert PASSWORD not in out
    assert len(behaviour.received) == 1


def test_a_diagnosed_failure_prints_the_card_first(
    smtp_server, good_tls, cafile, ns, monkeypatch, capsys
):
    server = smtp_server(Behaviour(users={"apikey": "SG.x"}), starttls=good_tls)
    monkeypatch.setenv("SG_KEY", PASSWORD)
    code = main(
        ["smtp", "test", "--host", "smtp.sendgrid.net", "--port", str(server.port),
         "--username", USER, "--password-env", "SG_KEY", "--nameserver", ns.address,
         "--cafile", cafile]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 1
    first, why, fix = out.splitlines()[:4][0], out.index("Why:"), out.index("Fix:")
    assert "at Sign-in: Authentication failed" in first
    assert "auth_failed" not in first
    assert why < fix < out.index("Transcript:")
    assert "Hints:  SendGrid user name is not apikey" in out
    assert "sendgrid_username_not_apikey" not in out
    # The lint's findings follow the card: the key is no SendGrid key either.
    assert "Not a SendGrid API key:" in out
    assert "sendgrid_key_format" not in out
    assert out.index("In the settings:") < out.index("Transcript:")
    assert PASSWORD not in out


def test_json_output(smtp_server, good_tls, cafile, ns, monkeypatch, capsys):
    server = smtp_server(Behaviour(users={USER: PASSWORD}), implicit_tls=good_tls)
    monkeypatch.setenv("SMTP_PASSWORD", "wrong one entirely")
    code = main(
        ["smtp", "test", "--host", "mx.test", "--port", str(server.port), "--security", "tls",
         "--username", USER, "--password-env", "SMTP_PASSWORD", "--nameserver", ns.address,
         "--cafile", cafile, "--json"]
    )  # fmt: skip
    data = json.loads(capsys.readouterr().out)
    assert code == 1
    assert data["symptom"] == "auth_failed"
    assert data["stage"] == "auth"
    assert "wrong one entirely" not in json.dumps(data)


def test_usage_errors(monkeypatch, capsys):
    monkeypatch.delenv("NOT_SET_ANYWHERE", raising=False)
    assert main(["smtp", "test", "--host", "mx.test", "--password-env", "NOT_SET_ANYWHERE"]) == 2
    assert "NOT_SET_ANYWHERE is not set" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main(["smtp", "test", "--host", "mx.test", "--password", "hunter2"])
    assert exit_info.value.code == 2
    assert "hunter2" not in capsys.readouterr().err.replace("--password hunter2", "")
    # A password typed where the variable's name goes is refused without being echoed.
    assert main(["smtp", "test", "--host", "mx.test", "--password-env", "pa$$ w0rd!"]) == 2
    assert "pa$$" not in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main(["smtp", "test", "--host", "mx.test", "--security", "ssl"])
    assert exit_info.value.code == 2
    assert main(["smtp", "test", "--host", "mx.test", "--port", "0"]) == 2


def test_lint(monkeypatch, capsys):
    monkeypatch.setenv("SES_SECRET", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    code = main(
        ["smtp", "lint", "--host", "email-smtp.us-east-1.amazonaws.com", "--port", "25",
         "--username", "AKIAIOSFODNN7EXAMPLE", "--password-env", "SES_SECRET", "--json"]
    )  # fmt: skip
    codes = {f["code"] for f in json.loads(capsys.readouterr().out)}
    assert code == 1
    assert codes == {"port_25", "ses_iam_secret_key"}
    monkeypatch.setenv("SG", "SG." + "a" * 22 + "." + "b" * 43)
    code = main(
        [
            "smtp",
            "lint",
            "--host",
            "smtp.sendgrid.net",
            "--username",
            "apikey",
            "--password-env",
            "SG",
        ]
    )
    assert code == 0
    assert "No problems" in capsys.readouterr().out


# ---- the app's settings: the CLI as a process, configured by its environment ----------------------


def test_the_cli_tests_a_connection_as_the_app_does(smtp_server, good_tls, cafile, ns):
    """DESK_NAMESERVER resolves the host and DESK_SMTP_CAFILE is trusted, as on the Test mail
    page: no --nameserver, no --cafile."""
    server = smtp_server(Behaviour(users={USER: PASSWORD}), starttls=good_tls)
    done = run_cli(
        "smtp", "test", "--host", "mx.test", "--port", str(server.port), "--username", USER,
        "--password-env", "SMTP_PASSWORD",
        DESK_NAMESERVER=ns.address, DESK_SMTP_CAFILE=cafile, SMTP_PASSWORD=PASSWORD,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("OK  mx.test:")
    assert "TLS:" in done.stdout
    assert PASSWORD not in done.stdout + done.stderr


def test_the_cli_gives_a_silent_server_the_apps_time_limit(smtp_server, ns):
    server = smtp_server(silent=True)
    started = time.monotonic()
    done = run_cli(
        "smtp", "test", "--host", "mx.test", "--port", str(server.port), "--json",
        DESK_NAMESERVER=ns.address, DESK_SMTP_TIMEOUT="1",
    )  # fmt: skip
    took = time.monotonic() - started
    assert done.returncode == 1, done.stderr
    assert json.loads(done.stdout)["symptom"] == "timeout"
    assert took < 8  # the interpreter's start and the 1 s limit; not the default 10 s
