"""The latest annotated frame of a camera, as a small JPEG file (`media/<camera>/live.jpg`).

Why a file: the API process can serve it with no extra IPC (a plain file response), any
number of viewers cost the camera nothing more, and an atomic rename means a reader never sees
half an image. Its rate is capped (`live_fps`, 2 by default), so the cost is one draw and one
JPEG encode every half second per camera whether anyone watches or not; put `data_dir` on
tmpfs to keep those writes off a disk.
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


class LiveFrameWriter:
    def __init__(self, path: Path, quality: int) -> None:
        self.path = path
        self.quality = quality
        self.written = 0
        self.errors = 0
        self.last_ms = 0.0

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
