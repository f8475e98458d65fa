"""Signing in to the desk: names and passwords checked and throttled, sessions started, resumed and
ended, the binding of a user to their identity provider's account, and the audit of each of them.

    auth = store.users                      # Users: administration (admin.users) and this
    result = auth.sign_in("dana", Secret(pw), client_key="203.0.113.9")
    if result.ok:                           # result.session_token: a Secret, kept by the page
        check = auth.resume(result.session_token)   # check.principal: Principal("dana", support)

Throttling and session expiry follow admin.signin; a password is a Secret in memory and is never
stored, logged or put in an exception. Signing in needs no principal at all.

A sign-in through OpenID Connect (`oidc_principal`, after admin.oidc checked the claims) binds the
user to the provider's account (iss, sub) the first time; another account with the same address is
refused from then on, until an admin clears the binding (admin.users, `unbind_oidc`).

The audit log gets every sign-in, failed sign-in, lock-out (when it starts), sign-out and expired
session, under the user's name, and each OpenID Connect binding made. A failed try names the user
only when the name tried is a user's: any other name is kept as its length, in case it was a
password typed in the wrong field. An OpenID Connect sign-in, refusal or expiry is audited once per
sign-in at the provider (`audit_oidc_sign_in`, `audit_oidc_refusal`, `audit_oidc_session_expired`):
the identity provider's cookie makes every reload and new tab a new browser session showing the same
sign-in, which is known by the ID token's issue time, kept in the entry and looked for in the
database before an entry is written.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import CursorResult, delete, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from admin._snapshots import oidc_state, user_state
from admin._transactions import Transactions
from admin.access import Principal, Role
from admin.errors import AdminInputError
from admin.inputs import MAX_TEXT, clean_name
from admin.models import AuditRow, SessionRow, ThrottleRow, UserRow
from admin.oidc import OidcIdentity
from admin.passwords import Hasher
from admin.records import AuditAction
from admin.signin import (
    DISABLED_MESSAGE,
    WRONG_MESSAGE,
    SessionCheck,
    SessionPolicy,
    SessionStatus,
    SignInOutcome,
    SignInResult,
    ThrottlePolicy,
    locked_message,
    token_hash,
    wait_words,
)
from diagnostics.secret import Secret
from diagnostics.wording import plural

log = logging.getLogger("admin.users")

# A client key is an address; cut so that a (name, client) throttle key fits its 255 characters.
_MAX_CLIENT_KEY = 160


class OidcOutcome(StrEnum):
    OK = "ok"
    NO_USER = "no_user"
    DISABLED = "disabled"
    OTHER_ACCOUNT = "other_account"


@dataclass(frozen=True, slots=True)
class OidcSignIn:
    """What the desk makes of a provider's identity: `principal` only when `ok`; `bound` when
    this sign-in bound the user to the provider's account (the first one)."""

    outcome: OidcOutcome
    principal: Principal | None = None
    bound: bool = False

    @property
    def ok(self) -> bool:
        return self.outcome is OidcOutcome.OK


