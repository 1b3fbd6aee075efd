"""FrameHistory: the last few seconds of a camera as JPEG bytes, for clip pre-roll.

Raw frames would cost 0.9 MB each at 640x480 (6 MB at 1080p); as JPEG at quality 75 they are
20-100 KB, so a 15 s history at 5 fps stays in the low megabytes. Bounded twice: by age
(relative to the newest frame) and by total bytes.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class EncodedFrame:
    ts: float
    jpeg: bytes


class FrameHistory:
    def __init__(self, max_seconds: float, max_bytes: int) -> None:
        self.max_seconds = max_seconds
        self.max_bytes = max_bytes
        self._frames: deque[EncodedFrame] = deque()
        self._bytes = 0
        self._lock = threading.Lock()

    def add(self, ts: float, jpeg: bytes) -> None:
        with self._lock:
            if self._frames and ts <= self._frames[-1].ts:
                return  # the same or an older frame: the sampler saw no new one
            self._frames.append(EncodedFrame(ts, jpeg))
            self._bytes += len(jpeg)
            while self._frames and (
                ts - self._frames[0].ts > self.max_seconds or self._bytes > self.max_bytes
            ):
                self._bytes -= len(self._frames.popleft().jpeg)

    def between(self, start: float, end: float) -> list[EncodedFrame]:
        """Frames captured within [start, end], oldest first (shared bytes, no copies)."""
        with self._lock:
            return [f for f in self._frames if start <= f.ts <= end]

    @property
    def latest_ts(self) -> float | None:
        with self._lock:
            return self._frames[-1].ts if self._frames else None

    @property
    def nbytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._frames)
