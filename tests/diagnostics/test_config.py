"""diagnostics.config: every variable the desk reads, parsed in one place into a typed, frozen
DeskConfig; every malformed one named at once with what it accepts, never a default in its place;
README's Configuration table and the object kept field for field; and no other module of the
project reading the environment for a setting."""

from __future__ import annotations

import ast
import dataclasses
import re
from collections.abc import Iterator, Mapping
from datetime import timedelta
from pathlib import Path

import pytest

from diagnostics.config import (
    VARIABLES,
    AuthConfig,
    AuthMode,
    ChecksConfig,
    ConfigError,
    DatabaseConfig,
    DeskConfig,
    DnsConfig,
    ReportsConfig,
    SmtpConfig,
)
from diagnostics.database import DEFAULT_DATA_DIR
from diagnostics.dmarc import ParseLimits
from diagnostics.errors import DiagnosticsError, InvalidInput
from diagnostics.secret import Secret

ROOT = Path(__file__).resolve().parents[2]
KEY = "c2VjcmV0LWtleS1vZi10aGUtZGVzay10ZXN0cy0xMjM0NQ=="


class _Recording(dict[str, str]):
    """An environment that notes every variable asked for."""

    def __init__(self, values: Mapping[str, str] = {}) -> None:
        super().__init__(values)
        self.asked: set[str] = set()

    def get(self, key: str, default: object = None) -> object:  # type: ignore[override]
        self.asked.add(key)
        return super().get(key, default)


def test_an_empty_environment_is_the_documented_defaults() -> None:
    config = DeskConfig.from_env({})
    assert config == DeskConfig()
    assert config.database == DatabaseConfig(None, DEFAULT_DATA_DIR, None, 10.0)
    assert config.database.address == f"sqlite:///{DEFAULT_DATA_DIR / 'desk.sqlite'}"
    assert config.database.key_path == DEFAULT_DATA_DIR / "secret.key"
    assert config.dns == DnsConfig(None, 3.0)
    assert config.smtp == SmtpConfig(10.0, None)
    assert config.checks.timeout == 20.0
    assert config.reports == ReportsConfig(50, 500)
    assert config.auth == AuthConfig(None, frozenset(), timedelta(minutes=30), timedelta(hours=12))
    assert config.secret_key is None


def test_every_variable_sets_its_field(tmp_path: Path) -> None:
    cafile = tmp_path / "relay-ca.pem"
    cafile.write_text("a CA certificate\n")
    environ = {
        "DATABASE_URL": " postgresql+psycopg2://desk@db.example/desk ",
        "DESK_SECRET_KEY": f" {KEY} ",
        "DESK_NAMESERVER": "[::1]:5353",
        "DESK_DNS_TIMEOUT": "1.5",
        "DESK_DATA_DIR": str(tmp_path / "data"),
        "DESK_SECRET_KEY_FILE": str(tmp_path / "keys" / "desk.key"),
        "DESK_SMTP_TIMEOUT": "25",
        "DESK_SMTP_CAFILE": str(cafile),
        "DESK_CHECK_TIMEOUT": "0.5",
        "DESK_HEALTH_NETWORK": " On ",
        "DESK_MAX_UPLOAD_MB": " 5 ",
        "DESK_MAX_UPLOAD_FILES": "2",
        "DESK_REPORT_ADDRESSES": " dmarc@reports.example.net, ,tls@reports.example.net",
        "DESK_MAX_REPORT_MB": "100",
        "DESK_MAX_READ_SECONDS": "12.5",
        "DESK_AUTH": " OIDC ",
        "DESK_OIDC_TRUSTED_ISSUERS": " https://a.example ,, https://b.example/v2.0",
        "DESK_SESSION_IDLE_MINUTES": "5",
        "DESK_SESSION_MAX_HOURS": "1.5",
        "DESK_DB_BUSY_SECONDS": "0.25",
    }
    assert set(environ) == set(VARIABLES)  # this test sets each one
    config = DeskConfig.from_env(environ)
    assert config == DeskConfig(
        database=DatabaseConfig(
            "postgresql+psycopg2://desk@db.example/desk",
            tmp_path / "data",
            tmp_path / "keys" / "desk.key",
            0.25,
        ),
        dns=DnsConfig("[::1]:5353", 1.5),
        smtp=SmtpConfig(25.0, cafile),
        checks=ChecksConfig(0.5, network=True),
        reports=ReportsConfig(
            5, 2, 100, 12.5, ("dmarc@reports.example.net", "tls@reports.example.net")
        ),
        auth=AuthConfig(
            AuthMode.OIDC,
            frozenset({"https://a.example", "https://b.example/v2.0"}),
            timedelta(minutes=5),
            timedelta(hours=1.5),
        ),
        secret_key=Secret(KEY),
    )
    assert config.database.key_path == tmp_path / "keys" / "desk.key"


