"""The load bench of the DMARC reports page, small: two sessions over a store of 2,000 records."""

from __future__ import annotations

from pathlib import Path

from bench import load_bench
from diagnostics.dmarc.store import ReportStore


def test_the_store_is_filled_once_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite"
    assert load_bench.prepare_store(path, 2_000, 7) is not None
    assert load_bench.record_count(path) == 2_000
    assert load_bench.prepare_store(path, 2_000, 7) is None  # right count: kept
    store = ReportStore(f"sqlite:///{path}")
    try:
        domains = store.domains()
        assert list(domains["policy_domain"]) == [load_bench.explain_bench.DOMAIN]
        by_day = store.volume_by_day(load_bench.explain_bench.DOMAIN)
        assert int(by_day["messages"].sum()) == int(store.records()["count"].sum())
    finally:
        store.close()


def test_two_sessions_answer_every_step(tmp_path: Path, monkeypatch, capsys) -> None:
    status = load_bench.main(
        ["--sessions", "2", "--rows", "2000", "--out", str(tmp_path), "--budget", "60"]
    )
    shown = capsys.readouterr().out
    assert "sessions: 2, errors: 0" in shown, shown
    assert "page answers: 6" in shown, shown  # three steps each
    for step in load_bench.STEPS:
        assert step in shown
    assert status == (0 if "target met: yes" in shown else 1)
