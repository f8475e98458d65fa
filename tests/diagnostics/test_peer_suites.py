"""Every vector of the five peer suites (tests/data/peer-suites/), asked of the project.

Each vector must agree with the peer, or, where rulings.yml says the peer is wrong by the RFC,
with the ruling. A vector the project's API cannot express is skipped with its reason
(peer_suites.NOT_APPLICABLE, empty today); one where the project follows the RFC against a peer
that no ruling covers yet is an expected failure with the project's reading
(peer_suites.UNRULED), strict so that it is noticed when it changes. How each area is asked is in
tests/support/peer_suites.py; `python -m bench.peer_suites` prints the counts.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest
import yaml

from tests.support.peer_suites import (
    NOT_APPLICABLE,
    SUITES,
    UNRULED,
    Agreement,
    Runner,
    Vector,
    load,
    pytest_param,
)

VECTORS = load()
# One worker runs them all, so the zones' nameservers start once.
pytestmark = pytest.mark.xdist_group("peer_suites")


@pytest.fixture(scope="module")
def runner() -> Iterator[Runner]:
    with Runner() as started:
        yield started


def test_every_vector_is_here() -> None:
    assert len(VECTORS) == 633
    assert len({v.key for v in VECTORS}) == 633
    by_suite = Counter(v.suite for v in VECTORS)
    assert by_suite == {
        "domainaware-checkdmarc": 87,
        "emersion-go-msgauth": 16,
        "mjl-mox": 265,
        "postalsys-mailauth": 87,
        "stalwartlabs-mail-auth": 178,
    }
    keys = {(v.suite, v.id) for v in VECTORS}
    assert set(NOT_APPLICABLE) <= keys
    assert set(UNRULED) <= keys


def test_every_ruling_names_a_vector() -> None:
    # A ruling whose id matches no vector would silently rule nothing.
    ruled = {(v.suite, v.id) for v in VECTORS if v.ruling is not None}
    for folder in SUITES.iterdir():
        path = folder / "rulings.yml"
        if path.exists():
            for case_id in yaml.safe_load(path.read_text(encoding="utf-8")) or {}:
                assert (folder.name, str(case_id)) in ruled, (folder.name, case_id)


@pytest.mark.parametrize("vector", [pytest_param(v) for v in VECTORS])
def test_vector(vector: Vector, runner: Runner) -> None:
    check = runner.check(vector)
    if check.agreement is Agreement.NOT_APPLICABLE:
        pytest.skip(f"not applicable: {check.detail}")
    assert check.agreement in (Agreement.PEER, Agreement.RULING), check.detail
