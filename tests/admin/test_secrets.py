"""Secrets at rest: encryption with a key id, the wrong-key message, where the key comes from."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

import pytest

from admin.errors import SecretKeyError
from admin.secrets import (
    WRONG_KEY_MESSAGE,
    KeySource,
    SecretBox,
    ensure_key_file,
    generate_key,
    key_id,
    load_key,
)
from diagnostics.secret import Secret

PASSWORD = "SG.kX9-tQ2mZ8rV4pL6nB1cWd.Yh3Jf7Uo2Ke9Rt5Ls1Pa8Mq4Nz6Xc0Vb2Gd7Hy3Ju5Ik"


def test_round_trip_and_nothing_readable_in_the_stored_form() -> None:
    box = SecretBox(generate_key())
    stored = box.encrypt(Secret(PASSWORD))
    assert stored.startswith(f"fernet:{box.key_id}:")
    assert PASSWORD not in stored
    assert PASSWORD[-12:] not in stored
    assert box.decrypt(stored) == Secret(PASSWORD)
    assert box.decrypt(stored).reveal() == PASSWORD
    assert box.encrypt(PASSWORD) != stored  # a fresh IV each time: equal passwords do not show


def test_repr_shows_the_key_id_and_never_the_key() -> None:
    key = generate_key()
    box = SecretBox(key)
    assert key not in repr(box)
    assert box.key_id in repr(box)
    assert key_id(key) == box.key_id
    assert key not in box.key_id


def test_a_wrong_key_is_named_as_such_not_garbage() -> None:
    stored = SecretBox(generate_key()).encrypt(PASSWORD)
    with pytest.raises(SecretKeyError) as caught:
        SecretBox(generate_key()).decrypt(stored)
    assert str(caught.value) == WRONG_KEY_MESSAGE
    assert "does not match the one these connections were saved with" in str(caught.value).lower()
    assert isinstance(caught.value, ValueError)


def test_a_tampered_value_is_called_damaged() -> None:
    box = SecretBox(generate_key())
    stored = box.encrypt(PASSWORD)
    prefix, token = stored.rsplit(":", 1)
    flipped = token[:30] + ("A" if token[30] != "A" else "B") + token[31:]
    with pytest.raises(SecretKeyError, match="damaged"):
        box.decrypt(f"{prefix}:{flipped}")
    with pytest.raises(SecretKeyError, match="not in a form"):
        box.decrypt(PASSWORD)


def test_a_passphrase_works_as_a_key_and_is_stable() -> None:
    phrase = "correct horse battery staple, twice"
    stored = SecretBox(phrase).encrypt(PASSWORD)
    assert SecretBox(phrase).decrypt(stored).reveal() == PASSWORD
    with pytest.raises(SecretKeyError):
        SecretBox(phrase + "!").decrypt(stored)


def test_a_short_passphrase_is_refused_with_advice() -> None:
    with pytest.raises(SecretKeyError, match="too short") as caught:
        SecretBox("hunter2")
    assert "hunter2" not in str(caught.value)


def test_key_file_is_created_once_with_mode_0600(tmp_path: Path) -> None:
    path = tmp_path / "data" / "secret.key"
    old_umask = os.umask(0)  # the most permissive umask: the mode must still be 0600
    try:
        first = ensure_key_file(path)
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert ensure_key_file(path) == first
    SecretBox(first)  # a usable key


def test_a_key_file_readable_by_others_is_tightened(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "secret.key"
    key = generate_key()
    path.write_text(key + "\n")
    path.chmod(0o644)
    with caplog.at_level(logging.WARNING, logger="admin.secrets"):
        assert ensure_key_file(path).reveal() == key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "readable by others" in caplog.text
    assert key not in caplog.text


def test_an_empty_key_file_is_an_error_not_a_new_key(tmp_path: Path) -> None:
    path = tmp_path / "secret.key"
    path.write_text("")
    path.chmod(0o600)
    with pytest.raises(SecretKeyError, match="empty"):
        ensure_key_file(path)


def test_key_precedence_argument_then_file(tmp_path: Path) -> None:
    # DESK_SECRET_KEY reaches load_key as the argument, from the configuration (Store.from_config,
    # tests/admin/test_store_keys.py): nothing here reads the environment.
    path = tmp_path / "secret.key"
    given = generate_key()

    loaded = load_key(None, key_file=path)
    assert loaded.source is KeySource.FILE
    assert loaded.path == path
    assert path.exists()

    loaded = load_key(given, key_file=path)
    assert (loaded.source, loaded.key.reveal()) == (KeySource.ARGUMENT, given)
    assert "Secret('********')" in repr(loaded)
    assert given not in repr(loaded)