class Authentication:
    """Sign-in, sessions and their audit, over the store's database (admin._transactions)."""

    def __init__(
        self,
        tx: Transactions,
        *,
        hasher: Hasher,
        throttle: ThrottlePolicy,
        sessions: SessionPolicy,
    ) -> None:
        self._tx = tx
        self._hasher = hasher
        self._throttle = throttle
        self._sessions = sessions

    def sign_in(
        self, name: str, password: Secret, *, client_key: str | None = None
    ) -> SignInResult:
        """Check a name and password, throttled; on success a new session (see SignInResult)."""
        now = self._tx.now()
        try:
            cleaned = clean_name(name)
        except AdminInputError:
            cleaned = ""  # still throttled and hashed like any unknown name
        typed = len(name.strip()) if isinstance(name, str) else 0
        client = client_key[:_MAX_CLIENT_KEY] if client_key else None
        keys = _ThrottleKeys.of(cleaned, client)
        wait = self._locked_for(keys.locking, now)
        if wait is not None:
            # Logged, not audited: a try while locked checks no password and costs nothing, so a
            # script could write the audit log full with them. The lock itself was audited when
            # it started (SIGN_IN_LOCKED), with the name and client it holds.
            log.info("sign-in refused while locked (%.0f s left)", wait)
            return SignInResult(SignInOutcome.LOCKED, locked_message(wait), retry_after=wait)
        with self._tx.read() as s:
            row = s.scalar(select(UserRow).where(UserRow.name == cleaned)) if cleaned else None
            stored_hash = row.password_hash if row is not None else None
        if not isinstance(password, Secret) or not self._hasher.verify(stored_hash, password):
            tried = _Tried(row.name if row is not None else None, typed, client)
            locked = self._record_failure(keys, now, tried)
            log.info("sign-in failed for a name (%d characters)", len(cleaned))
            if locked is not None:
                return SignInResult(
                    SignInOutcome.WRONG,
                    f"{WRONG_MESSAGE} {locked_message(locked)}",
                    retry_after=locked,
                )
            return SignInResult(SignInOutcome.WRONG, WRONG_MESSAGE)
        assert row is not None
        if row.disabled:
            with self._tx.write() as s:
                self._audit_failure(s, _Tried(row.name, typed, client), "the user is disabled")
            return SignInResult(SignInOutcome.DISABLED, DISABLED_MESSAGE)
        token = Secret(secrets.token_urlsafe(32))
        with self._tx.write() as s:
            # The client's own count stays: it may have guessed other names.
            s.execute(delete(ThrottleRow).where(ThrottleRow.key.in_([keys.pair, keys.name])))
            # Sessions nobody will resume again (browser closed) go at the next sign-in.
            s.execute(
                delete(SessionRow).where(
                    (SessionRow.last_seen_at < now - self._sessions.idle)
                    | (SessionRow.created_at < now - self._sessions.absolute)
                )
            )
            fresh = s.get(UserRow, row.id)
            if fresh is None or fresh.disabled:
                return SignInResult(SignInOutcome.DISABLED, DISABLED_MESSAGE)
            if self._hasher.needs_rehash(fresh.password_hash):
                fresh.password_hash = self._hasher.hash(password)
            fresh.last_sign_in_at = now
            s.add(
                SessionRow(
                    token_hash=token_hash(token), user_id=fresh.id, created_at=now, last_seen_at=now
                )
            )
            principal = Principal(fresh.name, Role(fresh.role))
            self._tx.audit(
                s,
                principal.name,
                AuditAction.SIGNED_IN,
                f"{principal.name} signed in ({principal.role.value})" + _from(client) + ".",
                after=_where(client),
            )
        log.info("%s signed in", principal.name)
        return SignInResult(SignInOutcome.OK, "Signed in.", principal, token)

    def principal_for(self, name: str) -> Principal | None:
        """The enabled user called `name` as a principal, or None: for a sign-in done elsewhere
        (OpenID Connect), where the identity provider vouches for the name and the desk gives the role."""
        try:
            cleaned = clean_name(name)
        except AdminInputError:
            return None
        with self._tx.read() as s:
            row = s.scalar(select(UserRow).where(UserRow.name == cleaned))
        if row is None or row.disabled:
            return None
        return Principal(row.name, Role(row.role))

    def oidc_principal(self, identity: OidcIdentity) -> OidcSignIn:
        """The enabled user named by the provider's address, for a sign-in through OpenID Connect
        (admin.oidc checked the claims). The first such sign-in binds the user to the provider's
        account (iss, sub); later ones must come from that account: another account showing the
        same address (a new provider account, another tenant) is refused until an admin clears
        the binding (`unbind_oidc`). The binding is audited; a refusal is the caller's to audit."""
        try:
            cleaned = clean_name(identity.email)
        except AdminInputError:
            return OidcSignIn(OidcOutcome.NO_USER)
        with self._tx.read() as s:
            row = s.scalar(select(UserRow).where(UserRow.name == cleaned))
        if row is None or row.disabled or row.oidc_subject is not None:
            return _matched(row, identity)
        return self._bind_oidc(row.id, identity)

    def _bind_oidc(self, user_id: int, identity: OidcIdentity) -> OidcSignIn:
        with self._tx.write() as s:
            # Locked and read again: two first sign-ins at once bind one account, and the other
            # is compared with it like any later sign-in.
            row = s.scalar(select(UserRow).where(UserRow.id == user_id).with_for_update())
            if row is None or row.disabled or row.oidc_subject is not None:
                return _matched(row, identity)
            before = user_state(row) | oidc_state(row)
            row.oidc_issuer, row.oidc_subject = identity.issuer, identity.subject
            row.updated_at = self._tx.now()
            self._tx.audit(
                s,
                row.name,
                AuditAction.USER_CHANGED,
                f"Bound {row.name} to their identity provider account at their first sign-in "
                "through it.",
                before=before,
                after=user_state(row) | oidc_state(row),
            )
            return OidcSignIn(OidcOutcome.OK, Principal(row.name, Role(row.role)), bound=True)

    def resume(self, token: Secret | str | None) -> SessionCheck:
        """The principal of a live session, or why there is none (expired, unknown, ended)."""
        if not token:
            return SessionCheck(SessionStatus.UNKNOWN, "Please sign in.")
        now = self._tx.now()
        digest = token_hash(token)
        with self._tx.read() as s:
            found = s.execute(
                select(SessionRow, UserRow)
                .join(UserRow, UserRow.id == SessionRow.user_id)
                .where(SessionRow.token_hash == digest)
            ).first()
        if found is None:
            return SessionCheck(SessionStatus.UNKNOWN, "Please sign in.")
        session, user = found
        if user.disabled or self._sessions.expired(session.created_at, session.last_seen_at, now):
            self._end(token, AuditAction.SESSION_EXPIRED)
            return SessionCheck(SessionStatus.EXPIRED, "Your session has expired: sign in again.")
        if now - session.last_seen_at >= self._sessions.touch_every:
            with self._tx.write() as s:
                live = s.get(SessionRow, digest)
                if live is not None:
                    live.last_seen_at = now
        return SessionCheck(
            SessionStatus.ACTIVE, "Signed in.", Principal(user.name, Role(user.role))
        )

    def end(self, token: Secret | str | None) -> None:
        """Sign out: the session stops working at once, in every process."""
        self._end(token, AuditAction.SIGNED_OUT)

    def _end(self, token: Secret | str | None, why: AuditAction) -> None:
        if not token:
            return
        digest = token_hash(token)
        with self._tx.write() as s:
            name = s.scalar(
                select(UserRow.name)
                .join(SessionRow, SessionRow.user_id == UserRow.id)
                .where(SessionRow.token_hash == digest)
            )
            ended = s.execute(delete(SessionRow).where(SessionRow.token_hash == digest))
            # Only a session that was live is audited: a stale browser tab presenting an ended
            # session again is not a second sign-out.
            if name is not None and isinstance(ended, CursorResult) and ended.rowcount:
                summary = _signed_out(name) if why is AuditAction.SIGNED_OUT else _expired(name)
                self._tx.audit(s, name, why, summary)

    # -- OpenID Connect: each sign-in at the provider audited once -------------------------------

    def audit_oidc_sign_in(self, principal: Principal, issued_at: int | None) -> bool:
        """Audit `principal`'s sign-in through the identity provider, once for the ID token issued
        at `issued_at` (its `iat`, seconds since 1970) whatever the reloads and tabs that show it.
        True when this call wrote the entry; a token without `iat` is audited every time."""
        return self._audit_oidc_once(
            principal.name,
            AuditAction.SIGNED_IN,
            f"{principal.name} signed in ({principal.role.value}) through the identity provider.",
            issued_at,
        )

    def audit_oidc_session_expired(self, principal: Principal, issued_at: int | None) -> bool:
        """Audit, once per ID token, that a sign-in through the identity provider is older than a
        desk session may be (admin.signin.SessionPolicy.absolute)."""
        return self._audit_oidc_once(
            principal.name, AuditAction.SESSION_EXPIRED, _expired(principal.name), issued_at
        )

    def audit_oidc_refusal(
        self,
        address: str | None,
        reason: str,
        issued_at: int | None,
        facts: Mapping[str, str] | None = None,
    ) -> bool:
        """Audit, once per ID token, a refused sign-in through the identity provider as a failed
        sign-in under the address the provider gave (`address`, as admin.oidc.shown_address shows
        it; None when there is none). `reason` finishes the sentence, in plain words; `facts`
        (the refused account's issuer and subject, say) go into the entry as they are."""
        # shown_address made it printable ASCII already; cut as every actor is (admin.inputs).
        actor = " ".join(address.split())[:MAX_TEXT] if address else _NO_ADDRESS
        return self._audit_oidc_once(
            actor,
            AuditAction.SIGN_IN_FAILED,
            "Failed sign-in through the identity provider as "
            f"{address or 'an account without an address'}: {reason}.",
            issued_at,
            facts,
        )

    def audit_oidc_sign_out(self, principal: Principal) -> None:
        """Audit a sign-out through the identity provider: the provider's cookie is the session,
        so the desk has no session row to end, only the entry to write."""
        with self._tx.write() as s:
            self._tx.audit(s, principal.name, AuditAction.SIGNED_OUT, _signed_out(principal.name))

    def _audit_oidc_once(
        self,
        actor: str,
        action: AuditAction,
        summary: str,
        issued_at: int | None,
        facts: Mapping[str, str] | None = None,
    ) -> bool:
        after: dict[str, Any] = {"via": "openid connect", "token_issued_at": issued_at}
        after |= facts or {}
        with self._tx.write() as s:
            if issued_at is not None:
                # Looked for and written in one transaction, which two browser sessions of the
                # same sign-in may run at once: SQLite's writers queue already (BEGIN IMMEDIATE),
                # PostgreSQL's wait on a lock of their own for this entry.
                _serialize(s, f"{action} {actor} {issued_at}")
                if self._oidc_audited(s, actor, action, after):
                    return False
            self._tx.audit(s, actor, action, summary, after=after)
        return True

    def _oidc_audited(
        self, s: Session, actor: str, action: AuditAction, after: Mapping[str, Any]
    ) -> bool:
        """True when the audit log holds this entry already (the same who, what and facts)."""
        issued = AuditRow.after["token_issued_at"].as_integer()
        found = s.scalars(
            select(AuditRow.after).where(
                AuditRow.action == action.value,
                AuditRow.actor == actor,
                issued == after["token_issued_at"],
            )
        )
        return any(entry == after for entry in found)

    # -- the audit of local sign-ins ---------------------------------------------------------------

    def _audit_failure(self, s: Session, tried: _Tried, why: str) -> None:
        self._tx.audit(
            s,
            tried.actor,
            AuditAction.SIGN_IN_FAILED,
            f"Failed sign-in as {tried.who}" + _from(tried.client) + f": {why}.",
            after=tried.facts() | {"reason": why},
        )

    def _audit_lock(
        self,
        s: Session,
        tried: _Tried,
        by_client: bool,
        failures: int,
        lock: timedelta,
        *,
        name_failures: int | None = None,
    ) -> None:
        """A lock as it starts. `name_failures`: the name's failures from all clients, when they
        (and not this pair's own) made this client wait."""
        if by_client:
            held = f"the client {tried.client}"
        else:
            held = f"the name {tried.who}" + (
                f" from the client {tried.client}" if tried.client else ""
            )
        why = f"after {plural(failures, 'failed try', 'failed tries')}"
        if name_failures is not None:
            why += f"; the name has {plural(name_failures, 'failed try', 'failed tries')} from all clients"
        facts: dict[str, Any] = {
            "locked": "client" if by_client else "name",
            "failures": failures,
            "seconds": lock.total_seconds(),
        }
        if name_failures is not None:
            facts["name_failures"] = name_failures
        self._tx.audit(
            s,
            tried.actor,
            AuditAction.SIGN_IN_LOCKED,
            f"Sign-in locked for {wait_words(lock.total_seconds())} for {held} {why}.",
            after=tried.facts() | facts,
        )

    def _locked_for(self, keys: Sequence[str], now: datetime) -> float | None:
        with self._tx.read() as s:
            locks = s.scalars(
                select(ThrottleRow.locked_until).where(
                    ThrottleRow.key.in_(keys), ThrottleRow.locked_until > now
                )
            ).all()
        if not locks:
            return None
        return max((until - now).total_seconds() for until in locks if until is not None)

    def _record_failure(self, keys: _ThrottleKeys, now: datetime, tried: _Tried) -> float | None:
        """Count one failure against the name, the pair and the client, and audit it and any lock
        it starts (admin.signin); the longest lock it starts, in seconds."""
        longest: timedelta | None = None
        with self._tx.write() as s:
            # Guessed names would otherwise pile up: rows past the window and unlocked are dropped.
            s.execute(
                delete(ThrottleRow).where(
                    ThrottleRow.last_failure_at < now - self._throttle.forget_after,
                    (ThrottleRow.locked_until.is_(None)) | (ThrottleRow.locked_until <= now),
                )
            )
            # Always in this order (name, pair, client), so two processes never wait on each other.
            name_failures = self._count_failure(s, keys.name, now).failures
            pair = self._count_failure(s, keys.pair, now)
            own = self._throttle.lock_after(pair.failures)
            slowed = self._throttle.name_delay(name_failures)
            lock = max((d for d in (own, slowed) if d is not None), default=None)
            if lock is not None:
                pair.locked_until = now + lock
                longest = lock
                # Said when the name's count from all clients, not this pair's, set the wait.
                spread = name_failures if lock != own else None
                self._audit_lock(s, tried, False, pair.failures, lock, name_failures=spread)
            if keys.client is not None:
                row = self._count_failure(s, keys.client, now)
                lock = self._throttle.lock_after(row.failures)
                if lock is not None:
                    row.locked_until = now + lock
                    longest = lock if longest is None else max(longest, lock)
                    self._audit_lock(s, tried, True, row.failures, lock)
            self._audit_failure(s, tried, "wrong name or password")
        return longest.total_seconds() if longest is not None else None

    def _count_failure(self, s: Session, key: str, now: datetime) -> ThrottleRow:
        """One more failure in a row for `key` (its lock, if any, is the caller's to set)."""
        _insert_ignore(s, key, now)
        row = s.scalar(select(ThrottleRow).where(ThrottleRow.key == key).with_for_update())
        assert row is not None
        if now - row.last_failure_at > self._throttle.forget_after:
            row.failures = 0
        row.failures += 1
        row.last_failure_at = now
        row.locked_until = None
        return row


