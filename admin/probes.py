"""Turns a probe result into what the probe history keeps, with every secret taken out.

The probe (diagnostics.smtp.probe) already scrubs what the server sent; this is the second line,
for results from elsewhere (a stored dict, an older probe): before a transcript or a result reaches
the database, the connection's password is removed in every form the scrubber of
diagnostics.redaction knows (clear, base64 alone and in AUTH PLAIN, URL-encoded, JSON-escaped),
wherever it appears. `[redacted]` marks what this line caught, `[hidden]` what the probe did.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import Enum
from typing import Any

from admin.errors import AdminInputError
from diagnostics.redaction import Scrubber
from diagnostics.secret import Secret

REDACTED = "[redacted]"


@dataclass(frozen=True, slots=True)
class ProbeSummary:
    outcome: str
    ok: bool
    stage: str | None
    duration: float | None
    transcript: str
    result: dict[str, Any]


def summarize(result: Any, secrets: Iterable[tuple[str, Secret]] = ()) -> ProbeSummary:
    """`result`: a mapping, a dataclass or an object with `to_dict()` (a ProbeResult).

    `secrets`: (username, password) pairs to strip from the transcript and the stored result.
    """
    data = _as_dict(result)
    ok = bool(data.get("ok", False))
    outcome = data.get("outcome") or ("ok" if ok else data.get("symptom") or "failed")
    stage = data.get("stage")
    duration = data.get("duration")
    if isinstance(duration, timedelta):
        duration = duration.total_seconds()
    scrub = Scrubber(secrets, marker=REDACTED)
    transcript = scrub(_transcript_text(data.pop("transcript", "")))
    safe = scrub.scrub_data(json.loads(json.dumps(data, default=_jsonable, sort_keys=True)))
    return ProbeSummary(
        outcome=str(_jsonable(outcome))[:40],
        ok=ok,
        stage=None if stage is None else str(_jsonable(stage))[:40],
        duration=None if duration is None else float(duration),
        transcript=transcript,
        result=safe,
    )


def _as_dict(result: Any) -> dict[str, Any]:
    if isinstance(result, Mapping):
        return dict(result)
    to_dict = getattr(result, "to_dict", None)
    if callable(to_dict):
        return dict(to_dict())
    if dataclasses.is_dataclass(result) and not isinstance(result, type):
        return {f.name: getattr(result, f.name) for f in dataclasses.fields(result)}
    raise AdminInputError("A probe result must be a mapping or a ProbeResult.")


def _transcript_text(transcript: Any) -> str:
    if isinstance(transcript, str):
        return transcript
    if isinstance(transcript, Iterable):
        lines = []
        for line in transcript:
            if isinstance(line, str):
                lines.append(line)
            elif isinstance(line, Mapping):
                lines.append(" ".join(str(_jsonable(v)) for v in line.values()))
            elif isinstance(line, Iterable):
                lines.append(" ".join(str(_jsonable(v)) for v in line))
            else:
                lines.append(str(_jsonable(line)))
        return "\n".join(lines)
    return str(transcript)


def _jsonable(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, Secret):
        return repr(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)
