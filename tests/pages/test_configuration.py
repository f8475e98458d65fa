"""A malformed configuration as the app says it (desk.configuration): the router's only screen,
every bad variable named, no page drawn on a default. The real server reading its environment at
start-up, at the root and at a page's address, is tests/e2e/test_configuration.py."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from desk.configuration import use_config
from diagnostics.config import ConfigError, DeskConfig
from tests.pages.untrusted import rendered

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def malformed() -> ConfigError:
    with pytest.raises(ConfigError) as refused:
        DeskConfig.from_env({"DESK_DNS_TIMEOUT": "abc", "DESK_AUTH": "*", "DESK_SECRET_KEY": "k"})
    return refused.value


def test_a_malformed_configuration_is_the_only_screen(malformed: ConfigError) -> None:
    with use_config(malformed):
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30).run()
        assert not at.exception, [e.value for e in at.exception]
        assert [t.value for t in at.title] == ["Deliverability desk"]
        [said] = [rendered(e.value) for e in at.error]
        assert "The desk cannot start: its configuration needs fixing" in said
        assert 'DESK_DNS_TIMEOUT="abc" is not a number of seconds above 0' in said
        assert 'DESK_AUTH="*" is not a sign-in mode: local, oidc or none' in said
        assert not at.text_input  # no page's widgets, no sign-in form
        assert "DESK_SECRET_KEY" not in said  # a secret is never repeated
        at.run()  # and so on every run, until the server restarts with it fixed
        assert [t.value for t in at.title] == ["Deliverability desk"]
