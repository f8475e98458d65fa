"""`python -m diagnostics smtp test` in a real subprocess against a loopback server that quotes the
credentials back in its refusal: the password reaches neither stdout nor stderr, in any form it
travelled in (as is, base64 alone, inside the AUTH PLAIN blob, URL-encoded, escaped in JSON)."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest

from tests.support.smtpserver import Behaviour

ROOT = Path(__file__).resolve().parents[3]
USER = "apikey"
# A quote (escaped in JSON), a slash, a plus, a space, a percent sign and an ampersand: every
# encoding of it differs from the clear form.
PASSWORD = 'Desk"Pass/word+50% & more'


def secret_forms(user: str, password: str) -> list[str]:
    raw = password.encode()
    return [
        password,
        json.dumps(password)[1:-1],
        base64.b64encode(raw).decode(),
        base64.b64encode(b"\0" + user.encode() + b"\0" + raw).decode(),
        quote(password, safe=""),
        quote_plus(password),
    ]


def echo(user: str, password: str) -> str:
    """A refusal that quotes back everything the client sent, in every form."""
    forms = " | ".join(secret_forms(user, password))
    return f"535 5.7.8 Authentication failed for {user}: {forms}"


@pytest.fixture
def ns(nameserver):
    return nameserver({"smtp.sendgrid.net": {"A": "127.0.0.1"}})


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DESK_")}
    env["SMTP_PASSWORD"] = PASSWORD
    return subprocess.run(
        [sys.executable, "-m", "diagnostics", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env=env,
    )


@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
def test_a_password_the_server_echoes_is_never_printed(smtp_server, good_tls, cafile, ns, as_json):
    server = smtp_server(Behaviour(echo_refusal=echo), starttls=good_tls)
    done = run_cli(
        "smtp", "test", "--host", "smtp.sendgrid.net", "--port", str(server.port),
        "--username", USER, "--password-env", "SMTP_PASSWORD", "--nameserver", ns.address,
        "--cafile", cafile, "--timeout", "5", *(["--json"] if as_json else []),
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert server.behaviour.logins == [USER]  # the server did see the password, and echoed it
    printed = done.stdout + done.stderr
    for form in secret_forms(USER, PASSWORD):
        assert form not in printed, form
    if as_json:
        result = json.loads(done.stdout)  # still a JSON document after scrubbing
        assert result["symptom"] == "auth_failed"
        assert "[hidden]" in result["explanation"]
        assert "[hidden]" in result["replies"][-1]["text"]
    else:
        why = next(line for line in done.stdout.splitlines() if line.startswith("Why:"))
        assert "535 5.7.8 Authentication failed for apikey: [hidden]" in why
