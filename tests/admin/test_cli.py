"""`python -m admin users ...` through main(argv), on the database DATABASE_URL names."""

from __future__ import annotations

import getpass
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import URL

from admin import Role, Store
from admin.cli import main
from diagnostics.secret import Secret

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "cli test password 4242"


@pytest.fixture
def database(db_url: URL, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    """The database the CLI opens (via DATABASE_URL), and a store on it to look at the result."""
    monkeypatch.setenv("DATABASE_URL", db_url.render_as_string(hide_password=False))
    monkeypatch.setenv("DESK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DESK_TEST_PASSWORD", PASSWORD)
    with Store(db_url, key_file=tmp_path / "data" / "secret.key") as store:
        yield store


def test_add_list_set_role_disable_and_enable(
    database: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["users", "add", "Dana", "--role", "support", "--password-env", "DESK_TEST_PASSWORD"]
    assert main(argv) == 0
    assert "Added dana (support)" in capsys.readouterr().out
    assert database.users.sign_in("dana", Secret(PASSWORD)).ok

    assert main(["users", "set-role", "dana", "analyst"]) == 0
    assert database.users.get_user("dana").role is Role.ANALYST

    assert main(["users", "disable", "dana"]) == 0
    assert database.users.get_user("dana").disabled
    assert main(["users", "enable", "dana"]) == 0
    capsys.readouterr()

    assert main(["users", "list", "--json"]) == 0
    [listed] = json.loads(capsys.readouterr().out)
    assert listed["name"] == "dana"
    assert listed["role"] == "analyst"
    assert listed["disabled"] is False
    assert listed["last_sign_in_at"] is not None
    assert database.audit_log(limit=1)[0].actor.startswith("cli")


def test_refusals_and_usage_errors_have_their_exit_codes_and_never_echo_a_password(
    database: Store, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert main(["users", "disable", "nobody"]) == 1
    assert "No user named nobody" in capsys.readouterr().err

    monkeypatch.setenv("DESK_SHORT", "short")
    assert main(["users", "add", "eve", "--role", "admin", "--password-env", "DESK_SHORT"]) == 2
    err = capsys.readouterr().err
    assert "at least 10 characters" in err
    assert "short" not in err.replace("at least", "")

    assert main(["users", "add", "eve", "--role", "admin", "--password-env", "DESK_UNSET"]) == 2
    assert "DESK_UNSET is not set" in capsys.readouterr().err

    with pytest.raises(SystemExit) as usage:
        main(["users", "add", "eve", "--role", "admin", "--password", PASSWORD])
    assert usage.value.code == 2
    assert PASSWORD not in capsys.readouterr().err
    assert main(["users", "add", "eve", "--role", "admin", "--password-env", PASSWORD]) == 2
    assert PASSWORD not in capsys.readouterr().err

    with pytest.raises(SystemExit) as bad_role:
        main(["users", "add", "eve", "--role", "owner"])
    assert bad_role.value.code == 2
    assert not database.users.has_users()


def test_the_password_is_asked_twice_and_must_match(
    database: Store, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    typed = iter([PASSWORD, PASSWORD + "x"])
    monkeypatch.setattr(getpass, "getpass", lambda prompt="": next(typed))
    assert main(["users", "add", "eve", "--role", "admin"]) == 2
    assert "differ" in capsys.readouterr().err
    assert not database.users.has_users()

    typed = iter([PASSWORD, PASSWORD])
    assert main(["users", "add", "eve", "--role", "admin"]) == 0
    assert database.users.sign_in("eve", Secret(PASSWORD)).ok


def test_python_dash_m_admin_runs(database: Store) -> None:
    database.users.add_user("root", "admin", Secret(PASSWORD))
    run = subprocess.run(
        [sys.executable, "-m", "admin", "users", "list"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    assert "root" in run.stdout
    assert "admin" in run.stdout
