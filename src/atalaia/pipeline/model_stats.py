"""Per-model counters of one camera: what each of its detectors was asked and answered.

A camera with several models reports, for each one, the requests sent, the results, the drops
by cause and the capture-to-answer latency, so a slow or dead model is seen by name (in the
heartbeat, `/api/stats` and `/metrics` with a `model` label) instead of hiding inside the
camera's merged figures.
"""

from __future__ import annotations

import threading
import time
from collections import deque

from atalaia.pipeline.detector_messages import DROP_CAUSES, DropCause
from atalaia.pipeline.snapshots import ModelSnapshot
from atalaia.pipeline.stats import LatencyHistogram, percentiles


class ModelStats:
    """Updated from the capture loop (sent, refused) and the model's link thread (answers)."""

    def __init__(self, model: str) -> None:
        self.model = model
        self.sent = 0
        self.detected = 0
        self.drops: dict[DropCause, int] = dict.fromkeys(DROP_CAUSES, 0)
        self.latency_ms: deque[float] = deque(maxlen=1000)
        self.latency_hist = LatencyHistogram()
        self._lock = threading.Lock()

    def count_sent(self) -> None:
        with self._lock:
            self.sent += 1

    def drop(self, cause: DropCause) -> None:
        with self._lock:
            self.drops[cause] += 1

    def result(self, ts: float) -> None:
        """A result for a frame captured at `ts` (wall time)."""
        latency = (time.time() - ts) * 1000
        with self._lock:
            self.detected += 1
            self.latency_ms.append(latency)
            self.latency_hist.add(latency)

    def snapshot(self, connected: bool) -> ModelSnapshot:
        with self._lock:
            return ModelSnapshot(
                connected=connected,
                sent=self.sent,
                detected=self.detected,
                dropped_stale=self.drops["stale"],
                dropped_overload=self.drops["overload"],
                dropped_no_detector=self.drops["no_detector"],
                dropped_error=self.drops["error"],
                latency_ms=percentiles(self.latency_ms),
                latency_hist=self.latency_hist.snapshot(),
            )
