"""What a camera reader hands to the camera process: one decoded picture and when it was taken."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class Frame:
    """A decoded frame.

    `image` is BGR, uint8, shape (height, width, 3), C-contiguous, and owned by the receiver
    (no reader keeps a reference to it). `timestamp` is `time.time()` when the frame left the
    source (after real-time pacing for files), so it can be compared with timestamps taken in
    other processes. `sequence` counts the frames the reader offered to its consumer, from 1,
    and never restarts across reconnects: a gap means the consumer missed frames because it
    was slower than the camera.
    """

    image: np.ndarray
    timestamp: float
    sequence: int

    @property
    def width(self) -> int:
        return int(self.image.shape[1])

    @property
    def height(self) -> int:
        return int(self.image.shape[0])
