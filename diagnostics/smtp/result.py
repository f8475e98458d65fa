"""The outcome of one SMTP probe as a value: what was reached, what went wrong, and the evidence.

Every text in it that came from the server (replies, the transcript, the explanation that quotes a
reply, the certificate's names) can be passed through a scrubber with `scrubbed()`; the probe does
so before it returns, so no result holds the password, whatever the server echoed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from diagnostics.smtp.codes import Hint, Stage, Symptom


@dataclass(frozen=True, slots=True)
class Reply:
    """Which command got which reply. `command` is as sent, except AUTH payloads (never recorded)."""

    command: str
    code: int
    text: str

    def __str__(self) -> str:
        return f"{self.code} {' '.join(self.text.split())}".strip()

    @property
    def permanent(self) -> bool:
        return 500 <= self.code < 600

    @property
    def temporary(self) -> bool:
        return 400 <= self.code < 500

    def scrubbed(self, scrub: Callable[[str], str]) -> Reply:
        return Reply(scrub(self.command), self.code, scrub(self.text))

    def to_dict(self) -> dict[str, Any]:
        return {"command": self.command, "code": self.code, "text": self.text}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Reply:
        return cls(str(data["command"]), int(data["code"]), str(data["text"]))


@dataclass(frozen=True, slots=True)
class TlsInfo:
    """The TLS session and the server's certificate, as far as they were seen."""

    version: str | None = None
    cipher: str | None = None
    subject: str | None = None
    issuer: str | None = None
    not_after: datetime | None = None
    names: tuple[str, ...] = ()
    verified: bool = False

    def scrubbed(self, scrub: Callable[[str], str]) -> TlsInfo:
        return replace(
            self,
            subject=scrub(self.subject) if self.subject else self.subject,
            issuer=scrub(self.issuer) if self.issuer else self.issuer,
            names=tuple(scrub(n) for n in self.names),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "cipher": self.cipher,
            "subject": self.subject,
            "issuer": self.issuer,
            "not_after": self.not_after.isoformat() if self.not_after else None,
            "names": list(self.names),
            "verified": self.verified,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TlsInfo:
        not_after = data.get("not_after")
        return cls(
            version=data.get("version"),
            cipher=data.get("cipher"),
            subject=data.get("subject"),
            issuer=data.get("issuer"),
            not_after=datetime.fromisoformat(not_after) if not_after else None,
            names=tuple(data.get("names") or ()),
            verified=bool(data.get("verified")),
        )


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """One probe. `ok` means every stage asked for passed; otherwise `symptom` says what went wrong,
    `explanation` and `fix` say why and what to change, and `hints` name a provider-specific cause."""

    ok: bool
    stage: Stage
    host: str
    port: int
    security: str
    symptom: Symptom | None = None
    explanation: str = ""
    fix: str = ""
    hints: tuple[Hint, ...] = ()
    provider: str | None = None
    address: str | None = None
    transcript: tuple[str, ...] = ()
    duration: float = 0.0
    tls: TlsInfo | None = None
    replies: tuple[Reply, ...] = ()
    accepted_recipients: tuple[str, ...] = ()
    refused_recipients: dict[str, Reply] = field(default_factory=dict)
    sent_message_id: str | None = None

    @property
    def summary(self) -> str:
        """One line for lists and logs."""
        if self.ok:
            return (
                f"OK: {self.host}:{self.port} passed every step up to {self.stage.label} in "
                f"{self.duration:.1f} s"
            )
        what = self.symptom.label if self.symptom else "Failed"
        return f"{what} at {self.stage.label}: {self.explanation}"

    def scrubbed(self, scrub: Callable[[str], str]) -> ProbeResult:
        """This result with `scrub` (a diagnostics.redaction.Scrubber) applied to every text that
        came from the server or quotes it."""
        return replace(
            self,
            explanation=scrub(self.explanation),
            fix=scrub(self.fix),
            transcript=tuple(scrub(line) for line in self.transcript),
            tls=self.tls.scrubbed(scrub) if self.tls else None,
            replies=tuple(r.scrubbed(scrub) for r in self.replies),
            refused_recipients={k: v.scrubbed(scrub) for k, v in self.refused_recipients.items()},
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form for storage and `--json`; holds no secret (the probe scrubbed it)."""
        return {
            "ok": self.ok,
            "stage": self.stage.value,
            "host": self.host,
            "port": self.port,
            "security": self.security,
            "symptom": self.symptom.value if self.symptom else None,
            "explanation": self.explanation,
            "fix": self.fix,
            "hints": [h.value for h in self.hints],
            "provider": self.provider,
            "address": self.address,
            "transcript": list(self.transcript),
            "duration": round(self.duration, 3),
            "tls": self.tls.to_dict() if self.tls else None,
            "replies": [r.to_dict() for r in self.replies],
            "accepted_recipients": list(self.accepted_recipients),
            "refused_recipients": {k: v.to_dict() for k, v in self.refused_recipients.items()},
            "sent_message_id": self.sent_message_id,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ProbeResult:
        """The result back from `to_dict()`, for a stored test shown again later."""
        symptom = data.get("symptom")
        return cls(
            ok=bool(data["ok"]),
            stage=Stage(data["stage"]),
            host=str(data["host"]),
            port=int(data["port"]),
            security=str(data["security"]),
            symptom=Symptom(symptom) if symptom else None,
            explanation=str(data.get("explanation") or ""),
            fix=str(data.get("fix") or ""),
            hints=tuple(Hint(h) for h in data.get("hints") or ()),
            provider=data.get("provider"),
            address=data.get("address"),
            transcript=tuple(data.get("transcript") or ()),
            duration=float(data.get("duration") or 0.0),
            tls=TlsInfo.from_dict(data["tls"]) if data.get("tls") else None,
            replies=tuple(Reply.from_dict(r) for r in data.get("replies") or ()),
            accepted_recipients=tuple(data.get("accepted_recipients") or ()),
            refused_recipients={
                k: Reply.from_dict(v) for k, v in (data.get("refused_recipients") or {}).items()
            },
            sent_message_id=data.get("sent_message_id"),
        )
