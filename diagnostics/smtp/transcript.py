"""A swaks-like transcript of one SMTP session, with every secret kept out of it.

Markers, as swaks prints them: `===` what the probe did, ` -> ` a line sent in clear, `<-  ` a line
received in clear, ` ~> ` and `<~  ` the same inside TLS, `<** ` an error reply, `*** ` a local
error. AUTH payloads are never written: the probe records `AUTH PLAIN [credentials hidden]`. As a
second guard, every line is scrubbed of the secrets the transcript was given (the raw value and its
base64 forms), so a server that echoes a password back cannot put it on a page either.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable

from diagnostics.secret import Secret

HIDDEN = "[hidden]"
CREDENTIALS_HIDDEN = "[credentials hidden]"

# Shorter secrets would match ordinary words in replies and wreck the transcript; a real password or
# key is longer than this.
_MIN_SCRUB_LENGTH = 4


def secret_forms(secret: Secret, username: str = "") -> list[str]:
    """Every form in which `secret` could appear on the wire: as is, base64, and inside the AUTH PLAIN
    blob (`\\0user\\0password`) that a server might echo."""
    value = secret.reveal()
    if len(value) < _MIN_SCRUB_LENGTH:
        return []
    raw = value.encode("utf-8")
    blobs = [raw, b"\0" + username.encode("utf-8") + b"\0" + raw]
    forms = [value] + [base64.b64encode(blob).decode("ascii") for blob in blobs]
    # Longest first, so a form that contains another is replaced whole.
    return sorted(set(forms), key=len, reverse=True)


def scrub(text: str, forms: Iterable[str]) -> str:
    """`text` with each secret form replaced by a marker."""
    for form in forms:
        if form and form in text:
            text = text.replace(form, HIDDEN)
    return text


class Transcript:
    """Collects the lines of one session as it runs. Lines are scrubbed as they are added, so what
    is stored never held a secret."""

    def __init__(self, secrets: Iterable[Secret] = (), *, username: str = "") -> None:
        self._forms: list[str] = []
        for secret in secrets:
            self._forms.extend(secret_forms(secret, username))
        self._lines: list[str] = []
        self.in_tls = False

    def __repr__(self) -> str:
        return f"Transcript({len(self._lines)} lines)"

    @property
    def lines(self) -> tuple[str, ...]:
        return tuple(self._lines)

    def _add(self, marker: str, text: str) -> None:
        for line in text.splitlines() or [""]:
            self._lines.append(marker + scrub(line, self._forms))

    def info(self, text: str) -> None:
        self._add("=== ", text)

    def error(self, text: str) -> None:
        self._add("*** ", text)

    def sent(self, text: str) -> None:
        self._add(" ~> " if self.in_tls else " -> ", text)

    def received(self, code: int, text: str, *, error: bool = False) -> None:
        """A reply, one line per line of text, continuation lines marked `code-` as on the wire."""
        marker = "<** " if error else ("<~  " if self.in_tls else "<-  ")
        parts = text.splitlines() or [""]
        for i, part in enumerate(parts):
            sep = " " if i == len(parts) - 1 else "-"
            self._add(marker, f"{code}{sep}{part}")
