"""The public surface of the domain-health modules: every exported name exists and is documented."""

from __future__ import annotations

import importlib

import pytest

from diagnostics.verdict import Verdict

MODULES = {
    "diagnostics.dkim": {"check_selector", "check_selector_async", "parse_key_record"},
    "diagnostics.dmarc.record": {"check_dmarc", "check_dmarc_async", "parse_dmarc"},
    "diagnostics.health": {
        "check_domain",
        "check_domain_async",
        "DomainHealth",
        "NetworkChecks",
        "Part",
        "TlsReportSummary",
    },
    "diagnostics.headers": {"analyze", "HeaderReport"},
    "diagnostics.verdict": {"Verdict", "verdict_of"},
}


@pytest.mark.parametrize("name", sorted(MODULES))
def test_exported_members(name):
    module = importlib.import_module(name)
    assert module.__doc__
    assert MODULES[name] <= set(module.__all__)
    for member in module.__all__:
        value = getattr(module, member)
        if callable(value):
            assert value.__doc__, f"{name}.{member} has no docstring"


def test_verdict_words():
    assert [v.value for v in Verdict] == ["ok", "warning", "error"]
