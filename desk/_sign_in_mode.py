"""How people sign in to the desk (DESK_AUTH), decided from the setting and the facts, apart from
Streamlit: desk.sign_in_gate reads the facts and says a refusal. The setting is read (and a value
that is no mode refused) with the rest of the configuration, diagnostics.config.

DESK_AUTH chooses how people sign in:
  local  names and passwords of the desk's own users (`python -m admin users add NAME --role ROLE`)
  oidc   OpenID Connect through st.login (Authlib; an [auth] section in .streamlit/secrets.toml);
         the identity provider's e-mail address must be a desk user's name, which gives the role
  none   no sign-in: everyone is "local admin". Refused unless the server listens on loopback.
Unset: `none` on an SQLite database with no users while the server listens on loopback (so
`make run` shows the desk at once), otherwise `local`. With `local`, no users yet and loopback,
the first visitor may create the first admin.

"Listens on loopback" is what the configured server.address proves, nothing less: a loopback IP
(127.0.0.0/8, ::1) or exactly `localhost`. Unset or empty (Streamlit then listens on every
interface), a wildcard, a LAN address or any other host name is reachable from elsewhere, so it
gets a sign-in. The repository's .streamlit/config.toml sets `localhost`; opening the desk to a
network is a deliberate `--server.address`, with DESK_AUTH=local or oidc (README).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from enum import StrEnum

from diagnostics.config import AuthMode

AUTH_VARIABLE = "DESK_AUTH"
_LOCALHOST = "localhost"


class ModeRefusal(StrEnum):
    """Why a DESK_AUTH setting is refused."""

    OPEN_WITHOUT_SIGN_IN = "open_without_sign_in"  # none, on a server others can reach


def is_loopback(address: object) -> bool:
    """True when a server bound to `address` listens on loopback only: a loopback IP or exactly
    "localhost". Anything else (unset, a wildcard, a LAN address, a host name) may be reachable
    from elsewhere; nothing is trimmed or guessed, since the server binds to what is written."""
    if not isinstance(address, str):
        return False
    if address == _LOCALHOST:
        return True
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def choose_mode(
    requested: AuthMode | None, *, loopback: bool, unattended: Callable[[], bool]
) -> AuthMode | ModeRefusal:
    """The sign-in mode for the DESK_AUTH setting `requested` (None when unset), or why it is
    refused. `loopback`: the server listens on loopback alone (`is_loopback`). `unattended`: asked
    only when nothing is requested, whether the database is an SQLite file with no users yet."""
    if requested is None:
        return AuthMode.NONE if loopback and unattended() else AuthMode.LOCAL
    if requested is AuthMode.NONE and not loopback:
        return ModeRefusal.OPEN_WITHOUT_SIGN_IN
    return requested


__all__ = ["AUTH_VARIABLE", "AuthMode", "ModeRefusal", "choose_mode", "is_loopback"]
