"""The desk's configuration: every setting the app, the command lines and the stores take from the
environment, in one typed, frozen object, read once where a program starts and passed down.

    config = DeskConfig.from_env(os.environ)       # the app at start-up, or a CLI's main()
    store = ReportStore.from_config(config)        # the database, its busy timeout, parse caps
    resolver = config.dns.resolver()               # DESK_NAMESERVER, DESK_DNS_TIMEOUT
    config = DeskConfig(dns=DnsConfig("127.0.0.1:5353", timeout=1.0))   # a test or a notebook

`from_env` is the only place that reads a DESK_* variable or DATABASE_URL (`VARIABLES` lists them,
each with the field it sets; README's Configuration table lists the same, and a test holds the two
together). Library functions take explicit parameters (`resolver=`, a URL) with sane defaults and
never read the environment themselves.

A malformed value is never replaced by a default in silence: `from_env` reads every variable,
collects each one that is wrong, and raises one `ConfigError` naming them all with what each accepts
(`DESK_DNS_TIMEOUT="abc" is not a number of seconds`). The app says it on a screen of its own at
start-up; the command lines exit with code 2. A secret (DESK_SECRET_KEY) is never repeated; nor is
DATABASE_URL, which may hold a password (the database says what is wrong with it when it is opened).

Sections: `database` (URL, data folder, key file, busy timeout), `dns` (nameserver, timeout), `smtp`
(a connection test's time limit, one more CA), `checks` (a page's whole DNS check), `reports` (upload
caps; `parse_limits()` builds the parser's caps), `auth` (sign-in mode, trusted OpenID Connect
issuers, session lengths), and the `secret_key` of saved passwords.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from diagnostics._database_location import (
    DEFAULT_BUSY_SECONDS,
    DEFAULT_DATA_DIR,
    KEY_FILE_NAME,
    embedded_sqlite_url,
)
from diagnostics.dns import Resolver, parse_nameserver, split_nameserver
from diagnostics.errors import InvalidInput
from diagnostics.secret import Secret

if TYPE_CHECKING:
    from diagnostics.dmarc.parse import ParseLimits

__all__ = [
    "VARIABLES",
    "AuthConfig",
    "AuthMode",
    "ChecksConfig",
    "ConfigError",
    "DatabaseConfig",
    "DeskConfig",
    "DnsConfig",
    "ReportsConfig",
    "SmtpConfig",
]

_T = TypeVar("_T")

# How much of a malformed value a message repeats: enough to recognise it, not a screenful.
_SHOWN = 60
# SQLite's busy timeout: a write that waits longer than a day for the lock is waiting forever.
_MOST_BUSY_SECONDS = 86_400.0
# The Test mail page's time limit slider goes from 1 to this many seconds.
_MOST_SMTP_SECONDS = 60.0


class AuthMode(StrEnum):
    """How people sign in to the app (DESK_AUTH; desk._sign_in_mode decides when it is unset)."""

    LOCAL = "local"  # names and passwords of the desk's own users
    OIDC = "oidc"  # OpenID Connect through st.login
    NONE = "none"  # no sign-in: only when the server listens on loopback alone


class ConfigError(InvalidInput):
    """One or more variables hold a value the desk cannot use; `problems` says each, in plain words
    (the variable, the value as set unless it is secret, and what it accepts)."""

    def __init__(self, problems: tuple[str, ...]) -> None:
        self.problems = problems
        super().__init__(
            "The configuration needs fixing (README, Configuration): " + "; ".join(problems) + "."
        )


@dataclass(frozen=True, slots=True)
class DatabaseConfig:
    """The desk's database. `url` None: the embedded SQLite file, desk.sqlite in `data_dir`.
    `key_file` None: secret.key in `data_dir`. `busy_seconds`: how long a write waits for
    SQLite's write lock before it says "busy"."""

    url: str | None = None
    data_dir: Path = DEFAULT_DATA_DIR
    key_file: Path | None = None
    busy_seconds: float = DEFAULT_BUSY_SECONDS

    @property
    def address(self) -> str:
        """The URL to open: `url`, else the embedded SQLite file's."""
        return self.url or embedded_sqlite_url(self.data_dir)

    @property
    def key_path(self) -> Path:
        """Where the embedded default keeps the secret key: `key_file`, else secret.key in
        `data_dir`."""
        return self.key_file or self.data_dir / KEY_FILE_NAME