@dataclass(frozen=True, slots=True)
class _ThrottleKeys:
    """The sign_in_throttle rows one try counts against (admin.signin): the name from every client,
    the name from this client (the pair), and this client. Only the pair and the client lock."""

    name: str
    pair: str
    client: str | None

    @classmethod
    def of(cls, name: str, client: str | None) -> _ThrottleKeys:
        # Without a client the pair is the name itself: all unknown clients are one client.
        pair = f"user:{name}" + (f" client:{client}" if client else "")
        return cls(f"name:{name}", pair, f"client:{client}" if client else None)

    @property
    def locking(self) -> list[str]:
        return [self.pair] if self.client is None else [self.pair, self.client]


@dataclass(frozen=True, slots=True)
class _Tried:
    """A failed sign-in as the audit log tells it. `user` is the name tried when it is a user's;
    any other name is kept only as its length, since people type a password into the name field
    by mistake and the audit log is read by every admin and support user."""

    user: str | None
    name_length: int
    client: str | None

    @property
    def actor(self) -> str:
        return self.user or UNKNOWN_NAME

    @property
    def who(self) -> str:
        if self.user is not None:
            return self.user
        return f"a name that is no user's ({plural(self.name_length, 'character')})"

    def facts(self) -> dict[str, Any]:
        facts: dict[str, Any] = {"name": self.user, "known_user": self.user is not None}
        if self.user is None:
            facts["name_length"] = self.name_length
        return facts | (_where(self.client) or {})


