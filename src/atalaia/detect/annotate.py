"""Drawing detections on a frame, for `atalaia detect --save` and snapshots.

A copy is drawn on, never the frame itself: the frame may be a shared-memory slot that other
readers still need clean.
"""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray

from atalaia.detect.detections import Detections


def class_colour(class_id: int) -> tuple[int, int, int]:
    """A stable, well-spread BGR colour per class (golden-ratio hue steps)."""
    hue = int((class_id * 0.618034 % 1.0) * 180)
    hsv = np.array([[[hue, 200, 255]]], dtype=np.uint8)
    b, g, r = cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)[0, 0]
    return int(b), int(g), int(r)


def draw_detections(frame: NDArray[np.uint8], detections: Detections) -> NDArray[np.uint8]:
    """A copy of `frame` with boxes, "class confidence" labels and landmarks drawn."""
    out = frame.copy()
    thickness = max(1, round(min(frame.shape[:2]) / 400))
    font_scale = 0.4 * thickness
    boxes = np.round(detections.xyxy).astype(int).tolist()
    for row, ((x1, y1, x2, y2), class_id) in enumerate(
        zip(boxes, detections.class_id.tolist(), strict=True)
    ):
        colour = class_colour(class_id)
        cv2.rectangle(out, (x1, y1), (x2, y2), colour, thickness)
        label = f"{detections.class_names[class_id]} {detections.confidence[row]:.2f}"
        (w, h), base = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, font_scale, thickness)
        top = max(0, y1 - h - base)
        cv2.rectangle(out, (x1, top), (x1 + w, top + h + base), colour, -1)
        cv2.putText(
            out,
            label,
            (x1, top + h),
            cv2.FONT_HERSHEY_SIMPLEX,
            font_scale,
            (0, 0, 0),
            thickness,
            cv2.LINE_AA,
        )
        if detections.landmarks is not None:
            for x, y in np.round(detections.landmarks[row]).astype(int).tolist():
                cv2.circle(out, (x, y), thickness + 1, (0, 255, 0), -1)
    return out
