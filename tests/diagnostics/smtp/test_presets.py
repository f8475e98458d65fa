"""Presets for the settings form, checked against the lint: a preset must never trip it."""

from __future__ import annotations

import pytest

from diagnostics import providers
from diagnostics.errors import InvalidInput
from diagnostics.smtp import lint
from diagnostics.smtp.presets import preset, presets


def test_one_preset_per_custom_provider():
    keys = [p.key for p in presets()]
    assert keys == [p.key for p in providers.all() if p.key != "trekmail"]


@pytest.mark.parametrize("item", presets(), ids=lambda p: p.key)
def test_presets_fill_settings_the_lint_accepts(item):
    settings = item.settings()
    assert providers.match_host(settings.host).key == item.key
    codes = {f.code for f in lint(settings)}
    # Only the empty credentials may be flagged: host, port and security are right.
    assert codes <= {"missing_credentials"}
    assert item.username_hint


def test_ses_region_picker():
    chosen = preset("ses", region="eu-west-1")
    assert chosen.host == "email-smtp.eu-west-1.amazonaws.com"
    assert "eu-west-1" in chosen.regions
    assert providers.ses_region(chosen.host) == "eu-west-1"
    with pytest.raises(InvalidInput):
        preset("ses", region="mars-north-1")
    with pytest.raises(InvalidInput):
        preset("sendgrid", region="eu-west-1")
    with pytest.raises(InvalidInput):
        preset("no-such-provider")
