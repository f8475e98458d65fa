"""The CLI's shared behaviour: usage errors never echo what might be a secret, and nothing printed
holds one."""

from __future__ import annotations

import argparse
import base64
import json
import logging
import sys
from collections.abc import Iterator

from diagnostics.cli import build_parser, main
from diagnostics.cli.output import scrubbed_output, secrets_in_play
from diagnostics.secret import Secret


def _run(argv):
    try:
        return main(argv)
    except SystemExit as exc:  # argparse exits on its own usage errors
        return exc.code


def test_unrecognised_arguments_are_not_echoed(capsys):
    # A password typed on the command line by mistake must not be printed back.
    code = _run(["smtp", "test", "--host", "h", "--password", "hunter2-secret", "stray-value"])
    captured = capsys.readouterr()
    assert code == 2
    assert "hunter2-secret" not in captured.err + captured.out
    assert "stray-value" not in captured.err + captured.out


# --- the output boundary: every line printed is scrubbed of the secrets in play -------------------

SECRET = "an-api-key/with+odd=chars 7"


def test_what_a_command_prints_is_scrubbed_even_in_pieces(capsys):
    with scrubbed_output([("apikey", Secret(SECRET))]):
        print(f"Why: the server said {SECRET}")
        print(SECRET[:6], SECRET[6:], sep="")  # written in pieces
        print(json.dumps({"reply": base64.b64encode(SECRET.encode()).decode()}), file=sys.stderr)
        sys.stdout.write(f"no newline yet {SECRET}")
    captured = capsys.readouterr()
    assert captured.out == "Why: the server said [hidden]\n[hidden]\nno newline yet [hidden]"
    assert json.loads(captured.err) == {"reply": "[hidden]"}


def test_the_secrets_in_play_are_those_the_env_options_name(monkeypatch):
    monkeypatch.setenv("SMTP_PASSWORD", SECRET)
    monkeypatch.delenv("UNSET_VARIABLE", raising=False)
    args = argparse.Namespace(
        username="apikey", password_env="SMTP_PASSWORD", other_env="UNSET_VARIABLE", host="h"
    )
    [(username, secret)] = secrets_in_play(args)
    assert (username, secret.reveal()) == ("apikey", SECRET)


def _options(parser: argparse.ArgumentParser) -> Iterator[argparse.Action]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                yield from _options(sub)
        elif action.option_strings:
            yield action


def test_every_secret_an_option_takes_is_read_from_the_environment():
    # The convention the output boundary relies on: a secret comes in as `--NAME-env VAR` only.
    secretive = ("password", "secret", "token", "key")
    # Paths of files that hold a key (the receiver's TLS key): the key is read from the file, so it
    # is never on the command line; the path is no secret.
    key_files = {"tls_key"}
    options = list(_options(build_parser()))
    assert any(o.dest == "password_env" for o in options)
    for option in options:
        if any(word in option.dest for word in secretive) and option.dest not in key_files:
            assert option.dest.endswith("_env"), option.option_strings


def test_a_library_warning_is_one_plain_line_without_a_traceback(capsys):
    # The report store logs a refused report with its exception for a developer's log; with no
    # handler of its own, Python's last-resort handler printed the whole traceback in the CLI.
    with scrubbed_output([]):
        try:
            raise ValueError("index row size 3504 exceeds btree maximum 2704")
        except ValueError:
            logging.getLogger("diagnostics.dmarc.ingest").warning(
                "report %s refused by the database", "big.xml", exc_info=True
            )
    err = capsys.readouterr().err
    assert err == "warning: report big.xml refused by the database\n"
