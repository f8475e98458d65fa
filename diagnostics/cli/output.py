"""Everything a command line prints passes through here, scrubbed of the secrets in play.

`main` runs each command inside `scrubbed_output(...)`, which puts a scrubbing stream in front of
stdout and stderr for the whole run: no command, today's or one added later, can print a secret it
read or one a server echoed back (an SMTP refusal quoting the password), in text or in --json.

The secrets in play are the values of the environment variables the options name: by convention
every option `--NAME-env VAR` names a variable holding a secret (the only way a secret reaches a
command line), and `--username` is the user name that goes with it in the AUTH PLAIN form.
"""

from __future__ import annotations

import argparse
import io
import logging
import os
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from typing import TextIO

from diagnostics.redaction import Login, Scrubber
from diagnostics.secret import Secret

__all__ = ["PlainLogFormatter", "ScrubbedStream", "scrubbed_output", "secrets_in_play"]

# A line is written out once complete; a carriage return ends one too (a progress bar redraws).
_LINE_ENDS = ("\n", "\r")


def secrets_in_play(args: argparse.Namespace) -> list[Login]:
    """The secrets the parsed options name: the value of each `--*-env` variable that is set, with
    the `--username` given, if any."""
    username = getattr(args, "username", None) or ""
    found: list[Login] = []
    for name, value in sorted(vars(args).items()):
        if name.endswith("_env") and isinstance(value, str) and os.environ.get(value):
            found.append((username, Secret(os.environ[value])))
    return found


class ScrubbedStream(io.TextIOBase):
    """A text stream that writes whole lines to `stream`, each scrubbed first. Lines are kept until
    complete, so a secret written in two pieces (`print(a, b)` writes a, " ", b) is still found;
    `flush()` writes what is pending."""

    def __init__(self, stream: TextIO, scrubber: Scrubber) -> None:
        super().__init__()
        self._stream = stream
        self._scrub = scrubber
        self._pending = ""

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self._stream, "encoding", None) or "utf-8"

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return self._stream.isatty()

    def write(self, text: str) -> int:
        self._pending += text
        end = max(self._pending.rfind(e) for e in _LINE_ENDS) + 1
        if end:
            self._stream.write(self._scrub(self._pending[:end]))
            self._pending = self._pending[end:]
        return len(text)

    def flush(self) -> None:
        if self._pending:
            self._stream.write(self._scrub(self._pending))
            self._pending = ""
        self._stream.flush()

    # close() (IOBase's) flushes and marks this stream closed; the wrapped one is the caller's.


class PlainLogFormatter(logging.Formatter):
    """A log record as one plain line, "warning: what happened", never with a traceback: the
    library logs the exception behind a refused report for a developer's log, and Python's
    last-resort handler would print it on a support person's terminal."""

    def format(self, record: logging.LogRecord) -> str:
        return f"{record.levelname.lower()}: {' '.join(record.getMessage().split())}"


@contextmanager
def scrubbed_output(secrets: Iterable[Login]) -> Iterator[Scrubber]:
    """Within the block, sys.stdout and sys.stderr scrub every form of `secrets` from what is
    written to them, and the library's warnings reach stderr as plain lines (PlainLogFormatter)."""
    scrubber = Scrubber(secrets)
    out, err = ScrubbedStream(sys.stdout, scrubber), ScrubbedStream(sys.stderr, scrubber)
    handler = logging.StreamHandler(err)
    handler.setLevel(logging.WARNING)
    handler.setFormatter(PlainLogFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        with redirect_stdout(out), redirect_stderr(err):
            yield scrubber
    finally:
        root.removeHandler(handler)
        out.close()
        err.close()
