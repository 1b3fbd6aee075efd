"""MediaSampler: the camera's media thread, off the capture and detection paths.

At the clip rate it takes the newest frame from the camera's ring and adds it to the clip
history; at the live rate it draws the overlay and writes `live.jpg` (a frame it already
wrote only once a second); every tick it lets the clip recorder start clips whose post-roll
is complete. One ring read serves both.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

from atalaia.media.clip_recorder import ClipRecorder
from atalaia.media.live import LiveFrameWriter
from atalaia.media.overlay import OverlayState

log = logging.getLogger(__name__)

FrameSource = Callable[[], tuple[float, NDArray[np.uint8]] | None]

# A live frame already written is written again (with the newest overlay) only after this
# long: with `live_fps` above the camera's own rate, the repeats cost an overlay and a JPEG
# encode each and showed a viewer more frames than the camera has (18.5 for a 15 fps camera);
# once a second keeps the file fresh for the API (`api/live.py`) and a still camera's overlay
# current.
LIVE_REPEAT_S = 1.0


class MediaSampler:
    def __init__(
        self,
        source: FrameSource,
        overlay: Callable[[], OverlayState],
        *,
        clips: ClipRecorder | None,
        clip_fps: float,
        live: LiveFrameWriter | None,
        live_fps: float,
        stopping: threading.Event,
    ) -> None:
        self.source = source
        self.overlay = overlay
        self.clips = clips
        self.live = live
        self.clip_period = 1.0 / clip_fps
        self.live_period = 1.0 / live_fps
        self.stopping = stopping
        # How often this sampler takes the ring's newest frame, None if it never does. The
        # camera reads it for every frame and converts frames for the sampler twice as often,
        # so each of its ticks (every half period) finds one it has not taken yet.
        periods = [p for p, on in ((self.clip_period, clips), (self.live_period, live))
                   if on is not None]  # fmt: skip
        self.period: float | None = min(periods) if periods else None
        self._thread = threading.Thread(target=self._run, name="media-sampler", daemon=True)
        self._last_clip = 0.0
        self._last_clip_ts = float("-inf")
        self._last_live = 0.0
        self._last_live_ts = float("-inf")

    @property
    def enabled(self) -> bool:
        return self.clips is not None or self.live is not None

    def start(self) -> MediaSampler:
        if self.enabled:
            self._thread.start()
        return self

    def tick(self, now: float) -> None:
        """One round: sample if due (monotonic `now`), then start due clips."""
        # A millisecond of slack: ticks land on the period give or take float rounding.
        clip_due = self.clips is not None and now - self._last_clip >= self.clip_period - 1e-3
        live_due = self.live is not None and now - self._last_live >= self.live_period - 1e-3
        if live_due and self.live is not None and not self.live.wanted():
            self._last_live = now  # asked again a period later: one stat per period
            live_due = False
        if clip_due or live_due:
            got = self.source()
            if got is not None:
                ts, image = got
                if clip_due and self.clips is not None and ts > self._last_clip_ts:
                    # A frame already in the history is not due again: asked again next tick.
                    self._last_clip = now
                    self._last_clip_ts = ts
                    self.clips.add_frame(ts, image)
                if (
                    live_due
                    and self.live is not None
                    and (ts > self._last_live_ts or now - self._last_live >= LIVE_REPEAT_S)
                ):
                    self._last_live = now
                    self._last_live_ts = ts
                    self.live.write(image, self.overlay(), ts)
        if self.clips is not None:
            self.clips.poll(time.time())

    def _run(self) -> None:
        step = (self.period or 1.0) / 2
        while not self.stopping.wait(step):
            try:
                self.tick(time.monotonic())
            except Exception:
                log.exception("media sampling failed")
                self.stopping.wait(1.0)

    def join(self, timeout: float) -> None:
        if self._thread.is_alive():
            self._thread.join(timeout)
