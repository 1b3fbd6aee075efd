"""The latest annotated frame of a camera, as a small JPEG file (`media/<camera>/live.jpg`).

Why a file: the API process can serve it with no extra IPC (a plain file response), any
number of viewers cost the camera nothing more, and an atomic rename means a reader never sees
half an image. Its rate is capped (`live_fps`, 2 by default), and with `live_when: watched`
(the default) it is written only while someone watches: the API touches `live.watch` beside it
each time it serves the frame, and the camera draws and encodes only while that touch is
younger than `WATCH_TTL_S`. A camera nobody looks at spends nothing on its live view (one
`stat` per live period); put `data_dir` on tmpfs to keep the writes off a disk.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from atalaia.media.jpeg import encode_jpeg, write_atomic
from atalaia.media.overlay import OverlayState, draw_overlay

log = logging.getLogger(__name__)

# How long a camera keeps writing its live frame after the API last served it. The console's
# still mode and the streams ask far more often; a viewer gone for this long is gone.
WATCH_TTL_S = 10.0


class LiveFrameWriter:
    def __init__(self, path: Path, quality: int, watch: Path | None = None) -> None:
        """`watch`: the file the API touches while serving the frame; None writes always."""
        self.path = path
        self.quality = quality
        self.watch = watch
        self.unwatched = 0  # due frames not written because nobody watched
        self.written = 0
        self.errors = 0
        self.last_ms = 0.0

    def wanted(self, now: float | None = None) -> bool:
        """Whether a frame is worth drawing now (wall-clock `now`): always without a watch
        file, else while the API served the live view within `WATCH_TTL_S`."""
        if self.watch is None:
            return True
        try:
            touched = self.watch.stat().st_mtime
        except OSError:
            touched = 0.0
        if (time.time() if now is None else now) - touched <= WATCH_TTL_S:
            return True
        self.unwatched += 1
        return False

    def write(self, frame: NDArray[np.uint8], state: OverlayState, ts: float) -> None:
        t0 = time.perf_counter()
        try:
            write_atomic(self.path, encode_jpeg(draw_overlay(frame, state, ts), self.quality))
            self.written += 1
        except OSError as exc:
            self.errors += 1
            if self.errors == 1 or self.errors % 100 == 0:
                log.error("cannot write the live frame %s: %s (%d errors)", self.path, exc,
                          self.errors)  # fmt: skip
        self.last_ms = (time.perf_counter() - t0) * 1000
