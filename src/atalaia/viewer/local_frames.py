"""Pixels for the viewer: BGR frames to `QImage`, detections drawn on the frame they belong to.

Everything here runs in worker threads: converting and scaling an image is exactly the work
that froze note 000's window when it ran on the UI thread.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
from PySide6.QtCore import QSize
from PySide6.QtGui import QImage

from atalaia.jpeg_header import jpeg_size

MAX_SEND_SIDE = 640  # the service scales larger frames to 640 anyway: send no more


def fit_within(frame: np.ndarray, max_side: int = MAX_SEND_SIDE) -> np.ndarray:
    height, width = frame.shape[:2]
    scale = max_side / max(height, width)
    if scale >= 1.0:
        return frame
    return cv2.resize(
        frame, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_AREA
    )


def draw_detections(frame: np.ndarray, detections: list[dict[str, Any]]) -> np.ndarray:
    """A copy of `frame` with each detection's box and `class score` (boxes in its pixels)."""
    out = frame.copy()
    for det in detections:
        box = det.get("bbox") or {}
        x, y = round(float(box.get("x", 0))), round(float(box.get("y", 0)))
        w, h = round(float(box.get("width", 0))), round(float(box.get("height", 0)))
        cv2.rectangle(out, (x, y), (x + w, y + h), (0, 200, 255), 2)
        label = f"{det.get('class_name', '?')} {float(det.get('confidence', 0)):.2f}"
        cv2.putText(
            out, label, (x, max(12, y - 4)), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 200, 255), 1
        )
    return out


def bgr_to_qimage(frame: np.ndarray, size: QSize | None = None) -> QImage:
    """A deep-copied `QImage` (safe to hand to another thread), scaled to fit `size`.

    Scaling is OpenCV's, not `QImage.scaled`: OpenCV releases the GIL while it works, so the
    UI thread, which needs the GIL for every slot it runs, is not kept waiting behind a worker
    busy with a frame. Bilinear down to half size, area averaging below: `INTER_AREA` at a
    ratio that is not a whole number cost 2 ms a 640x480 frame (measured), eight times
    bilinear, and `decode_jpeg` already brings a live frame within 2x of its tile.
    """
    if size is not None and size.isValid():
        height, width = frame.shape[:2]
        scale = min(size.width() / width, size.height() / height)
        if scale > 0 and abs(scale - 1.0) > 0.01:
            target = (max(1, round(width * scale)), max(1, round(height * scale)))
            smooth = cv2.INTER_AREA if scale < 0.5 else cv2.INTER_LINEAR
            frame = cv2.resize(frame, target, interpolation=smooth)
    frame = np.ascontiguousarray(frame)
    height, width = frame.shape[:2]
    return QImage(frame.data, width, height, 3 * width, QImage.Format.Format_BGR888).copy()


# libjpeg decodes at 1/2, 1/4 or 1/8 size for much less work than full size then scaling.
_REDUCED = ((8, cv2.IMREAD_REDUCED_COLOR_8), (4, cv2.IMREAD_REDUCED_COLOR_4),
            (2, cv2.IMREAD_REDUCED_COLOR_2))  # fmt: skip


def decode_flag(jpeg: bytes, size: QSize | None) -> int:
    """The `cv2.imdecode` flag that decodes at the smallest libjpeg reduction still at least
    as large as the picture fitting `size` (a 640x480 frame for a 300x225 tile: 1/2)."""
    source = jpeg_size(jpeg) if size is not None and size.isValid() else None
    if size is None or source is None:
        return cv2.IMREAD_COLOR
    scale = min(size.width() / source[0], size.height() / source[1])
    for factor, flag in _REDUCED:
        if scale * factor <= 1.0 + 1e-6:
            return flag
    return cv2.IMREAD_COLOR


def decode_jpeg(jpeg: bytes, size: QSize | None = None) -> QImage | None:
    """A JPEG to a `QImage` fitting `size`, decoded by OpenCV with the GIL released, at a
    reduced size when the picture is smaller than the frame (measured on a 640x480 live frame
    for a 300x225 tile: 0.8 ms of CPU instead of 3.1)."""
    frame = cv2.imdecode(np.frombuffer(jpeg, dtype=np.uint8), decode_flag(jpeg, size))
    if frame is None:
        return None
    return bgr_to_qimage(frame, size)
