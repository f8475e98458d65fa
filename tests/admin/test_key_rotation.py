"""`python -m admin secrets rotate` in a real subprocess, on SQLite and on PostgreSQL: every saved
password moves to the new key in one transaction, or nothing changes; audited; keys never printed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL

from admin import AuditAction, PermissionDenied, Principal, Role, SecretKeyError, Store
from admin.cli import main as cli_main
from admin.secrets import SecretBox, generate_key, key_id
from diagnostics.config import DatabaseConfig, DeskConfig
from diagnostics.secret import Secret
from tests.admin.settings_samples import (
    MAILGUN_PASSWORD,
    SENDGRID_KEY,
    SES_PASSWORD,
    mailgun,
    sendgrid,
    ses,
)

ROOT = Path(__file__).resolve().parents[2]
PASSWORDS = [SES_PASSWORD, SENDGRID_KEY, MAILGUN_PASSWORD]


@dataclass
class Desk:
    """A database with three saved connections under `old`, and what the rotation is given."""

    url: URL
    data_dir: Path
    old: str
    new: str
    connections: list[int]

    def store(self, key: str) -> Store:
        return Store(self.url, secret_key=key, key_file=self.data_dir / "secret.key")

    def rotate(self, *args: str, old: str | None = None, new: str | None = None) -> Run:
        env = {k: v for k, v in os.environ.items() if not k.startswith("DESK_")}
        env["DATABASE_URL"] = self.url.render_as_string(hide_password=False)
        env["DESK_DATA_DIR"] = str(self.data_dir)
        env["DESK_SECRET_KEY_OLD"] = old or self.old
        env["DESK_SECRET_KEY"] = new or self.new
        done = subprocess.run(
            [sys.executable, "-m", "admin", "secrets", "rotate", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        printed = done.stdout + done.stderr
        for key in (self.old, self.new, old, new):
            assert not key or key not in printed  # no key is ever printed
        return Run(done.returncode, done.stdout, done.stderr)

    def snapshot(self) -> dict[str, Any]:
        """Every row a rotation may touch, as the database holds it."""
        engine = create_engine(self.url)
        try:
            with engine.connect() as c:
                return {
                    "connections": c.execute(
                        text(
                            "SELECT id, password_encrypted, updated_at FROM connections ORDER BY id"
                        )
                    ).all(),
                    "meta": c.execute(text("SELECT key, value FROM desk_meta ORDER BY key")).all(),
                    "audit": c.execute(text("SELECT count(*) FROM audit_log")).scalar(),
                }
        finally:
            engine.dispose()

    def set_stored(self, connection_id: int, stored: str) -> None:
        engine = create_engine(self.url)
        try:
            with engine.begin() as c:
                c.execute(
                    text("UPDATE connections SET password_encrypted = :v WHERE id = :i"),
                    {"v": stored, "i": connection_id},
                )
        finally:
            engine.dispose()


@dataclass
class Run:
    code: int
    out: str
    err: str


@pytest.fixture
def desk(db_url: URL, tmp_path: Path) -> Desk:
    old, new = generate_key(), generate_key()
    data_dir = tmp_path / "data"
    made = Desk(db_url, data_dir, old, new, [])
    with made.store(old) as store:
        one = store.create_account("Harbor & Pine", "agency")
        two = store.create_account("Bluebird Bakery", "nano")
        made.connections = [
            store.add_connection(one.id, ses(), label="SES").id,
            store.add_connection(one.id, sendgrid(), label="SendGrid").id,
            store.add_connection(two.id, mailgun(), label="Mailgun").id,
        ]
    return made


def test_rotation_moves_every_password_to_the_new_key_and_is_audited(desk: Desk) -> None:
    running = desk.store(desk.old)  # a desk still running with the old key while it rotates
    assert running.key_matches

    run = desk.rotate()
    assert run.code == 0, run.err
    assert run.out.splitlines()[0] == "Re-encrypted 3 saved passwords under the new secret key."
    assert run.err == ""

    with desk.store(desk.new) as store:
        assert store.key_matches
        for conn_id, password in zip(desk.connections, PASSWORDS, strict=True):
            assert store.connection_settings(conn_id).secret.reveal() == password
        [entry] = store.audit_log(limit=1)
        assert entry.action is AuditAction.KEY_ROTATED
        assert entry.actor.startswith("cli")
        assert entry.after == {
            "old_key_id": key_id(desk.old),
            "new_key_id": key_id(desk.new),
            "reencrypted": 3,
            "already": 0,
        }
        assert desk.old not in json.dumps(entry.after) + entry.summary
        assert desk.new not in json.dumps(entry.after) + entry.summary
    stored = [row.password_encrypted for row in desk.snapshot()["connections"]]
    assert all(s.startswith(f"fernet:{key_id(desk.new)}:") for s in stored)

    # The old key reads nothing now, and a desk still running with it refuses to save.
    with desk.store(desk.old) as old:
        assert not old.key_matches
        with pytest.raises(SecretKeyError, match="does not match"):
            old.connection_settings(desk.connections[0])
    with pytest.raises(SecretKeyError, match="does not match"):
        running.add_connection(running.list_accounts()[0].id, ses())
    running.close()

    # Run again: nothing left under the old key, every password counted as already moved.
    before = desk.snapshot()
    again = desk.rotate()
    assert again.code == 0, again.err
    assert again.err == ""
    assert again.out.splitlines()[0] == (
        "Re-encrypted 0 saved passwords under the new secret key; 3 were already under it."
    )
    after = desk.snapshot()
    assert after["connections"] == before["connections"]
    assert after["audit"] == before["audit"] + 1


def test_a_wrong_old_key_changes_nothing(desk: Desk) -> None:
    before = desk.snapshot()
    run = desk.rotate(old=generate_key())
    assert run.code == 2
    assert run.out == ""
    assert "3 saved passwords of 3 cannot be read with the old key" in run.err
    assert "so nothing was changed" in run.err
    assert "“SendGrid” of account" in run.err
    assert "Traceback" not in run.err
    assert desk.snapshot() == before


def test_a_damaged_password_midway_changes_nothing(desk: Desk) -> None:
    # The first password is re-encrypted (and written, inside the transaction) before the second,
    # damaged one is reached: the rollback must take the first one back too.
    first, middle, _ = desk.connections
    stored = str(desk.snapshot()["connections"][1].password_encrypted)
    desk.set_stored(middle, stored[:-12] + ("A" if stored[-12] != "A" else "B") + stored[-11:])
    before = desk.snapshot()
    run = desk.rotate()
    assert run.code == 2
    assert "1 saved password of 3 cannot be read with the old key, so nothing was changed: " in (
        run.err
    )
    assert f"connection {middle} “SendGrid”" in run.err
    assert "damaged" in run.err
    assert f"connection {first} " not in run.err
    assert desk.snapshot() == before
    with desk.store(desk.old) as store:
        assert store.connection_settings(first).secret.reveal() == SES_PASSWORD


def test_a_password_already_under_the_new_key_is_left_as_it_is_and_counted(desk: Desk) -> None:
    # As after a new password was saved by a desk already on the new key.
    _, _, last = desk.connections
    moved = SecretBox(desk.new).encrypt(MAILGUN_PASSWORD)
    desk.set_stored(last, moved)
    run = desk.rotate()
    assert run.code == 0, run.err
    assert run.out.splitlines()[0] == (
        "Re-encrypted 2 saved passwords under the new secret key; 1 was already under it."
    )
    rows = desk.snapshot()["connections"]
    assert rows[2].password_encrypted == moved
    with desk.store(desk.new) as store:
        assert store.connection_settings(last).secret.reveal() == MAILGUN_PASSWORD


def test_usage_errors_say_so_plainly_and_never_echo_a_key(
    desk: Desk, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    database = DatabaseConfig(desk.url.render_as_string(hide_password=False), desk.data_dir)
    config = DeskConfig(database=database, secret_key=Secret(desk.new))
    main = partial(cli_main, config=config)
    before = desk.snapshot()

    assert main(["secrets", "rotate"]) == 2  # DESK_SECRET_KEY_OLD is not set
    assert "DESK_SECRET_KEY_OLD is not set" in capsys.readouterr().err

    monkeypatch.setenv("ROTATE_FROM", desk.old)
    assert main(["secrets", "rotate", "--old-key-env", "ROTATE_FROM", "--new-key-env", "NOPE"]) == 2
    assert "NOPE is not set" in capsys.readouterr().err

    monkeypatch.setenv("SAME", desk.old)
    assert main(["secrets", "rotate", "--old-key-env", "ROTATE_FROM", "--new-key-env", "SAME"]) == 2
    assert "are the same" in capsys.readouterr().err

    monkeypatch.setenv("SHORT", "tiny-key")
    assert (
        main(["secrets", "rotate", "--old-key-env", "ROTATE_FROM", "--new-key-env", "SHORT"]) == 2
    )
    assert "too short" in capsys.readouterr().err

    # A key typed where the variable's name goes, or as an option of its own, is not repeated.
    # (Joined with "=": a random key may start with "-", which argparse would take for an option.)
    assert main(["secrets", "rotate", f"--old-key-env={desk.old}"]) == 2
    assert desk.old not in capsys.readouterr().err
    with pytest.raises(SystemExit) as usage:
        main(["secrets", "rotate", "--old-key", desk.old])
    assert usage.value.code == 2
    assert desk.old not in capsys.readouterr().err
    assert desk.snapshot() == before


def test_only_an_admin_may_rotate(desk: Desk) -> None:
    with desk.store(desk.old) as store:
        support = store.as_user(Principal("sam", Role.SUPPORT))
        with pytest.raises(PermissionDenied):
            support.rotate_key(desk.old, desk.new)
        assert store.rotate_key(desk.old, desk.new, actor="alice").reencrypted == 3
