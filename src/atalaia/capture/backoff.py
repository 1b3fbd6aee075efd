"""Capped exponential backoff with jitter, for reconnecting to cameras forever.

A camera that is down is retried after `initial` seconds, then twice that, and so on up to
`maximum`, so a dead camera costs one connection attempt every `maximum` seconds instead of a
busy loop. The jitter only shortens a delay (by up to `jitter` of it): delays never exceed
`maximum`, and cameras that went down together (a switch rebooted) do not all retry in the same
instant.
"""

from __future__ import annotations

import random
from collections.abc import Callable


class Backoff:
    """Delays for successive failed attempts; `reset()` after a connection that worked."""

    def __init__(
        self,
        initial: float,
        maximum: float,
        jitter: float = 0.2,
        rand: Callable[[], float] = random.random,
    ) -> None:
        if initial <= 0 or maximum <= 0:
            raise ValueError("expected positive backoff delays")
        if not 0 <= jitter < 1:
            raise ValueError("expected a jitter in [0, 1)")
        self.initial = initial
        self.maximum = max(initial, maximum)
        self.jitter = jitter
        self._rand = rand
        self._failures = 0

    @property
    def failures(self) -> int:
        """Failed attempts since the last reset."""
        return self._failures

    def next_delay(self) -> float:
        """The wait before the next attempt; each call counts one more failure."""
        base = self.initial * 2.0 ** min(self._failures, 62)
        self._failures += 1
        return min(base, self.maximum) * (1.0 - self.jitter * self._rand())

    def reset(self) -> None:
        self._failures = 0
