"""FrameRateLimiter: the minimum interval per client, bursts, retry_after, independence."""

from __future__ import annotations

import pytest

from atalaia.realtime import FrameRateLimiter


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_minimum_interval_between_frames() -> None:
    clock = FakeClock()
    limiter = FrameRateLimiter(1.0, clock=clock)
    assert limiter.acquire("a") == 0.0
    clock.now += 0.25
    assert limiter.acquire("a") == pytest.approx(0.75)
    clock.now += 0.5
    assert limiter.acquire("a") == pytest.approx(0.25), "a refused frame costs nothing"
    clock.now += 0.25
    assert limiter.acquire("a") == 0.0, "exactly one interval later it is accepted"
    assert limiter.acquire("a") > 0


def test_flood_gets_the_same_rate_as_a_patient_client() -> None:
    clock = FakeClock()
    limiter = FrameRateLimiter(0.5, clock=clock)
    accepted = 0
    for _ in range(1000):  # 10 s of a frame every 10 ms
        accepted += limiter.acquire("flood") == 0.0
        clock.now += 0.01
    assert accepted == 20


def test_clients_are_limited_independently() -> None:
    clock = FakeClock()
    limiter = FrameRateLimiter(1.0, clock=clock)
    assert limiter.acquire("a") == 0.0
    assert limiter.acquire("a") > 0
    assert limiter.acquire("b") == 0.0
    limiter.forget("a")
    assert len(limiter) == 1
    assert limiter.acquire("a") == 0.0, "a forgotten (disconnected) client starts afresh"


def test_burst_then_interval() -> None:
    clock = FakeClock()
    limiter = FrameRateLimiter(1.0, burst=3, clock=clock)
    assert [limiter.acquire("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.acquire("a") == pytest.approx(1.0)
    clock.now += 1.0
    assert limiter.acquire("a") == 0.0
    assert limiter.acquire("a") > 0
    clock.now += 100  # a long pause refills to the burst, not beyond
    assert [limiter.acquire("a") == 0.0 for _ in range(4)] == [True, True, True, False]


def test_zero_interval_turns_limiting_off() -> None:
    limiter = FrameRateLimiter(0.0)
    assert all(limiter.acquire("a") == 0.0 for _ in range(100))


@pytest.mark.parametrize(("interval", "burst"), [(-1.0, 1), (1.0, 0)])
def test_bad_settings_are_refused(interval: float, burst: int) -> None:
    with pytest.raises(ValueError):
        FrameRateLimiter(interval, burst)