@dataclass(frozen=True, slots=True)
class DnsConfig:
    """The nameserver every look-up asks (`HOST[:PORT]`; None: the system's) and how long one
    question may take."""

    nameserver: str | None = None
    timeout: float = 3.0

    def resolver(self) -> Resolver:
        """A fresh resolver with its own cache (never share one between users)."""
        if self.nameserver:
            host, port = parse_nameserver(self.nameserver)
            return Resolver([host], port=port, timeout=self.timeout)
        return Resolver(timeout=self.timeout)


@dataclass(frozen=True, slots=True)
class SmtpConfig:
    """A connection test's time limit, and one more CA certificate file it trusts (a private relay
    or a TLS-inspecting proxy)."""

    timeout: float = 10.0
    cafile: Path | None = None


@dataclass(frozen=True, slots=True)
class ChecksConfig:
    """How long a page's whole DNS check or report explanation may take before it gives up, and
    whether the domain health check also runs its network checks (the MTA-STS policy and BIMI
    logo over HTTPS, STARTTLS on each MX's port 25), which are off unless asked for."""

    timeout: float = 20.0
    network: bool = False


@dataclass(frozen=True, slots=True)
class ReportsConfig:
    """How much one import of DMARC reports may take: each file at most `max_upload_mb` megabytes,
    `max_upload_files` files at once; inside each file, what its decompression may produce in
    all (`max_report_mb`, every nesting level and member together) and how long it may be read
    (`max_read_seconds`), sized from real reports (diagnostics.dmarc.parse's `_limits` says how);
    and the addresses receivers send reports to (`addresses`)."""

    max_upload_mb: int = 50
    max_upload_files: int = 500
    max_report_mb: int = 256
    max_read_seconds: float = 30.0
    # The desk's report addresses (its mailbox's, or its own receiver's): the rua= each
    # customer is told to publish. Empty: the desk shows no rua= to publish.
    addresses: tuple[str, ...] = ()

    def parse_limits(self) -> ParseLimits:
        """The parser's caps: what one file may decompress to and how long it may take; a file as
        stored at least as large as the page takes (`max_upload_mb`; the command line reads files
        up to the parser's own 128 MiB); the others are the parser's defaults."""
        from diagnostics.dmarc.parse import ParseLimits

        mib = 1024 * 1024  # the page's megabyte (desk.uploads.UploadLimits) is the same
        return ParseLimits(
            max_input_bytes=max(self.max_upload_mb * mib, ParseLimits().max_input_bytes),
            max_report_bytes=self.max_report_mb * mib,
            max_seconds=self.max_read_seconds,
        )


@dataclass(frozen=True, slots=True)
class AuthConfig:
    """Sign-in: the mode (None: decided from the facts, desk._sign_in_mode), the OpenID Connect
    issuers whose addresses need no `email_verified` claim, and how long a session lasts unused
    and at most."""

    mode: AuthMode | None = None
    trusted_issuers: frozenset[str] = frozenset()
    session_idle: timedelta = timedelta(minutes=30)
    session_max: timedelta = timedelta(hours=12)


# Every variable, and the field of DeskConfig it sets (README's Configuration table lists the same).
VARIABLES: Mapping[str, str] = {
    "DATABASE_URL": "database.url",
    "DESK_SECRET_KEY": "secret_key",
    "DESK_NAMESERVER": "dns.nameserver",
    "DESK_DNS_TIMEOUT": "dns.timeout",
    "DESK_DATA_DIR": "database.data_dir",
    "DESK_SECRET_KEY_FILE": "database.key_file",
    "DESK_SMTP_TIMEOUT": "smtp.timeout",
    "DESK_SMTP_CAFILE": "smtp.cafile",
    "DESK_CHECK_TIMEOUT": "checks.timeout",
    "DESK_HEALTH_NETWORK": "checks.network",
    "DESK_MAX_UPLOAD_MB": "reports.max_upload_mb",
    "DESK_MAX_UPLOAD_FILES": "reports.max_upload_files",
    "DESK_REPORT_ADDRESSES": "reports.addresses",
    "DESK_MAX_REPORT_MB": "reports.max_report_mb",
    "DESK_MAX_READ_SECONDS": "reports.max_read_seconds",
    "DESK_AUTH": "auth.mode",
    "DESK_OIDC_TRUSTED_ISSUERS": "auth.trusted_issuers",
    "DESK_SESSION_IDLE_MINUTES": "auth.session_idle",
    "DESK_SESSION_MAX_HOURS": "auth.session_max",
    "DESK_DB_BUSY_SECONDS": "database.busy_seconds",
}


