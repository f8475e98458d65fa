"""The peer-suite agreement counts: every vector of tests/data/peer-suites/ run against the project.

    .venv/bin/python -m bench.peer_suites            the table; exit 1 if any vector disagrees
    .venv/bin/python -m bench.peer_suites -v         and every disagreement, with what differed

Per suite and area: how many vectors, how many agree with the peer, how many agree with the
ruling (rulings.yml) where the peer is wrong by the RFC, how many the project's API cannot express
(each with its reason), and how many disagree. The rules of the comparison are in
tests/support/peer_suites.py; tests/diagnostics/test_peer_suites.py asserts the same per vector.
Not a benchmark (no timing), so `python -m bench` does not run it.
"""

from __future__ import annotations

import sys

from tests.support.peer_suites import Agreement, Runner, load, table


def main(argv: list[str] | None = None) -> int:
    verbose = "-v" in (argv if argv is not None else sys.argv[1:])
    vectors = load()
    with Runner() as runner:
        checks = [runner.check(v) for v in vectors]
    report = table(checks)
    if not verbose:
        report = report.split("\n\ndisagreeing:")[0]
    print(report)
    disagreeing = sum(1 for c in checks if c.agreement is Agreement.DISAGREES)
    if disagreeing and not verbose:
        print(f"\n{disagreeing} disagreeing: run with -v to see them.")
    return 1 if disagreeing else 0


if __name__ == "__main__":
    sys.exit(main())
