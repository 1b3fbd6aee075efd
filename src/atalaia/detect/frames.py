"""Checks on frames before they reach the model.

The detector process serves every camera; a malformed frame from one of them must come back as
a clear `InvalidFrameError` for that request, never as an OpenCV or ONNX Runtime crash deep in
the batch. So everything is checked up front, before any buffer is touched.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from atalaia.detect.errors import InvalidFrameError

# Smaller than this, letterboxing blows a frame up into a blur the model cannot read; such a
# frame is a bug upstream (a bad crop, a decoder glitch), better reported than "detected".
MIN_FRAME_SIDE = 8


def validate_frames(frames: Sequence[NDArray[np.uint8]]) -> list[NDArray[np.uint8]]:
    """Return the frames ready for pre-processing, or raise `InvalidFrameError`.

    Frames must be H x W x 3 BGR uint8 arrays, at least `MIN_FRAME_SIDE` pixels a side. A
    non-contiguous frame (a flip or a crop view) is copied once so OpenCV can read it.
    """
    if isinstance(frames, np.ndarray):
        raise InvalidFrameError(
            "detect() takes a sequence of frames, not one array; pass [frame] for a single frame"
        )
    ready: list[NDArray[np.uint8]] = []
    for index, frame in enumerate(frames):
        ready.append(_validate_frame(index, frame))
    return ready


def _validate_frame(index: int, frame: object) -> NDArray[np.uint8]:
    where = f"frame {index}"
    if not isinstance(frame, np.ndarray):
        raise InvalidFrameError(f"{where} is a {type(frame).__name__}, expected a numpy array")
    if frame.size == 0:
        raise InvalidFrameError(f"{where} is empty (shape {frame.shape})")
    if frame.dtype != np.uint8:
        raise InvalidFrameError(f"{where} has dtype {frame.dtype}, expected uint8 (BGR 0..255)")
    if frame.ndim == 2:
        raise InvalidFrameError(
            f"{where} is 2-D {frame.shape} (grayscale?); expected H x W x 3 BGR, "
            "convert with cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)"
        )
    if frame.ndim != 3 or frame.shape[2] != 3:
        raise InvalidFrameError(f"{where} has shape {frame.shape}, expected H x W x 3 BGR")
    height, width = frame.shape[:2]
    if min(height, width) < MIN_FRAME_SIDE:
        raise InvalidFrameError(
            f"{where} is {width}x{height} pixels, smaller than the minimum "
            f"{MIN_FRAME_SIDE}x{MIN_FRAME_SIDE}"
        )
    if not frame.flags.c_contiguous:
        frame = np.ascontiguousarray(frame)
    return frame
