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
    busy with a frame.
    """
    if size is not None and size.isValid():
        height, width = frame.shape[:2]
        scale = min(size.width() / width, size.height() / height)
        if scale > 0 and abs(scale - 1.0) > 0.01:
            target = (max(1, round(width * scale)), max(1, round(height * scale)))
            shrink = scale < 1.0
            frame = cv2.resize(
                frame, target, interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
            )
    frame = np.ascontiguousarray(frame)
    height, width = frame.shape[:2]
    return QImage(frame.data, width, height, 3 * width, QImage.Format.Format_BGR888).copy()


def decode_jpeg(jpeg: bytes, size: QSize | None = None) -> QImage | None:
    """A JPEG to a `QImage` fitting `size`, decoded by OpenCV with the GIL released."""
    frame = cv2.imdecode(np.frombuffer(jpeg, dtype=np.uint8), cv2.IMREAD_COLOR)
    if frame is None:
        return None
    return bgr_to_qimage(frame, size)
