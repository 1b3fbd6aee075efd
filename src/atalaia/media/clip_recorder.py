"""ClipRecorder: one MP4 per alert, from `pre_roll` before its start to `post_roll` after.

The pre-roll is already in the `FrameHistory` when the alert starts; the recorder waits until
the history holds frames up to the end of the post-roll (or, if the camera stalls, until that
moment plus a grace period has passed on the clock) and hands the frames to its encoder thread.
Encoding never runs on the capture or detection threads. At most `MAX_QUEUED` clips' frames
wait for the encoder; clips due meanwhile (a burst of alerts) keep waiting for room, and beyond
`4 * MAX_QUEUED` waiting a new clip is skipped and counted, never queued without bound. A clip
that cannot be written is counted as failed and logged with the reason, and the last reason
stays in `stats()` (the camera's status), so a failure is never silent.
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
        self.requested = 0
        self.written = 0
        self.failed = 0
        self.skipped = 0
        self.last_error: str | None = None
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
        for i, request in enumerate(due):
            if not self._enqueue(request, keep_if_full=True):
                # The encoder is behind a burst of alerts: these wait for room (their frames
                # are taken when they go, so a long wait may shorten the pre-roll) rather than
                # being skipped; `request` bounds how many can wait.
                with self._lock:
                    self._waiting = due[i:] + self._waiting
                return

    # ---- called by the detection thread -----------------------------------------------------

    def request(self, alert_id: str, start: float, path: Path) -> None:
        """Record a clip around `start` (a capture time) for this alert."""
        with self._lock:
            self.requested += 1
            if len(self._waiting) >= 4 * MAX_QUEUED:
                self.skipped += 1
                log.warning("too many clips waiting; clip for alert %s skipped", alert_id)
                return
            self._waiting.append(ClipRequest(alert_id, start, path))

    # ---- encoding ---------------------------------------------------------------------------

    def _enqueue(self, request: ClipRequest, *, keep_if_full: bool = False) -> bool:
        """Queue the clip's frames for the encoder; False (nothing done) when the queue is full
        and `keep_if_full`, otherwise a clip that cannot be queued is skipped and counted."""
        if keep_if_full and self._jobs.full():
            return False
        start, end = request.window(self.config)
        frames = self.history.between(start, end)
        if not frames:
            self.skipped += 1
            log.warning("no frames for the clip of alert %s", request.alert_id)
            return True
        try:
            self._jobs.put_nowait((request, frames))
        except queue.Full:
            self.skipped += 1
            log.warning("clip encoder behind; clip for alert %s skipped", request.alert_id)
        return True

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
                self._failed(request, str(exc))
            except Exception as exc:  # a bug must not stop the encoder thread for good
                self._failed(request, f"{type(exc).__name__}: {exc}", exc_info=True)

    def _failed(self, request: ClipRequest, reason: str, *, exc_info: bool = False) -> None:
        self.failed += 1
        self.last_error = reason
        log.error("clip for alert %s failed: %s", request.alert_id, reason, exc_info=exc_info)

    def close(self, timeout: float = 10.0) -> None:
        """Write the clips still waiting with the frames there are, then stop the encoder."""
        deadline = time.monotonic() + timeout
        with self._lock:
            waiting, self._waiting = self._waiting, []
        for request in waiting:  # while the encoder runs, wait for room rather than skip
            queued = False
            while not queued and self._thread.is_alive() and time.monotonic() < deadline:
                queued = self._enqueue(request, keep_if_full=True)
                if not queued:
                    time.sleep(0.05)
            if not queued:
                self._enqueue(request)  # skipped and counted if there is still no room
        if self._thread.is_alive():
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
            "clips_requested": self.requested,
            "clips_written": self.written,
            "clips_failed": self.failed,
            "clip_last_error": self.last_error,
            "clips_skipped": self.skipped,
            "clips_waiting": len(self._waiting),
            "history_frames": len(self.history),
            "history_kb": round(self.history.nbytes / 1024, 1),
            "history_jpeg_ms": mean(self.jpeg_ms),
            "clip_encode_ms": mean(self.clip_ms),
        }
