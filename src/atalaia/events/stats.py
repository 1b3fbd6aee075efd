"""Delivery statistics of one sink: what status pages and metrics show.

Counters since start (delivered, failed attempts, marked dead), the database's own counts of
what is still owed (pending, dead, refreshed by the dispatcher), the last error (masked before
it gets here) and the latency from an event's creation to the sink's acknowledgement over a
window of recent deliveries.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

LATENCY_WINDOW = 2048


def percentile(values: list[float], fraction: float) -> float | None:
    """The nearest-rank percentile of `values` (`fraction` in 0..1); None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(fraction * len(ordered) + 0.5)))
    return ordered[rank - 1]


@dataclass(slots=True)
class DeliveryStats:
    delivered: int = 0
    failed: int = 0
    marked_dead: int = 0
    pending: int | None = None
    dead: int | None = None
    last_error: str | None = None
    last_error_at: float | None = None
    last_delivered_at: float | None = None
    latencies: deque[float] = field(default_factory=lambda: deque(maxlen=LATENCY_WINDOW))

    def record_delivered(self, latency_s: float, now: float | None = None) -> None:
        self.delivered += 1
        self.last_delivered_at = now or time.time()
        self.latencies.append(max(latency_s, 0.0))

    def record_failed(self, error: str, *, dead: bool, now: float | None = None) -> None:
        self.failed += 1
        self.marked_dead += dead
        self.last_error = error
        self.last_error_at = now or time.time()

    def latency_ms(self) -> dict[str, float | None]:
        window = list(self.latencies)

        def ms(value: float | None) -> float | None:
            return None if value is None else round(value * 1000, 2)

        return {
            "p50": ms(percentile(window, 0.50)),
            "p99": ms(percentile(window, 0.99)),
            "samples": len(window),
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            "delivered": self.delivered,
            "failed": self.failed,
            "marked_dead": self.marked_dead,
            "pending": self.pending,
            "dead": self.dead,
            "last_error": self.last_error,
            "last_error_at": self.last_error_at,
            "last_delivered_at": self.last_delivered_at,
            "latency_ms": self.latency_ms(),
        }
