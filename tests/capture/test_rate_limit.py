"""The target_fps cap keeps the target rate from faster sources, evenly, without bursts."""

from __future__ import annotations

import itertools
import random

from atalaia.capture.rate_limit import RateLimiter


def kept(limiter: RateLimiter, times: list[float]) -> list[float]:
    return [t for t in times if limiter.allow(t)]


def test_no_cap_keeps_everything() -> None:
    times = [i / 30 for i in range(100)]
    assert kept(RateLimiter(None), times) == times


def test_halves_a_source_at_twice_the_target_evenly_despite_jitter() -> None:
    rng = random.Random(7)
    times = [i / 30 + rng.uniform(-0.003, 0.003) for i in range(300)]  # 10 s at 30 fps
    result = kept(RateLimiter(15), times)
    assert 145 <= len(result) <= 151
    gaps = [b - a for a, b in itertools.pairwise(result)]
    assert max(gaps) < 2.5 / 30  # never two source frames skipped in a row


def test_keeps_the_target_rate_from_a_rate_that_is_not_a_multiple() -> None:
    times = [i / 25 for i in range(250)]  # 10 s at 25 fps, capped at 10
    assert 95 <= len(kept(RateLimiter(10), times)) <= 101


def test_a_slower_source_is_not_thinned() -> None:
    times = [i / 5 for i in range(50)]
    assert kept(RateLimiter(10), times) == times


def test_no_burst_after_a_gap() -> None:
    limiter = RateLimiter(5)
    before = [i / 30 for i in range(30)]
    after = [10 + i / 30 for i in range(30)]  # a reconnect 9 s later
    kept(limiter, before)
    result = kept(limiter, after)
    assert 4 <= len(result) <= 6  # one second at 5 fps, not a catch-up burst
