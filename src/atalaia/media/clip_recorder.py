"""ClipRecorder: one MP4 per alert, from `pre_roll` before its start to `post_roll` after.

The pre-roll is already in the `FrameHistory` when the alert starts; the recorder waits until
the history holds frames up to the end of the post-roll (or, if the camera stalls, until that
moment plus a grace period has passed on the clock) and hands the frames to its encoder thread.
Encoding never runs on the capture or detection threads, and at most `MAX_QUEUED` clips wait
to be encoded: beyond that a clip is skipped and counted, never queued without bound.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from atalaia.config.media import MediaConfig
from atalaia.media.clip_encoder import ClipInfo, encode_clip
from atalaia.media.history import EncodedFrame, FrameHistory
from atalaia.media.jpeg import MediaError, encode_jpeg, scale_to_width

log = logging.getLogger(__name__)

MAX_QUEUED = 8
GRACE_S = 3.0  # how long past the post-roll to wait for frames from a stalled camera
HISTORY_MARGIN_S = 2.0


@dataclass(frozen=True, slots=True)
class ClipRequest:
    alert_id: str
    start: float
    path: Path

    def window(self, config: MediaConfig) -> tuple[float, float]:
        return self.start - config.pre_roll, self.start + config.post_roll


class ClipRecorder:
    def __init__(self, config: MediaConfig) -> None:
        self.config = config
        self.history = FrameHistory(
            max_seconds=config.pre_roll + config.post_roll + HISTORY_MARGIN_S,
            max_bytes=int(config.history_max_mb * 2**20),
        )
        self._lock = threading.Lock()
        self._waiting: list[ClipRequest] = []
        self._jobs: queue.Queue[tuple[ClipRequest, list[EncodedFrame]] | None] = queue.Queue(
            MAX_QUEUED
        )
        self._thread = threading.Thread(target=self._encode_loop, name="clip-encoder", daemon=True)
        self.written = 0
        self.failed = 0
        self.skipped = 0
        self.frames_encoded = 0
        self.jpeg_ms: deque[float] = deque(maxlen=200)
        self.clip_ms: deque[float] = deque(maxlen=50)
        self.last: ClipInfo | None = None

    def start(self) -> ClipRecorder:
        self._thread.start()
        return self

    # ---- called by the media sampler thread ----------------------------------------------

    def add_frame(self, ts: float, image: NDArray[np.uint8]) -> None:
        """Keep one frame (scaled, as JPEG) in the history."""
        t0 = time.perf_counter()
        jpeg = encode_jpeg(
            scale_to_width(image, self.config.clip_max_width), self.config.clip_quality
        )
        self.jpeg_ms.append((time.perf_counter() - t0) * 1000)
        self.frames_encoded += 1
        self.history.add(ts, jpeg)

    def poll(self, now: float) -> None:
        """Hand every clip whose post-roll is complete (or overdue) to the encoder."""
        latest = self.history.latest_ts
        with self._lock:
            due = [
                r
                for r in self._waiting
                if (latest is not None and latest >= r.window(self.config)[1])
                or now >= r.window(self.config)[1] + GRACE_S
            ]
            self._waiting = [r for r in self._waiting if r not in due]
        for request in due:
            self._enqueue(request)

    # ---- called by the detection thread -----------------------------------------------------

    def request(self, alert_id: str, start: float, path: Path) -> None:
        """Record a clip around `start` (a capture time) for this alert."""
        with self._lock:
            if len(self._waiting) >= 4 * MAX_QUEUED:
                self.skipped += 1
                log.warning("too many clips waiting; clip for alert %s skipped", alert_id)
                return
            self._waiting.append(ClipRequest(alert_id, start, path))

    # ---- encoding ---------------------------------------------------------------------------

    def _enqueue(self, request: ClipRequest) -> None:
        start, end = request.window(self.config)
        frames = self.history.between(start, end)
        if not frames:
            self.skipped += 1
            log.warning("no frames for the clip of alert %s", request.alert_id)
            return
        try:
            self._jobs.put_nowait((request, frames))
        except queue.Full:
            self.skipped += 1
            log.warning("clip encoder behind; clip for alert %s skipped", request.alert_id)

    def _encode_loop(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            request, frames = job
            t0 = time.perf_counter()
            try:
                self.last = encode_clip(
                    frames, request.path, self.config.clip_fps, self.config.clip_crf
                )
                self.written += 1
                self.clip_ms.append((time.perf_counter() - t0) * 1000)
            except MediaError as exc:
                self.failed += 1
                log.error("clip for alert %s failed: %s", request.alert_id, exc)

    def close(self, timeout: float = 10.0) -> None:
        """Write the clips still waiting with the frames there are, then stop the encoder."""
        with self._lock:
            waiting, self._waiting = self._waiting, []
        for request in waiting:
            self._enqueue(request)
        if self._thread.is_alive():
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                try:
                    self._jobs.put(None, timeout=0.1)
                    break
                except queue.Full:
                    continue
            self._thread.join(max(0.0, deadline - time.monotonic()))

    def stats(self) -> dict[str, Any]:
        def mean(values: deque[float]) -> float | None:
            return round(sum(values) / len(values), 2) if values else None

        return {
            "clips_written": self.written,
            "clips_failed": self.failed,
            "clips_skipped": self.skipped,
            "clips_waiting": len(self._waiting),
            "history_frames": len(self.history),
            "history_kb": round(self.history.nbytes / 1024, 1),
            "history_jpeg_ms": mean(self.jpeg_ms),
            "clip_encode_ms": mean(self.clip_ms),
        }