@dataclass(frozen=True, slots=True)
class DeskConfig:
    """The whole configuration (module docstring). Every field has the default the README
    gives; `DeskConfig()` is an unconfigured desk on the embedded database."""

    database: DatabaseConfig = field(default_factory=DatabaseConfig)
    dns: DnsConfig = field(default_factory=DnsConfig)
    smtp: SmtpConfig = field(default_factory=SmtpConfig)
    checks: ChecksConfig = field(default_factory=ChecksConfig)
    reports: ReportsConfig = field(default_factory=ReportsConfig)
    auth: AuthConfig = field(default_factory=AuthConfig)
    secret_key: Secret | None = None  # the key of saved passwords; None: the key file's

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> DeskConfig:
        """The configuration `environ` (os.environ, where a program starts) sets; raises
        ConfigError naming every malformed variable at once."""
        read = _Reader(environ)
        data_dir = read.value("DESK_DATA_DIR", Path, DEFAULT_DATA_DIR)
        config = cls(
            database=DatabaseConfig(
                url=read.text("DATABASE_URL"),
                data_dir=data_dir,
                key_file=read.value("DESK_SECRET_KEY_FILE", Path, None),
                busy_seconds=read.value(
                    "DESK_DB_BUSY_SECONDS",
                    _seconds(below=_MOST_BUSY_SECONDS),
                    DEFAULT_BUSY_SECONDS,
                ),
            ),
            dns=DnsConfig(
                nameserver=read.value("DESK_NAMESERVER", _nameserver, None),
                timeout=read.value("DESK_DNS_TIMEOUT", _seconds(), 3.0),
            ),
            smtp=SmtpConfig(
                timeout=read.value(
                    "DESK_SMTP_TIMEOUT", _seconds(least=1.0, most=_MOST_SMTP_SECONDS), 10.0
                ),
                cafile=read.value("DESK_SMTP_CAFILE", _file, None),
            ),
            checks=ChecksConfig(
                timeout=read.value("DESK_CHECK_TIMEOUT", _seconds(), 20.0),
                network=read.value("DESK_HEALTH_NETWORK", _switch, False),
            ),
            reports=ReportsConfig(
                max_upload_mb=read.value("DESK_MAX_UPLOAD_MB", _count("megabytes"), 50),
                max_upload_files=read.value("DESK_MAX_UPLOAD_FILES", _count("files"), 500),
                addresses=read.value("DESK_REPORT_ADDRESSES", _addresses, ()),
                max_report_mb=read.value("DESK_MAX_REPORT_MB", _count("megabytes"), 256),
                max_read_seconds=read.value("DESK_MAX_READ_SECONDS", _seconds(), 30.0),
            ),
            auth=AuthConfig(
                mode=read.value("DESK_AUTH", _auth_mode, None),
                trusted_issuers=read.value("DESK_OIDC_TRUSTED_ISSUERS", _issuers, frozenset()),
                session_idle=read.value(
                    "DESK_SESSION_IDLE_MINUTES", _length("minutes"), timedelta(minutes=30)
                ),
                session_max=read.value(
                    "DESK_SESSION_MAX_HOURS", _length("hours"), timedelta(hours=12)
                ),
            ),
            secret_key=read.secret("DESK_SECRET_KEY"),
        )
        if read.problems:
            raise ConfigError(tuple(read.problems))
        return config


# -- reading --------------------------------------------------------------------------------------


class _Refused(Exception):
    """A value a parser does not take; the message says what the variable accepts."""


