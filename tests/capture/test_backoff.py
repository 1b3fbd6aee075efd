"""Backoff: doubling from the initial delay, capped, jitter only ever shortening a delay."""

from __future__ import annotations

import pytest

from atalaia.capture import Backoff


def test_doubles_up_to_the_cap_without_jitter() -> None:
    backoff = Backoff(0.5, 4.0, jitter=0.0)
    assert [backoff.next_delay() for _ in range(7)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0, 4.0]
    assert backoff.failures == 7


def test_reset_starts_again_from_the_initial_delay() -> None:
    backoff = Backoff(1.0, 30.0, jitter=0.0)
    for _ in range(5):
        backoff.next_delay()
    backoff.reset()
    assert backoff.next_delay() == 1.0


def test_jitter_shortens_by_at_most_its_fraction_and_never_exceeds_the_cap() -> None:
    low = Backoff(1.0, 8.0, jitter=0.25, rand=lambda: 0.999999)
    high = Backoff(1.0, 8.0, jitter=0.25, rand=lambda: 0.0)
    lows = [low.next_delay() for _ in range(6)]
    highs = [high.next_delay() for _ in range(6)]
    assert highs == [1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    for short, full in zip(lows, highs, strict=True):
        assert full * 0.75 <= short < full


def test_many_failures_do_not_overflow() -> None:
    backoff = Backoff(1.0, 30.0, jitter=0.0)
    for _ in range(5000):
        delay = backoff.next_delay()
    assert delay == 30.0


@pytest.mark.parametrize(("initial", "maximum", "jitter"), [(0, 1, 0.1), (1, 1, 1.0), (1, -1, 0)])
def test_rejects_nonsense(initial: float, maximum: float, jitter: float) -> None:
    with pytest.raises(ValueError):
        Backoff(initial, maximum, jitter=jitter)