UNKNOWN_NAME = "(unknown name)"


def _from(client: str | None) -> str:
    return f" from {client}" if client else ""


def _where(client: str | None) -> dict[str, Any] | None:
    return {"client": client} if client else None


def _insert_ignore(s: Session, key: str, now: datetime) -> None:
    # Two processes may count the first failure of one name at once: neither must fail.
    values = {"key": key, "failures": 0, "last_failure_at": now, "locked_until": None}
    bind = s.get_bind()
    insert = pg_insert if bind.dialect.name == "postgresql" else sqlite_insert
    s.execute(insert(ThrottleRow).values(**values).on_conflict_do_nothing(index_elements=["key"]))


def _matched(row: UserRow | None, identity: OidcIdentity) -> OidcSignIn:
    """A provider's identity against a user already bound (or none, or disabled)."""
    if row is None:
        return OidcSignIn(OidcOutcome.NO_USER)
    if row.disabled:
        return OidcSignIn(OidcOutcome.DISABLED)
    if (row.oidc_issuer, row.oidc_subject) != (identity.issuer, identity.subject):
        return OidcSignIn(OidcOutcome.OTHER_ACCOUNT)
    return OidcSignIn(OidcOutcome.OK, Principal(row.name, Role(row.role)))


# The actor of a refused OpenID Connect sign-in whose provider gave no address.
_NO_ADDRESS = "(no address)"


def _signed_out(name: str) -> str:
    return f"{name} signed out."


def _expired(name: str) -> str:
    return f"The session of {name} expired."


def _serialize(s: Session, marker: str) -> None:
    """On PostgreSQL, wait in this transaction for any other that serializes on `marker` (a
    transaction-level advisory lock, released at commit); SQLite's writers are serialized already."""
    if s.get_bind().dialect.name == "postgresql":
        key = int.from_bytes(hashlib.sha256(marker.encode()).digest()[:8], "big", signed=True)
        s.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


__all__ = ["UNKNOWN_NAME", "Authentication", "OidcOutcome", "OidcSignIn"]