def test_set_but_blank_is_unset() -> None:
    assert DeskConfig.from_env({name: "  " for name in VARIABLES}) == DeskConfig()


@pytest.mark.parametrize(
    ("name", "value", "said"),
    [
        ("DESK_DNS_TIMEOUT", "abc", 'DESK_DNS_TIMEOUT="abc" is not a number of seconds above 0'),
        ("DESK_DNS_TIMEOUT", "0", 'DESK_DNS_TIMEOUT="0" is not a number of seconds above 0'),
        ("DESK_DNS_TIMEOUT", "nan", 'DESK_DNS_TIMEOUT="nan" is not a number of seconds above 0'),
        ("DESK_CHECK_TIMEOUT", "-3", 'DESK_CHECK_TIMEOUT="-3" is not a number of seconds above 0'),
        (
            "DESK_SMTP_TIMEOUT",
            "90",
            'DESK_SMTP_TIMEOUT="90" is not a number of seconds from 1 to 60',
        ),
        (
            "DESK_DB_BUSY_SECONDS",
            "inf",
            'DESK_DB_BUSY_SECONDS="inf" is not a number of seconds above 0 and under 86400',
        ),
        (
            "DESK_MAX_UPLOAD_MB",
            "1.5",
            'DESK_MAX_UPLOAD_MB="1.5" is not a whole number of megabytes (1 or more)',
        ),
        (
            "DESK_MAX_UPLOAD_FILES",
            "0",
            'DESK_MAX_UPLOAD_FILES="0" is not a whole number of files (1 or more)',
        ),
        (
            "DESK_REPORT_ADDRESSES",
            "dmarc@reports.example.net; ops",
            'DESK_REPORT_ADDRESSES="dmarc@reports.example.net; ops" is not a list of e-mail '
            "addresses, e.g. dmarc@reports.example.net",
        ),
        ("DESK_AUTH", "ldap", 'DESK_AUTH="ldap" is not a sign-in mode: local, oidc or none'),
        (
            "DESK_HEALTH_NETWORK",
            "maybe",
            'DESK_HEALTH_NETWORK="maybe" is not on or off: 1, true, yes, on or 0, false, no, off',
        ),
        (
            "DESK_SESSION_IDLE_MINUTES",
            "ten",
            'DESK_SESSION_IDLE_MINUTES="ten" is not a number of minutes above 0',
        ),
        (
            "DESK_SESSION_MAX_HOURS",
            "1e400",
            'DESK_SESSION_MAX_HOURS="1e400" is not a number of hours above 0',
        ),
        (
            "DESK_NAMESERVER",
            "127.0.0.1:99999",
            'DESK_NAMESERVER="127.0.0.1:99999" is not HOST or HOST:PORT (a port from 1 to 65535)',
        ),
        ("DESK_SMTP_CAFILE", "/no/such/ca.pem", 'DESK_SMTP_CAFILE="/no/such/ca.pem" is not a file'),
    ],
)
def test_a_malformed_value_is_refused_with_what_it_accepts(
    name: str, value: str, said: str
) -> None:
    with pytest.raises(ConfigError) as refused:
        DeskConfig.from_env({name: value})
    assert refused.value.problems == (said,)
    assert said in str(refused.value)


