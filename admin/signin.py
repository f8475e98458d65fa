"""The rules of signing in, apart from the database: throttling after failed tries, session expiry,
and the results a sign-in attempt or a session check gives back (values, not exceptions).

Throttling: each failed try counts against the user name from that client (the pair), against the
client key when one is given, and against the name from every client. The pair and the client lock:
after `free_tries` failures in a row, every further failure locks that pair or client for a doubling
period, from `first_lock` up to `max_lock`, and a try while locked is refused without even checking
the password. The name alone never locks, so guesses from elsewhere cannot keep its owner out: once
the name has `free_tries` failures from all clients together, each further failure also makes the
client that failed wait (the same doubling, at most `name_max_delay`), which slows a guesser spread
over many addresses, while an address that has not failed signs in at once. Names are counted
whether or not they exist, so a lock says nothing about who has an account. Failures older than
`forget_after` are forgotten; a sign-in clears the pair's and the name's counts. The counts live in
the database, so the limit holds across processes and restarts. Where the client is unknown, all
unknown clients are one.

Sessions: a random token (only its SHA-256 is stored) that expires after `idle` without use or
`absolute` after sign-in, whichever comes first.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from admin.access import Principal
from diagnostics.config import AuthConfig
from diagnostics.secret import Secret


@dataclass(frozen=True, slots=True)
class ThrottlePolicy:
    free_tries: int = 3
    first_lock: timedelta = timedelta(seconds=2)
    max_lock: timedelta = timedelta(minutes=15)
    forget_after: timedelta = timedelta(hours=1)
    # The most a name's failures from all clients make a failing client wait (module docstring).
    name_max_delay: timedelta = timedelta(seconds=30)

    def lock_after(self, failures: int) -> timedelta | None:
        """How long to lock after the `failures`-th failure in a row (None: not locked yet)."""
        if failures < self.free_tries:
            return None
        doublings = min(failures - self.free_tries, 30)
        lock: timedelta = self.first_lock * (2**doublings)
        return min(lock, self.max_lock)

    def name_delay(self, name_failures: int) -> timedelta | None:
        """How long a client that just failed waits because of the name's failures from all
        clients (None: not yet); short and bounded, since the name's owner may be among them."""
        delay = self.lock_after(name_failures)
        return min(delay, self.name_max_delay) if delay is not None else None


DEFAULT_IDLE = AuthConfig().session_idle
DEFAULT_ABSOLUTE = AuthConfig().session_max


@dataclass(frozen=True, slots=True)
class SessionPolicy:
    idle: timedelta = DEFAULT_IDLE
    absolute: timedelta = DEFAULT_ABSOLUTE
    # last_seen is written at most this often, so a page rerun does not always write.
    touch_every: timedelta = timedelta(minutes=1)

    @classmethod
    def from_config(cls, auth: AuthConfig) -> SessionPolicy:
        """The session lengths the configuration sets (DESK_SESSION_IDLE_MINUTES,
        DESK_SESSION_MAX_HOURS)."""
        return cls(idle=auth.session_idle, absolute=auth.session_max)

    def expired(self, created_at: datetime, last_seen_at: datetime, now: datetime) -> bool:
        return now - last_seen_at > self.idle or now - created_at > self.absolute


class SignInOutcome(StrEnum):
    OK = "ok"
    WRONG = "wrong_name_or_password"
    LOCKED = "locked"
    DISABLED = "disabled"


class SessionStatus(StrEnum):
    ACTIVE = "active"
    EXPIRED = "expired"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class SignInResult:
    """What a sign-in attempt gave: `principal` and `session_token` only when `ok`."""

    outcome: SignInOutcome
    message: str
    principal: Principal | None = None
    session_token: Secret | None = None
    retry_after: float | None = None  # seconds, when LOCKED (or when this failure locked it)

    @property
    def ok(self) -> bool:
        return self.outcome is SignInOutcome.OK


@dataclass(frozen=True, slots=True)
class SessionCheck:
    status: SessionStatus
    message: str
    principal: Principal | None = None

    @property
    def ok(self) -> bool:
        return self.status is SessionStatus.ACTIVE


def token_hash(token: Secret | str) -> str:
    """What the database keeps of a session token: enough to find it, useless to present."""
    raw = token.reveal() if isinstance(token, Secret) else token
    return hashlib.sha256(raw.encode()).hexdigest()


def wait_words(seconds: float) -> str:
    seconds = max(1, round(seconds))
    if seconds < 120:
        return f"{seconds} seconds"
    return f"{round(seconds / 60)} minutes"


WRONG_MESSAGE = "Wrong name or password."
DISABLED_MESSAGE = "This user is disabled: ask an admin to enable it again."


def locked_message(seconds: float) -> str:
    return f"Too many failed sign-ins: try again in {wait_words(seconds)}."
