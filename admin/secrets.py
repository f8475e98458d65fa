"""Passwords and API keys encrypted at rest, and where the key comes from.

Stored form: ``fernet:<key id>:<Fernet token>``. The key id (a short hash of the key, never the key)
lets a wrong key be told apart from damaged data, so the admin reads "the secret key does not match the
one these connections were saved with" instead of garbage or a bare `InvalidToken`.

The key, first match wins: the `key` argument (DESK_SECRET_KEY from the configuration, or the page
layer's Streamlit `st.secrets` value; this package never imports Streamlit nor reads the environment),
else a key file created on first run (data/secret.key on the embedded default) with mode 0600. A key
is either a Fernet key
(`python -m admin.secrets` prints a new one) or a passphrase of 16 characters or more, stretched with
scrypt.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import os
import stat
import tempfile
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from admin.errors import SecretKeyError
from diagnostics.secret import Secret

KEY_ENV = "DESK_SECRET_KEY"
_SCHEME = "fernet"
_MIN_PASSPHRASE = 16
# A fixed salt is acceptable here: the passphrase is a deployment's key, not a user password, and
# every process of the deployment must derive the same key from it.
_SALT = b"deliverability-desk/secret-key/v1"

WRONG_KEY_MESSAGE = (
    "The secret key does not match the one these connections were saved with. Set DESK_SECRET_KEY "
    "(or the app's secret key) to the original key, or re-enter the passwords."
)

log = logging.getLogger(__name__)


class KeySource(StrEnum):
    ARGUMENT = "argument"  # passed in by the caller (the app's Streamlit secrets)
    ENVIRONMENT = "environment"  # DESK_SECRET_KEY, through the configuration (Store.from_config)
    FILE = "file"  # the key file, created on first run


@dataclass(frozen=True, slots=True)
class LoadedKey:
    key: Secret
    source: KeySource
    path: Path | None = None  # the key file, when that is where it came from


def generate_key() -> str:
    """A new random key, in the form DESK_SECRET_KEY and the key file take."""
    return Fernet.generate_key().decode("ascii")


def key_id(key: Secret | str) -> str:
    """A short, stable name of a key: enough to tell keys apart, useless for guessing one."""
    raw = _fernet_key(Secret(key))
    return hashlib.sha256(b"desk-key-id:" + raw).hexdigest()[:12]


class SecretBox:
    """Encrypts and decrypts secrets with one key; `repr()` shows the key id only."""

    __slots__ = ("_fernet", "key_id")

    def __init__(self, key: Secret | str) -> None:
        raw = _fernet_key(Secret(key))
        self._fernet = Fernet(raw)
        self.key_id = hashlib.sha256(b"desk-key-id:" + raw).hexdigest()[:12]

    def __repr__(self) -> str:
        return f"SecretBox(key_id={self.key_id!r})"

    def encrypt(self, secret: Secret | str) -> str:
        token = self._fernet.encrypt(Secret(secret).reveal().encode("utf-8"))
        return f"{_SCHEME}:{self.key_id}:{token.decode('ascii')}"

    def decrypt(self, stored: str) -> Secret:
        scheme, _, rest = stored.partition(":")
        stored_id, _, token = rest.partition(":")
        if scheme != _SCHEME or not stored_id or not token:
            raise SecretKeyError("A stored secret is not in a form this version can read.")
        if stored_id != self.key_id:
            raise SecretKeyError(WRONG_KEY_MESSAGE)
        try:
            return Secret(self._fernet.decrypt(token.encode("ascii")).decode("utf-8"))
        except (InvalidToken, UnicodeDecodeError):
            # Same key id but the token does not verify: the stored value was altered.
            raise SecretKeyError(
                "A stored secret is damaged (it does not verify with the key it was saved with); "
                "re-enter that password."
            ) from None


def load_key(key: Secret | str | None = None, *, key_file: Path) -> LoadedKey:
    """The key to use: `key` if given, else `key_file` (created if missing)."""
    if key is not None and Secret(key):
        return LoadedKey(Secret(key), KeySource.ARGUMENT)
    return LoadedKey(ensure_key_file(key_file), KeySource.FILE, key_file)


def ensure_key_file(path: Path) -> Secret:
    """Read the key file, or create it with a new key, readable and writable by its owner only."""
    if path.exists():
        return _read_key_file(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Write a private temporary file, then link it into place: the key file appears complete or
    # not at all, and of two processes starting at once exactly one key wins (link never replaces).
    fd, temporary = tempfile.mkstemp(prefix=".secret-key-", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(generate_key() + "\n")
        try:
            os.link(temporary, path)
            log.info("created a new secret key file at %s", path)
        except FileExistsError:
            pass  # another process made it first: use theirs
    finally:
        os.unlink(temporary)
    return _read_key_file(path)


def _read_key_file(path: Path) -> Secret:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        log.warning(
            "secret key file %s is readable by others (mode %o); tightening to 0600", path, mode
        )
        os.chmod(path, 0o600)
    value = path.read_text(encoding="ascii").strip()
    if not value:
        raise SecretKeyError(f"The secret key file {path} is empty; restore it or delete it.")
    return Secret(value)


def _fernet_key(key: Secret) -> bytes:
    value = key.reveal().strip()
    try:
        raw = base64.urlsafe_b64decode(value.encode("ascii"))
        if len(raw) == 32:
            return value.encode("ascii")
    except (binascii.Error, ValueError, UnicodeEncodeError):
        pass
    if len(value) < _MIN_PASSPHRASE:
        raise SecretKeyError(
            f"The secret key is too short: use a Fernet key (python -m admin.secrets prints one) "
            f"or a passphrase of at least {_MIN_PASSPHRASE} characters."
        )
    derived = hashlib.scrypt(value.encode("utf-8"), salt=_SALT, n=2**14, r=8, p=1, dklen=32)
    return base64.urlsafe_b64encode(derived)


if __name__ == "__main__":
    print(generate_key())
