"""One account, one SPF record: explain's fix, health's recommendation and the CLI's `spf` agree
byte for byte for the providers an account is configured with (the scenario corpus's `providers:`
and `hosts:`), whatever order they are named in."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from diagnostics import providers as catalogue
from diagnostics.cli import main
from diagnostics.health import check_domain
from tests.diagnostics.dmarc.explain.test_scenarios import FILES, _load, _run
from tests.support.nameserver import LoopbackNameserver

CONFIGURED = [p for p in FILES if {"providers", "hosts"} & set(_load(p))]


def _keys(scenario: dict[str, Any]) -> list[str]:
    named = list(scenario.get("providers", ()))
    for host in scenario.get("hosts", ()):
        found = catalogue.match_host(host)
        assert found is not None, host
        named.append(found.key)
    return list(dict.fromkeys(named))


def test_the_corpus_has_configured_accounts_with_a_record_to_publish() -> None:
    with_record = [
        p
        for p in CONFIGURED
        if any(
            isinstance(a, dict) and a.get("code") == "add_spf_include"
            for e in _load(p)["expect"]
            for a in e["actions"]
        )
    ]
    assert len(with_record) >= 4


@pytest.mark.parametrize("path", CONFIGURED, ids=[p.stem for p in CONFIGURED])
def test_every_surface_recommends_the_same_record(
    path: Any, nameserver: Callable[..., LoopbackNameserver], capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = _load(path)
    domain = scenario.get("domain", "example.com")
    found, server = _run(scenario, nameserver)
    records = {
        a.record
        for d in found
        for a in d.actions
        if a.code == "add_spf_include" and a.domain == domain and a.record
    }
    keys = _keys(scenario)
    health = check_domain(
        domain,
        providers=scenario.get("providers", ()),
        hosts=scenario.get("hosts", ()),
        resolver=server.resolver(),
    )
    assert health.spf_recommendation is not None
    for named in (keys, keys[::-1]):
        options = [option for key in named for option in ("--provider", key)]
        main(["spf", domain, *options, "--nameserver", server.address, "--json"])
        cli = json.loads(capsys.readouterr().out)["recommendation"]["record"]
        assert cli == health.spf_recommendation.record
    # Explain proposes a record only where an include is missing; when it does, it is the same.
    for record in records:
        assert record == health.spf_recommendation.record
    if not records:
        assert health.spf_recommendation.record == health.spf_analysis.record  # type: ignore[union-attr]