class _Reader:
    """Reads variables from one mapping, stripped (set but blank counts as unset), and keeps what
    is wrong with each instead of stopping at the first."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ
        self.problems: list[str] = []

    def text(self, name: str) -> str | None:
        value = self._environ.get(name, "").strip()
        return value or None

    def secret(self, name: str) -> Secret | None:
        value = self.text(name)
        return Secret(value) if value else None

    def value(self, name: str, parse: Callable[[str], _T], default: _T) -> _T:
        text = self.text(name)
        if text is None:
            return default
        try:
            return parse(text)
        except _Refused as exc:
            self.problems.append(f'{name}="{_shown(text)}" {exc}')
            return default


def _shown(value: str) -> str:
    """A value as a message repeats it: anything outside printable ASCII as an escape (no control
    character reaches a terminal or a page as itself), cut to a readable length."""
    escaped = "".join(c if " " <= c <= "~" else c.encode("unicode_escape").decode() for c in value)
    return escaped if len(escaped) <= _SHOWN else escaped[: _SHOWN - 1] + "…"


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise _Refused("is not a number") from None
    if not math.isfinite(value):
        raise _Refused("is not a number")
    return value


def _seconds(
    *, least: float | None = None, most: float | None = None, below: float | None = None
) -> Callable[[str], float]:
    """A parser of a number of seconds above 0 (at least `least`, at most `most`, under `below`)."""
    if least is not None and most is not None:
        accepts = f"is not a number of seconds from {least:g} to {most:g}"
    elif below is not None:
        accepts = f"is not a number of seconds above 0 and under {below:g}"
    else:
        accepts = "is not a number of seconds above 0"

    def parse(text: str) -> float:
        try:
            value = _number(text)
        except _Refused:
            raise _Refused(accepts) from None
        too_small = value < least if least is not None else value <= 0
        too_large = (most is not None and value > most) or (below is not None and value >= below)
        if too_small or too_large:
            raise _Refused(accepts)
        return value

    return parse


def _count(unit: str) -> Callable[[str], int]:
    """A parser of a whole number of `unit`, at least 1."""

    def parse(text: str) -> int:
        if not text.isascii() or not text.isdigit() or int(text) < 1:
            raise _Refused(f"is not a whole number of {unit} (1 or more)")
        return int(text)

    return parse


def _length(unit: str) -> Callable[[str], timedelta]:
    """A parser of a length of time in `unit` (minutes, hours), above 0."""

    def parse(text: str) -> timedelta:
        accepts = f"is not a number of {unit} above 0"
        try:
            value = _number(text)
        except _Refused:
            raise _Refused(accepts) from None
        if value <= 0:
            raise _Refused(accepts)
        try:
            return timedelta(**{unit: value})
        except OverflowError:
            raise _Refused(accepts) from None

    return parse


def _nameserver(text: str) -> str:
    try:
        split_nameserver(text)
    except InvalidInput:
        raise _Refused("is not HOST or HOST:PORT (a port from 1 to 65535)") from None
    return text


def _file(text: str) -> Path:
    if not os.path.isfile(text):
        raise _Refused("is not a file")
    return Path(text)


def _switch(text: str) -> bool:
    word = text.lower()
    if word in ("1", "true", "yes", "on"):
        return True
    if word in ("0", "false", "no", "off"):
        return False
    raise _Refused("is not on or off: 1, true, yes, on or 0, false, no, off")


def _auth_mode(text: str) -> AuthMode:
    try:
        return AuthMode(text.lower())
    except ValueError:
        raise _Refused("is not a sign-in mode: local, oidc or none") from None


def _addresses(text: str) -> tuple[str, ...]:
    """E-mail addresses, comma-separated: each local@domain, with no space or ;!, in it."""
    found = tuple(part.strip() for part in text.split(",") if part.strip())
    for address in found:
        local, at, domain = address.rpartition("@")
        if not at or not local or "." not in domain or any(c in address for c in " ;!,<>"):
            raise _Refused("is not a list of e-mail addresses, e.g. dmarc@reports.example.net")
    return found


def _issuers(text: str) -> frozenset[str]:
    """Exact issuer values, comma-separated (spaces around each ignored)."""
    return frozenset(part.strip() for part in text.split(",") if part.strip())
