"""`python -m admin users ...` through main(argv, config=...), on the database the configuration
names; and `python -m admin` as a process, on the configuration its environment gives."""

from __future__ import annotations

import getpass
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from admin import Role, Store
from diagnostics.config import DeskConfig
from diagnostics.secret import Secret
from tests.admin.conftest import CLI_PASSWORD

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = CLI_PASSWORD


def test_add_list_set_role_disable_and_enable(
    database: Store, cli: Callable[..., int], capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["users", "add", "Dana", "--role", "support", "--password-env", "DESK_TEST_PASSWORD"]
    assert cli(argv) == 0
    assert "Added dana (support)" in capsys.readouterr().out
    assert database.users.sign_in("dana", Secret(PASSWORD)).ok

    assert cli(["users", "set-role", "dana", "analyst"]) == 0
    assert database.users.get_user("dana").role is Role.ANALYST

    assert cli(["users", "disable", "dana"]) == 0
    assert database.users.get_user("dana").disabled
    assert cli(["users", "enable", "dana"]) == 0
    capsys.readouterr()

    assert cli(["users", "list", "--json"]) == 0
    [listed] = json.loads(capsys.readouterr().out)
    assert listed["name"] == "dana"
    assert listed["role"] == "analyst"
    assert listed["disabled"] is False
    assert listed["last_sign_in_at"] is not None
    assert database.audit_log(limit=1)[0].actor.startswith("cli")


def test_refusals_and_usage_errors_have_their_exit_codes_and_never_echo_a_password(
    database: Store,
    cli: Callable[..., int],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert cli(["users", "disable", "nobody"]) == 1
    assert "No user named nobody" in capsys.readouterr().err

    monkeypatch.setenv("DESK_SHORT", "short")
    assert cli(["users", "add", "eve", "--role", "admin", "--password-env", "DESK_SHORT"]) == 2
    err = capsys.readouterr().err
    assert "at least 10 characters" in err
    assert "short" not in err.replace("at least", "")

    assert cli(["users", "add", "eve", "--role", "admin", "--password-env", "DESK_UNSET"]) == 2
    assert "DESK_UNSET is not set" in capsys.readouterr().err

    with pytest.raises(SystemExit) as usage:
        cli(["users", "add", "eve", "--role", "admin", "--password", PASSWORD])
    assert usage.value.code == 2
    assert PASSWORD not in capsys.readouterr().err
    assert cli(["users", "add", "eve", "--role", "admin", "--password-env", PASSWORD]) == 2
    assert PASSWORD not in capsys.readouterr().err

    with pytest.raises(SystemExit) as bad_role:
        cli(["users", "add", "eve", "--role", "owner"])
    assert bad_role.value.code == 2
    assert not database.users.has_users()


def test_the_password_is_asked_twice_and_must_match(
    database: Store,
    cli: Callable[..., int],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    typed = iter([PASSWORD, PASSWORD + "x"])
    monkeypatch.setattr(getpass, "getpass", lambda prompt="": next(typed))
    assert cli(["users", "add", "eve", "--role", "admin"]) == 2
    assert "differ" in capsys.readouterr().err
    assert not database.users.has_users()

    typed = iter([PASSWORD, PASSWORD])
    assert cli(["users", "add", "eve", "--role", "admin"]) == 0
    assert database.users.sign_in("eve", Secret(PASSWORD)).ok


def _environment(config: DeskConfig, **variables: str) -> dict[str, str]:
    """A process environment that configures the desk as `config` says (database, data folder),
    with `variables` on top, and nothing else of the desk's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DESK_")}
    env["DATABASE_URL"] = config.database.address
    env["DESK_DATA_DIR"] = str(config.database.data_dir)
    return {**env, **variables}


def _admin(env: dict[str, str], *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "admin", *argv],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_python_dash_m_admin_runs(database: Store, config: DeskConfig) -> None:
    database.users.add_user("root", "admin", Secret(PASSWORD))
    run = _admin(_environment(config), "users", "list")
    assert run.returncode == 0, run.stderr
    assert "root" in run.stdout
    assert "admin" in run.stdout


def test_the_cli_keeps_its_key_where_the_app_does(config: DeskConfig, tmp_path: Path) -> None:
    """DESK_SECRET_KEY_FILE: the app's key file is the CLI's, so a password the CLI's store
    encrypts (or a rotation) is under the key the pages read with."""
    key_file = tmp_path / "keys" / "desk.key"
    env = _environment(config, DESK_SECRET_KEY_FILE=str(key_file))
    run = _admin(env, "users", "list")
    assert run.returncode == 0, run.stderr
    assert key_file.is_file()
    assert not (config.database.data_dir / "secret.key").exists()


def test_a_malformed_variable_is_a_usage_error_naming_each(config: DeskConfig) -> None:
    env = _environment(
        config, DESK_SESSION_IDLE_MINUTES="soon", DESK_DB_BUSY_SECONDS="-1", DESK_AUTH="ldap"
    )
    run = _admin(env, "users", "list")
    assert run.returncode == 2
    assert run.stdout == ""
    [line] = run.stderr.splitlines()  # one plain line, no traceback
    assert line.startswith("error: The configuration needs fixing")
    assert 'DESK_SESSION_IDLE_MINUTES="soon" is not a number of minutes above 0' in line
    assert 'DESK_DB_BUSY_SECONDS="-1" is not a number of seconds above 0' in line
    assert 'DESK_AUTH="ldap" is not a sign-in mode: local, oidc or none' in line
