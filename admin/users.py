"""The desk's local users and their administration: add, list, disable, change role or password,
and clear the binding to an identity provider's account. Signing in is admin.authentication's;
`store.users` is both (`Users`), as the pages, the CLI and notebooks know it.

    users = store.users                     # bound to the store's principal (see Store.as_user)
    users.add_user("dana", "support", Secret(pw))
    users.set_role("dana", "admin")
    users.sign_in("dana", Secret(pw))       # admin.authentication

Passwords are argon2 hashes (admin.passwords); a password is a Secret in memory and is never stored,
logged or put in an exception. Managing users needs Permission.MANAGE_USERS and writes the audit
log; the last enabled admin cannot be disabled or demoted.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from admin._snapshots import oidc_state, user_state, user_value
from admin._transactions import Transactions
from admin.access import Actor, Permission, Principal, Role, resolve
from admin.authentication import Authentication
from admin.errors import AdminInputError, NotFound, PermissionDenied
from admin.inputs import clean_name
from admin.models import SessionRow, UserRow
from admin.passwords import Hasher, check_new_password
from admin.records import AuditAction, User
from admin.signin import SessionPolicy, ThrottlePolicy
from diagnostics.secret import Secret


class UserAdministration:
    """The users table, for whoever may manage users (and `has_users`, `add_first_admin` for the
    first run). Made through `Store.users`."""

    def __init__(self, tx: Transactions, *, hasher: Hasher, bound: Principal | None) -> None:
        self._tx = tx
        self._hasher = hasher
        self._bound = bound

    def has_users(self) -> bool:
        with self._tx.read() as s:
            return s.scalar(select(func.count()).select_from(UserRow)) != 0

    def list_users(self, *, actor: Actor = "system") -> list[User]:
        self._allow(actor)
        with self._tx.read() as s:
            return [user_value(r) for r in s.scalars(select(UserRow).order_by(UserRow.name))]

    def get_user(self, name: str, *, actor: Actor = "system") -> User:
        self._allow(actor)
        with self._tx.read() as s:
            return user_value(self._row(s, clean_name(name)))

    def add_user(
        self, name: str, role: Role | str, password: Secret, *, actor: Actor = "system"
    ) -> User:
        who = self._allow(actor)
        return self._add(name, role, password, who.name, first=False)

    def add_first_admin(self, name: str, password: Secret) -> User:
        """Create the first admin; refused once any user exists (the first-run form of the app).
        The audit log names the new admin: nobody else was signed in to do it."""
        return self._add(name, Role.ADMIN, password, None, first=True)

    def set_role(self, name: str, role: Role | str, *, actor: Actor = "system") -> User:
        who = self._allow(actor)
        chosen = Role.parse(role)
        with self._tx.write() as s:
            row = self._row(s, clean_name(name), lock=True)
            before = user_state(row)
            if row.role != chosen.value:
                self._keep_an_admin(s, row, demoting=chosen is not Role.ADMIN)
                row.role = chosen.value
                row.updated_at = self._tx.now()
                self._audit(
                    s,
                    who,
                    f"Changed the role of {row.name} to {chosen.value}.",
                    before,
                    user_state(row),
                )
            return user_value(row)

    def set_disabled(self, name: str, disabled: bool = True, *, actor: Actor = "system") -> User:
        """Disable (or enable again) a user; disabling also ends every session of that user."""
        who = self._allow(actor)
        with self._tx.write() as s:
            row = self._row(s, clean_name(name), lock=True)
            before = user_state(row)
            if row.disabled != disabled:
                if disabled:
                    self._keep_an_admin(s, row, demoting=True)
                    s.execute(delete(SessionRow).where(SessionRow.user_id == row.id))
                row.disabled = disabled
                row.updated_at = self._tx.now()
                verb = "Disabled" if disabled else "Enabled"
                self._audit(s, who, f"{verb} the user {row.name}.", before, user_state(row))
            return user_value(row)

    def set_password(self, name: str, password: Secret, *, actor: Actor = "system") -> User:
        """A new password for a user; ends that user's sessions."""
        who = self._allow(actor)
        check_new_password(password)
        password_hash = self._hasher.hash(password)
        with self._tx.write() as s:
            row = self._row(s, clean_name(name), lock=True)
            row.password_hash = password_hash
            row.updated_at = self._tx.now()
            s.execute(delete(SessionRow).where(SessionRow.user_id == row.id))
            self._audit(
                s, who, f"Set a new password for {row.name}.", user_state(row), user_state(row)
            )
            return user_value(row)

    def unbind_oidc(self, name: str, *, actor: Actor = "system") -> User:
        """Forget the provider's account a user is bound to: their next OpenID Connect sign-in
        binds them anew (after the account changed at the provider, say)."""
        who = self._allow(actor)
        with self._tx.write() as s:
            row = self._row(s, clean_name(name), lock=True)
            if row.oidc_subject is not None or row.oidc_issuer is not None:
                before = user_state(row) | oidc_state(row)
                row.oidc_issuer = row.oidc_subject = None
                row.updated_at = self._tx.now()
                self._audit(
                    s,
                    who,
                    f"Cleared the identity provider account of {row.name}: their next sign-in "
                    "through the identity provider binds them again.",
                    before,
                    user_state(row) | oidc_state(row),
                )
            return user_value(row)

    def _allow(self, actor: Actor) -> Principal:
        who = resolve(actor, self._bound)
        who.require(Permission.MANAGE_USERS)
        return who

    def _add(
        self, name: str, role: Role | str, password: Secret, actor: str | None, *, first: bool
    ) -> User:
        cleaned = clean_name(name)
        chosen = Role.parse(role)
        check_new_password(password)
        password_hash = self._hasher.hash(password)
        try:
            with self._tx.write() as s:
                if first:
                    _lock_users(s)
                    if s.scalar(select(func.count()).select_from(UserRow)):
                        raise PermissionDenied(
                            "Users already exist: the first admin can only be created once. "
                            "Sign in, or ask an admin to add you."
                        )
                now = self._tx.now()
                row = UserRow(
                    name=cleaned,
                    role=chosen.value,
                    password_hash=password_hash,
                    disabled=False,
                    created_at=now,
                    updated_at=now,
                    last_sign_in_at=None,
                )
                s.add(row)
                s.flush()
                summary = (
                    f"Created the first admin, {cleaned}, on the first run."
                    if first
                    else f"Added the user {cleaned} ({chosen.value})."
                )
                self._tx.audit(
                    s, actor or cleaned, AuditAction.USER_ADDED, summary, after=user_state(row)
                )
                return user_value(row)
        except IntegrityError:
            raise AdminInputError(f"A user named {cleaned} already exists.") from None

    def _keep_an_admin(self, s: Session, row: UserRow, *, demoting: bool) -> None:
        # Without an enabled admin nobody could manage users from the app any more.
        if not demoting or row.role != Role.ADMIN.value or row.disabled:
            return
        others = s.scalar(
            select(func.count())
            .select_from(UserRow)
            .where(UserRow.role == Role.ADMIN.value, UserRow.disabled.is_(False))
            .where(UserRow.id != row.id)
        )
        if not others:
            raise PermissionDenied(
                f"{row.name} is the last enabled admin: add another admin first."
            )

    def _audit(
        self,
        s: Session,
        who: Principal,
        summary: str,
        before: dict[str, Any],
        after: dict[str, Any],
    ) -> None:
        self._tx.audit(s, who.name, AuditAction.USER_CHANGED, summary, before=before, after=after)

    def _row(self, s: Session, name: str, *, lock: bool = False) -> UserRow:
        query = select(UserRow).where(UserRow.name == name)
        if lock:
            query = query.with_for_update()
        row = s.scalar(query)
        if row is None:
            raise NotFound(f"No user named {name}.")
        return row


class Users(UserAdministration, Authentication):
    """`store.users`: the administration of the desk's users and their sign-in, acting for the
    store's principal."""

    def __init__(
        self,
        tx: Transactions,
        *,
        hasher: Hasher,
        throttle: ThrottlePolicy,
        sessions: SessionPolicy,
        bound: Principal | None,
    ) -> None:
        UserAdministration.__init__(self, tx, hasher=hasher, bound=bound)
        Authentication.__init__(self, tx, hasher=hasher, throttle=throttle, sessions=sessions)


def _lock_users(s: Session) -> None:
    # Two first-run forms submitted at once must not both see "no users yet". SQLite's
    # BEGIN IMMEDIATE already serialises writers; PostgreSQL needs the table lock.
    if s.get_bind().dialect.name == "postgresql":
        s.execute(text("LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE"))


__all__ = ["UserAdministration", "Users"]