def test_every_malformed_variable_is_said_at_once_and_in_plain_words() -> None:
    with pytest.raises(ConfigError) as refused:
        DeskConfig.from_env(
            {"DESK_DNS_TIMEOUT": "abc", "DESK_AUTH": "ldap", "DESK_MAX_UPLOAD_MB": "lots"}
        )
    assert [p.split("=")[0] for p in refused.value.problems] == [
        "DESK_DNS_TIMEOUT",
        "DESK_MAX_UPLOAD_MB",
        "DESK_AUTH",
    ]
    message = str(refused.value)
    assert message.startswith("The configuration needs fixing (README, Configuration): ")
    assert "\n" not in message  # one line for a terminal
    # One family of errors: the CLI says any DiagnosticsError as a usage error (exit 2).
    assert isinstance(refused.value, InvalidInput)
    assert isinstance(refused.value, DiagnosticsError)
    assert isinstance(refused.value, ValueError)


def test_a_message_repeats_a_value_made_visible_and_cut() -> None:
    with pytest.raises(ConfigError) as refused:
        DeskConfig.from_env({"DESK_CHECK_TIMEOUT": "\x1b[31m" + "9" * 200})
    [problem] = refused.value.problems
    assert "\x1b" not in problem
    assert problem.startswith('DESK_CHECK_TIMEOUT="\\x1b[31m999')
    assert '…" is not a number of seconds above 0' in problem
    assert len(problem) < 120


def test_the_secret_key_is_never_repeated_nor_shown() -> None:
    with pytest.raises(ConfigError) as refused:
        DeskConfig.from_env({"DESK_SECRET_KEY": KEY, "DESK_DNS_TIMEOUT": "x"})
    assert KEY not in str(refused.value)
    config = DeskConfig.from_env({"DESK_SECRET_KEY": KEY})
    assert config.secret_key is not None
    assert config.secret_key.reveal() == KEY
    assert KEY not in repr(config)
    assert KEY not in str(config)


def test_a_url_is_never_repeated_since_it_may_hold_a_password() -> None:
    # DATABASE_URL is checked where the database is opened (diagnostics.database.database_url),
    # whose messages never repeat it; here it is only taken.
    url = "postgresql+psycopg2://desk:hunter2@db.example/desk"
    assert DeskConfig.from_env({"DATABASE_URL": url}).database.url == url


def test_the_configuration_is_frozen() -> None:
    config = DeskConfig()
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.dns = DnsConfig("127.0.0.1")  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.dns.timeout = 1.0  # type: ignore[misc]


def test_the_resolver_is_fresh_each_time_and_asks_the_configured_nameserver() -> None:
    dns = DnsConfig("127.0.0.1:5353", timeout=1.5)
    resolver = dns.resolver()
    assert (resolver.nameservers, resolver.port, resolver.timeout) == (["127.0.0.1"], 5353, 1.5)
    assert dns.resolver() is not resolver  # its own cache: never shared between users
    assert DnsConfig().resolver().timeout == 3.0


def test_the_parse_caps_follow_the_upload_settings() -> None:
    limits = ReportsConfig(5, 2, 100, 12.5).parse_limits()
    # The parser reads any file the page takes (the page refuses a larger one unread).
    assert limits.max_input_bytes == ParseLimits().max_input_bytes == 128 * 1024 * 1024
    assert ReportsConfig(max_upload_mb=500).parse_limits().max_input_bytes == 500 * 1024 * 1024
    assert limits.max_report_bytes == 100 * 1024 * 1024
    assert limits.max_seconds == 12.5
    # The rest are the parser's defaults, sized from real reports.
    defaults = ParseLimits()
    assert (limits.max_records, limits.max_ratio) == (defaults.max_records, defaults.max_ratio)


def test_from_env_reads_each_listed_variable_and_no_other() -> None:
    environ = _Recording()
    DeskConfig.from_env(environ)
    assert environ.asked == set(VARIABLES)


def _fields(config: object, prefix: str = "") -> Iterator[str]:
    for item in dataclasses.fields(config):  # type: ignore[arg-type]
        value = getattr(config, item.name)
        if dataclasses.is_dataclass(value):
            yield from _fields(value, f"{prefix}{item.name}.")
        else:
            yield f"{prefix}{item.name}"


def test_each_field_is_set_by_exactly_one_variable() -> None:
    assert sorted(VARIABLES.values()) == sorted(_fields(DeskConfig()))


