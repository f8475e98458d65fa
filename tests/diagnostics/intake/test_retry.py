"""The reconnect delay: grows, is bounded, is never zero, and starts over after a success."""

from __future__ import annotations

from diagnostics.intake import Backoff


def test_the_delay_doubles_up_to_the_cap_and_stays_in_the_upper_half() -> None:
    low = Backoff(base=1.0, cap=30.0, draw=lambda: 0.0)
    high = Backoff(base=1.0, cap=30.0, draw=lambda: 0.999999)
    lows = [low.next() for _ in range(8)]
    highs = [round(high.next(), 3) for _ in range(8)]
    assert lows == [0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 15.0, 15.0]
    assert highs == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0]
    low.reset()
    assert low.next() == 0.5


def test_a_thousand_failures_do_not_overflow() -> None:
    backoff = Backoff(base=1.0, cap=300.0)
    for _ in range(1000):
        delay = backoff.next()
    assert 150.0 <= delay <= 300.0
