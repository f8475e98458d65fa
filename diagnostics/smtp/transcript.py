"""A swaks-like transcript of one SMTP session, with every secret kept out of it.

Markers, as swaks prints them: `===` what the probe did, ` -> ` a line sent in clear, `<-  ` a line
received in clear, ` ~> ` and `<~  ` the same inside TLS, `<** ` an error reply, `*** ` a local
error. AUTH payloads are never written: the probe records `AUTH PLAIN [credentials hidden]`. As a
second guard, every line passes through the session's scrubber (diagnostics.redaction), which knows
the password in every form it may come back in, so a server that echoes it cannot put it on a page.
"""

from __future__ import annotations

from collections.abc import Iterable

from diagnostics.redaction import HIDDEN, Scrubber, secret_forms
from diagnostics.secret import Secret

__all__ = ["CREDENTIALS_HIDDEN", "HIDDEN", "Transcript", "scrub", "secret_forms"]

CREDENTIALS_HIDDEN = "[credentials hidden]"


def scrub(text: str, forms: Iterable[str]) -> str:
    """`text` with each of `forms` (from `secret_forms`) replaced by a marker. A `Scrubber` does the
    same for every secret of a session at once."""
    for form in sorted(forms, key=len, reverse=True):
        if form and form in text:
            text = text.replace(form, HIDDEN)
    return text


class Transcript:
    """Collects the lines of one session as it runs. Lines are scrubbed as they are added, so what
    is stored never held a secret. `scrubber` is the session's; without one, a scrubber for
    `secrets` (with `username`, for the AUTH PLAIN form)."""

    def __init__(
        self,
        secrets: Iterable[Secret] = (),
        *,
        username: str = "",
        scrubber: Scrubber | None = None,
    ) -> None:
        self._scrub = (
            scrubber if scrubber is not None else Scrubber((username, secret) for secret in secrets)
        )
        self._lines: list[str] = []
        self.in_tls = False

    def __repr__(self) -> str:
        return f"Transcript({len(self._lines)} lines)"

    @property
    def lines(self) -> tuple[str, ...]:
        return tuple(self._lines)

    def _add(self, marker: str, text: str) -> None:
        for line in text.splitlines() or [""]:
            self._lines.append(marker + self._scrub(line))

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