def _readme_variables() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    return [name for row in rows for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", row.split("|")[1])]


def test_the_readme_table_lists_exactly_the_variables_read() -> None:
    listed = _readme_variables()
    assert len(listed) == len(set(listed)), "a variable is listed twice"
    assert sorted(listed) == sorted(VARIABLES)


# -- the environment is read where a program starts, and nowhere else ------------------------------

SOURCES = ("diagnostics", "admin", "desk", "pages", "app.py")
# Modules that may touch os.environ, and why. Even they never read a setting by its name: they
# hand the whole environment to DeskConfig.from_env, or read a variable a command-line option names.
ENTRY_POINTS = {
    "diagnostics/cli/__init__.py": "main() reads the configuration once",
    "admin/cli.py": "main() reads the configuration once; --*-env options name secrets",
    "desk/configuration.py": "the app reads its configuration once per process",
    "diagnostics/cli/smtp.py": "--password-env names the variable holding the password",
    "diagnostics/cli/intake.py": "--password-env names the variable holding the password",
    "diagnostics/cli/output.py": "the values of the --*-env variables, to keep them out of output",
}


_READERS = ("environ", "getenv", "environb", "putenv")


def _environment_uses(path: Path) -> list[tuple[int, str]]:
    """Each use of the process environment in `path`: (line, what is done with it), in order."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "os":
            for alias in node.names:
                if alias.name in _READERS:
                    found.append((node.lineno, f"{alias.name} imported from os"))
        if not (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "os"
            and node.attr in _READERS
        ):
            continue
        parent = parents.get(node)
        key: ast.expr | None = None
        if isinstance(parent, ast.Subscript):
            key = parent.slice
        elif isinstance(parent, ast.Attribute) and parent.attr == "get":
            call = parents.get(parent)
            key = call.args[0] if isinstance(call, ast.Call) and call.args else None
        elif isinstance(parent, ast.Call) and parent.func is node:
            key = parent.args[0] if parent.args else None
        elif isinstance(parent, ast.Compare):
            key = parent.left
        elif isinstance(parent, ast.Call):
            called = ast.unparse(parent.func)
            found.append((node.lineno, f"os.{node.attr} handed to {called}"))
            continue
        if isinstance(key, ast.Constant):
            found.append((node.lineno, f"os.{node.attr} read by name: {key.value!r}"))
        else:
            found.append((node.lineno, f"os.{node.attr}"))
    return sorted(found)


def _project_files() -> Iterator[tuple[str, Path]]:
    for source in SOURCES:
        place = ROOT / source
        for path in [place] if place.is_file() else sorted(place.rglob("*.py")):
            yield str(path.relative_to(ROOT)), path


def test_only_the_entry_points_touch_the_environment() -> None:
    found = [
        f"{name}:{line}: {what}"
        for name, path in _project_files()
        if name not in ENTRY_POINTS
        for line, what in _environment_uses(path)
    ]
    assert found == []


def test_the_entry_points_read_no_setting_by_name() -> None:
    found = []
    for name in ENTRY_POINTS:
        for line, what in _environment_uses(ROOT / name):
            handed = what.endswith("handed to DeskConfig.from_env")
            if "read by name" in what or ("handed to" in what and not handed):
                found.append(f"{name}:{line}: {what}")
    assert found == []
    # And each entry point is still one (a stale entry would let a module back in unnoticed).
    assert all(_environment_uses(ROOT / name) for name in ENTRY_POINTS)


def test_the_environment_check_sees_each_way_of_reading_it(tmp_path: Path) -> None:
    module = tmp_path / "reader.py"
    module.write_text(
        "import os\nfrom os import environ\n"
        'a = os.environ.get("DESK_X", "")\n'
        'b = os.environ["DESK_Y"]\n'
        'c = "DESK_Z" in os.environ\n'
        'd = os.getenv("DESK_W")\n'
        "e = dict(os.environ)\n"
        "f = os.environ.get(name)\n"
    )
    assert [what for _, what in _environment_uses(module)] == [
        "environ imported from os",
        "os.environ read by name: 'DESK_X'",
        "os.environ read by name: 'DESK_Y'",
        "os.environ read by name: 'DESK_Z'",
        "os.getenv read by name: 'DESK_W'",
        "os.environ handed to dict",
        "os.environ",
    ]
