"""The scenario corpus (tests/scenarios/*.yaml) through `explain`, against a loopback nameserver.

Each file holds a zone (laid over the providers' SPF records in _providers.yaml), report rows, an
optional enrichment table, optionally the account's configured connections (`providers:` keys and
`hosts:`, passed to explain as its evidence), and what support staff should read: every source's
category, its actions in order and, where a DNS change is the fix, the exact record. Every
diagnosis `explain` returns must be expected: nothing extra, nothing missing. No record offered to
copy may hold a placeholder that looks real; a template is marked as one.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from diagnostics.dmarc import Diagnosis, explain, readiness
from diagnostics.dmarc.explain import Category
from tests.support.nameserver import LoopbackNameserver

SCENARIOS = Path(__file__).parents[3] / "scenarios"
# What a placeholder used to look like: a value a person could take for a real one.
LOOKS_REAL = re.compile(r"REGION|NNNN|TOKEN\d|SELECTOR|p=KEY\b")
PROVIDER_ZONE = yaml.safe_load((SCENARIOS / "_providers.yaml").read_text())
FILES = sorted(p for p in SCENARIOS.glob("*.yaml") if not p.name.startswith("_"))


def _load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(path.read_text())
    return data


def _records(scenario: dict[str, Any]) -> pd.DataFrame:
    domain = scenario.get("domain", "example.com")
    rows = [
        {"policy_domain": domain, "header_from": domain, "disposition": "none", **row}
        for row in scenario["rows"]
    ]
    return pd.DataFrame(rows)


def _run(
    scenario: dict[str, Any], nameserver: Callable[..., LoopbackNameserver]
) -> tuple[list[Diagnosis], LoopbackNameserver]:
    server = nameserver({**PROVIDER_ZONE, **scenario["zone"]})
    enrichment = scenario.get("enrichment")
    frame = pd.DataFrame(enrichment) if enrichment else None
    found = explain(
        _records(scenario),
        providers=scenario.get("providers", ()),
        hosts=scenario.get("hosts", ()),
        resolver=server.resolver(),
        enrichment=frame,
    )
    return found, server


def _check_action(action: Any, expected: dict[str, Any] | str) -> None:
    if isinstance(expected, str):
        assert action.code == expected
        return
    assert action.code == expected["code"]
    for key in ("domain", "record", "rdtype", "lookups_after"):
        if key in expected:
            assert getattr(action, key) == expected[key], key
    if "records" in expected:
        got = [[r.name, r.rdtype, r.value] for r in action.records]
        assert got == expected["records"]
    if "template" in expected:
        assert action.template is expected["template"]
    for record in action.records:
        assert not LOOKS_REAL.search(f"{record.name} {record.value}"), record
        # A template is marked where a person looks (the value), and says where to look.
        assert record.template == ("<" in f"{record.name} {record.value}"), record
        assert (record.fill_in is not None) == record.template, record
    if "findings" in expected:
        codes = {f.code for f in action.findings}
        assert set(expected["findings"]) <= codes
    if action.record is not None:
        assert action.record in action.message or action.code == "add_spf_include"


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_scenario(path: Path, nameserver: Callable[..., LoopbackNameserver]) -> None:
    scenario = _load(path)
    found, _ = _run(scenario, nameserver)
    by_source = {(d.source, d.category.value): d for d in found}
    wanted = {(e["source"], e["category"]) for e in scenario["expect"]}
    assert set(by_source) == wanted
    total = sum(d.messages for d in found)
    assert total == sum(int(r["count"]) for r in scenario["rows"])
    assert sum(d.share for d in found) == pytest.approx(1.0)
    for expected in scenario["expect"]:
        diagnosis = by_source[(expected["source"], expected["category"])]
        assert diagnosis.explanation
        assert diagnosis.evidence.messages == diagnosis.messages
        codes = [a if isinstance(a, str) else a["code"] for a in expected["actions"]]
        assert list(diagnosis.action_codes) == codes
        for action, want in zip(diagnosis.actions, expected["actions"], strict=True):
            _check_action(action, want)
        for text in expected.get("explanation_contains", []):
            assert text in diagnosis.explanation
        messages = " ".join(a.message for a in diagnosis.actions)
        for text in expected.get("action_messages_contain", []):
            assert text in messages
        for key in ("ips", "messages"):
            if key in expected:
                want = tuple(expected[key]) if key == "ips" else expected[key]
                assert getattr(diagnosis, key) == want
        if "severity" in expected:
            assert diagnosis.severity == expected["severity"]
        if "recognised_by" in expected:
            assert diagnosis.evidence.recognised_by == expected["recognised_by"]
        if "confidence" in expected:
            assert diagnosis.confidence == expected["confidence"]
        for text in expected.get("basis_contains", []):
            assert any(text in said for said in diagnosis.evidence.basis), diagnosis.evidence.basis
        assert diagnosis.evidence.basis  # every diagnosis says what it rests on
    if "readiness" in scenario:
        server = nameserver({**PROVIDER_ZONE, **scenario["zone"]})
        domain = scenario.get("domain", "example.com")
        state = readiness(domain, found, resolver=server.resolver())
        assert state.ready is scenario["readiness"]["ready"]
        assert state.record is None
        for text in scenario["readiness"]["blockers_contain"]:
            assert any(text in line for line in state.blockers)


def test_corpus_covers_every_category_and_six_providers() -> None:
    categories = set()
    sources = set()
    for path in FILES:
        for expected in _load(path)["expect"]:
            categories.add(expected["category"])
            sources.add(expected["source"])
    assert categories == {c.value for c in Category}
    assert len(FILES) >= 20
    assert len(sources & {p.name for p in __import__("diagnostics").providers.all()}) >= 6
