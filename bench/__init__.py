"""Benchmarks that print ratios against the peers (pyspf, parsedmarc) in one run.

Each module `bench/<topic>_bench.py` has a `main() -> int` and runs with `python -m bench.<topic>_bench`;
`python -m bench` runs them all.
"""
