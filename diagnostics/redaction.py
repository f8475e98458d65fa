"""One scrubber for the secrets in play, in every form they may come back in.

A server may quote back what it was sent, and an error may quote the server, so a password can
return in any of the forms it travelled in: as is; in base64, alone (AUTH LOGIN) or inside the
AUTH PLAIN blob `\\0user\\0password`; URL-encoded; escaped inside JSON or a Python repr. A
`Scrubber` knows every such form of the secrets it was given and replaces each with a marker.

Everything that may show text from a server goes through one: the SMTP transcript and the probe's
result and diagnosis (diagnostics.smtp), the probe history (admin.probes), and every line the
command lines print (diagnostics.cli.output wraps stdout and stderr).

    scrub = Scrubber([("apikey", settings.secret)])
    scrub("535 bad credentials: SG.xxxx")       # "535 bad credentials: [hidden]"

Base64 is matched wherever the password sits in a blob: its encoding depends on the bytes before it
(modulo 3), so the part of each of the three alignments that the password alone decides is a form too.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Iterable
from typing import Any, TypeVar
from urllib.parse import quote, quote_plus

from diagnostics.secret import Secret

__all__ = ["HIDDEN", "MIN_SECRET_LENGTH", "Scrubber", "secret_forms"]

HIDDEN = "[hidden]"

# Shorter secrets would match ordinary words in replies and wreck what is shown; a real password or
# key is longer than this.
MIN_SECRET_LENGTH = 4
# A run of base64 this long (six bytes of the secret) does not turn up by chance in a reply.
_MIN_BASE64_RUN = 8

_T = TypeVar("_T")
Login = Secret | tuple[str, Secret]


def secret_forms(secret: Secret, username: str = "") -> list[str]:
    """Every form in which `secret` could come back, longest first (so a form that contains
    another is replaced whole). None for a secret shorter than MIN_SECRET_LENGTH. `username`
    gives the AUTH PLAIN blob its exact form; without it the blob is still caught, but for its
    first and last few characters."""
    value = secret.reveal()
    if len(value) < MIN_SECRET_LENGTH:
        return []
    forms = {
        value,
        json.dumps(value)[1:-1],
        json.dumps(value, ensure_ascii=False)[1:-1],
        repr(value)[1:-1],
        quote(value, safe=""),
        quote(value),
        quote_plus(value),
    }
    raw = value.encode("utf-8")
    user = username.encode("utf-8")
    for blob in (raw, b"\0" + user + b"\0" + raw, user + b"\0" + raw):
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            text = encode(blob).decode("ascii")
            forms.update((text, text.rstrip("=")))
    forms.update(_base64_runs(raw))
    return sorted((f for f in forms if f), key=lambda f: (-len(f), f))


def _base64_runs(raw: bytes) -> set[str]:
    """The base64 characters `raw` alone decides, for each of the three offsets it may start at
    inside a longer blob: the groups of four made only of its bytes."""
    runs: set[str] = set()
    for offset in range(3):
        first_group = -(-offset // 3)  # the first group of three bytes that starts inside raw
        end_group = (offset + len(raw)) // 3  # groups ending inside raw end before this one
        if end_group <= first_group:
            continue
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            text = encode(b"\0" * offset + raw).decode("ascii")
            run = text[4 * first_group : 4 * end_group]
            if len(run) >= _MIN_BASE64_RUN:
                runs.add(run)
    return runs


class Scrubber:
    """Replaces each form of the secrets it was given with `marker`. Immutable, and like a Secret it
    never shows what it holds: not in repr, str or a pickle."""

    __slots__ = ("_count", "_pattern", "marker")
    _count: int
    _pattern: re.Pattern[str] | None
    marker: str

    def __init__(self, secrets: Iterable[Login] = (), *, marker: str = HIDDEN) -> None:
        forms: set[str] = set()
        count = 0
        for item in secrets:
            username, secret = ("", item) if isinstance(item, Secret) else item
            found = secret_forms(secret, username)
            count += bool(found)
            forms.update(found)
        ordered = sorted(forms, key=lambda f: (-len(f), f))
        pattern = re.compile("|".join(map(re.escape, ordered))) if ordered else None
        object.__setattr__(self, "_pattern", pattern)
        object.__setattr__(self, "_count", count)
        object.__setattr__(self, "marker", marker)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("Scrubber is immutable")

    def __repr__(self) -> str:
        return f"Scrubber({self._count} secret{'' if self._count == 1 else 's'})"

    def __reduce__(self) -> Any:
        raise TypeError("a Scrubber cannot be pickled: it holds secrets")

    def __bool__(self) -> bool:
        return self._pattern is not None

    def __call__(self, text: str) -> str:
        return self.scrub(text)

    def scrub(self, text: str) -> str:
        """`text` with every form of every secret replaced by the marker."""
        if self._pattern is None or not text:
            return text
        return self._pattern.sub(self.marker, text)

    def scrub_data(self, value: _T) -> _T:
        """`value` with every string in it scrubbed: mappings (keys too), lists and tuples, to any
        depth. Other values are returned as they are."""
        scrubbed: _T = _walk(value, self.scrub)
        return scrubbed


def _walk(value: Any, scrub: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {_walk(k, scrub): _walk(v, scrub) for k, v in value.items()}
    if isinstance(value, list):
        return [_walk(v, scrub) for v in value]
    if isinstance(value, tuple):
        return tuple(_walk(v, scrub) for v in value)
    return value
