"""Password hashing with argon2id (argon2-cffi): the only place a password is turned into a hash.

The default cost is argon2-cffi's (RFC 9106 "low memory": t=3, m=64 MiB, p=4). Tests pass a cheaper
`Hasher(fast=True)`; a hash made with other parameters still verifies and is re-hashed with the
current ones at the next successful sign-in. Passwords arrive as `Secret` and are revealed only to
the hash function.
"""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from admin.errors import AdminInputError
from diagnostics.secret import Secret

MIN_LENGTH = 10
MAX_LENGTH = 1024  # argon2 takes any length; a cap keeps a huge "password" from costing CPU


class Hasher:
    """Hash and verify passwords; verifies an unknown user against a dummy hash, so a wrong name
    costs the same time as a wrong password."""

    def __init__(self, *, fast: bool = False) -> None:
        self._ph = (
            PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
            if fast
            else PasswordHasher()
        )
        self._dummy: str | None = None

    def hash(self, password: Secret) -> str:
        return self._ph.hash(password.reveal())

    def verify(self, password_hash: str | None, password: Secret) -> bool:
        """True if `password` matches; with `password_hash` None, hashes against a dummy and is False."""
        if password_hash is None:
            if self._dummy is None:
                self._dummy = self._ph.hash(secrets.token_urlsafe(16))
            password_hash = self._dummy
            with_real_hash = False
        else:
            with_real_hash = True
        try:
            self._ph.verify(password_hash, password.reveal())
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
        return with_real_hash

    def needs_rehash(self, password_hash: str) -> bool:
        try:
            return self._ph.check_needs_rehash(password_hash)
        except InvalidHashError:
            return True


def check_new_password(password: Secret) -> Secret:
    """Refuse a password too short (or absurdly long) to set; the message never repeats it."""
    if not isinstance(password, Secret):
        raise AdminInputError("A password must be given as a Secret.")
    if len(password) < MIN_LENGTH:
        raise AdminInputError(f"The password must be at least {MIN_LENGTH} characters long.")
    if len(password) > MAX_LENGTH:
        raise AdminInputError(f"The password must be at most {MAX_LENGTH} characters long.")
    return password
