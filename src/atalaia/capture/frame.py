"""What a camera reader hands to the camera process: one decoded picture and when it was taken.

The picture is converted to BGR only when someone asks for it. A camera captures every frame
its source sends (an H.264 stream must be decoded frame after frame anyway), but the camera
process uses only some of them: those due for detection and the few the live view and clip
history sample. A 30 fps camera detected 5 times a second converts 5 frames, not 30, and a
converted frame can go straight into its ring slot (`Picture.bgr_into`), without a copy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np


class Picture(Protocol):
    """A decoded picture, converted to BGR uint8 (height, width, 3) on demand.

    It stays valid after the source has moved on to later frames, and may be converted on
    another thread than the one that decoded it.
    """

    @property
    def height(self) -> int: ...

    @property
    def width(self) -> int: ...

    def bgr(self) -> np.ndarray:
        """The picture as a C-contiguous BGR array, owned by the caller; converted once."""
        ...

    def bgr_into(self, out: np.ndarray) -> None:
        """Write the BGR picture into `out` (height x width x 3 uint8, e.g. a ring slot)."""
        ...


class ReadyPicture:
    """A picture the source had to convert at once (OpenCV's `retrieve` only works on the
    frame grabbed last; a JPEG part is decoded straight to BGR)."""

    __slots__ = ("_image",)

    def __init__(self, image: np.ndarray) -> None:
        self._image = image

    @property
    def height(self) -> int:
        return int(self._image.shape[0])

    @property
    def width(self) -> int:
        return int(self._image.shape[1])

    def bgr(self) -> np.ndarray:
        return self._image

    def bgr_into(self, out: np.ndarray) -> None:
        np.copyto(out, self._image, casting="no")


@dataclass(frozen=True, slots=True)
class Frame:
    """A decoded frame.

    `image` is BGR, uint8, shape (height, width, 3), C-contiguous, and owned by the receiver
    (no reader keeps a reference to it); reading it converts `picture` (once). `timestamp` is
    `time.time()` when the frame left the source (after real-time pacing for files), so it
    can be compared with timestamps taken in other processes. `sequence` counts the frames
    the reader offered to its consumer, from 1, and never restarts across reconnects: a gap
    means the consumer missed frames because it was slower than the camera.
    """

    picture: Picture
    timestamp: float
    sequence: int
    # What the reader's offer filter said the frame is for (`CameraReader(offer=...)`);
    # None when the reader has none.
    purpose: object = None

    @property
    def image(self) -> np.ndarray:
        return self.picture.bgr()

    @property
    def width(self) -> int:
        return self.picture.width

    @property
    def height(self) -> int:
        return self.picture.height
