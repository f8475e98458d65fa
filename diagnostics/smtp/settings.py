"""The settings of one SMTP connection, as an admin enters them."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from diagnostics.errors import InvalidInput
from diagnostics.secret import Secret


class Security(StrEnum):
    """How the connection is encrypted; it must match what the port expects."""

    STARTTLS = "starttls"  # plain connect, then upgrade with STARTTLS (587, 25, 2525)
    TLS = "tls"  # TLS from the first byte, "SMTPS" (465)
    NONE = "none"  # no encryption at all


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    """Host, port, security mode, credentials and the From address of a test mail.

    `password` is always a `Secret`: a plain str given here is wrapped, so `repr()` never shows it.
    None for `username`, `password` or `from_address` (a NULL column, an empty form field) means
    "not set", the same as "".
    """

    host: str
    port: int
    security: Security = Security.STARTTLS
    username: str = ""
    password: Secret | str | None = field(default_factory=lambda: Secret(""))
    from_address: str = ""

    def __post_init__(self) -> None:
        host = self.host.strip().rstrip(".")
        object.__setattr__(self, "host", host)
        object.__setattr__(self, "username", _text(self.username))
        object.__setattr__(self, "from_address", _text(self.from_address))
        # Secret(None) would keep the text "None" as the password.
        object.__setattr__(self, "password", Secret(self.password or ""))
        try:
            object.__setattr__(self, "security", Security(str(self.security).lower()))
        except ValueError:
            raise InvalidInput(
                f"Security must be one of starttls, tls or none, not {self.security!r}."
            ) from None
        if not host:
            raise InvalidInput("The SMTP host is empty.")
        if not isinstance(self.port, int) or not 0 < self.port < 65536:
            raise InvalidInput(f"The port must be a number from 1 to 65535, not {self.port!r}.")

    @property
    def secret(self) -> Secret:
        """The password, typed as the Secret it always is after construction."""
        assert isinstance(self.password, Secret)
        return self.password

    def with_changes(self, **changes: Any) -> SmtpSettings:
        return replace(self, **changes)

    def public_dict(self) -> dict[str, Any]:
        """Everything but the secret itself: safe for logs, audit entries and pages."""
        return {
            "host": self.host,
            "port": self.port,
            "security": self.security.value,
            "username": self.username,
            "password": self.secret.hint(),
            "from_address": self.from_address,
        }


def _text(value: object) -> str:
    """A text setting as given, stripped; None (typed callers never pass it) is "not set"."""
    return "" if value is None else str(value).strip()
