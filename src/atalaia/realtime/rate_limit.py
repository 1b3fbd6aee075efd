"""FrameRateLimiter: how often each client may send a frame.

A token bucket per client: `burst` frames may come back to back, then one per `interval`
seconds. With the default burst of 1 that is exactly the user's "minimum interval between
frames". A refused frame costs nothing, so a client that floods is limited to the same rate as
one that waits, and it is told how long to wait (`retry_after`) rather than ignored.
"""

from __future__ import annotations

import time
from collections.abc import Callable

_EPSILON = 1e-9  # float noise must not refuse a frame that came exactly on time


class FrameRateLimiter:
    def __init__(
        self, interval: float, burst: int = 1, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if interval < 0:
            raise ValueError("interval must not be negative")
        if burst < 1:
            raise ValueError("burst must be at least 1")
        self.interval = interval
        self.burst = burst
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # client -> (tokens, updated)

    def __len__(self) -> int:
        return len(self._buckets)

    def acquire(self, client: str) -> float:
        """0.0 when `client` may send a frame now (and it is counted), else the seconds to
        wait before the next one would be accepted."""
        if self.interval == 0:
            return 0.0
        now = self._clock()
        tokens, updated = self._buckets.get(client, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - updated) / self.interval)
        if tokens + _EPSILON >= 1.0:
            self._buckets[client] = (max(0.0, tokens - 1.0), now)
            return 0.0
        self._buckets[client] = (tokens, now)
        return (1.0 - tokens) * self.interval

    def forget(self, client: str) -> None:
        """The client disconnected: its state goes, so memory follows live connections."""
        self._buckets.pop(client, None)
