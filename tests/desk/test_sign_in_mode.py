"""How people sign in (desk._sign_in_mode, DESK_AUTH) and whether the server listens on loopback
alone (desk.sign_in_gate.bound_locally), without a page: the sign-in screens themselves are
tests/pages/test_auth.py."""

from __future__ import annotations

import contextlib
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import streamlit as st

from desk._sign_in_mode import AuthMode, ModeRefusal, choose_mode, is_loopback
from desk.sign_in_gate import bound_locally

ROOT = Path(__file__).resolve().parents[2]


@contextlib.contextmanager
def server_address(address: str | None) -> Iterator[None]:
    """The server's configured address (server.address) for this test only."""
    before: Any = st.get_option("server.address")
    st.config.set_option("server.address", address)
    try:
        yield
    finally:
        st.config.set_option("server.address", before)


LOOPBACK = ["localhost", "127.0.0.1", "127.0.0.53", "127.255.255.254", "::1"]
# Unset (Streamlit then listens on every interface), wildcards, a LAN address, host names that may
# resolve anywhere, and near misses of a loopback address.
NOT_LOOPBACK = [
    None,
    "",
    " ",
    "0.0.0.0",
    "::",
    "192.168.1.20",
    "10.0.0.7",
    "fe80::1",
    "desk.example",
    "my-laptop",
    "localhost.example",
    "localhost.",
    " localhost",
    "127.0.0.1 ",
    "128.0.0.1",
    "::ffff:0.0.0.0",
]


@pytest.mark.parametrize("address", LOOPBACK)
def test_the_server_is_local_only_on_a_loopback_address(address: str) -> None:
    assert is_loopback(address)
    with server_address(address):
        assert bound_locally()


@pytest.mark.parametrize("address", NOT_LOOPBACK)
def test_an_unset_wildcard_or_other_address_is_not_local(address: str | None) -> None:
    assert not is_loopback(address)
    with server_address(address):
        assert not bound_locally()


def test_the_repository_config_binds_the_server_to_localhost() -> None:
    """A plain `streamlit run app.py` listens on loopback (and may then skip sign-in)."""
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["address"] == "localhost"


def test_unset_is_no_sign_in_only_for_an_unattended_desk_on_loopback() -> None:
    asked: list[bool] = []

    def unattended(answer: bool) -> Callable[[], bool]:  # records that the database was asked
        def ask() -> bool:
            asked.append(answer)
            return answer

        return ask

    assert choose_mode(None, loopback=True, unattended=unattended(True)) is AuthMode.NONE
    assert choose_mode(None, loopback=True, unattended=unattended(False)) is AuthMode.LOCAL
    # Off loopback the database is not even asked: a sign-in it is.
    assert choose_mode(None, loopback=False, unattended=unattended(True)) is AuthMode.LOCAL
    assert asked == [True, False]


@pytest.mark.parametrize(
    ("requested", "loopback", "chosen"),
    [
        (AuthMode.LOCAL, False, AuthMode.LOCAL),
        (AuthMode.OIDC, False, AuthMode.OIDC),
        (AuthMode.NONE, True, AuthMode.NONE),
        (AuthMode.NONE, False, ModeRefusal.OPEN_WITHOUT_SIGN_IN),
    ],
)
def test_a_requested_mode_is_taken_or_refused(
    requested: AuthMode, loopback: bool, chosen: AuthMode | ModeRefusal
) -> None:
    def never() -> bool:
        raise AssertionError("a requested mode asks nothing of the database")

    assert choose_mode(requested, loopback=loopback, unattended=never) is chosen
