"""Detections built by hand: known boxes on known trajectories."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from atalaia.detect import Detections

CLASSES = ("person", "helmet", "vest", "car")

Box = tuple[float, float, float, float]


def dets(
    boxes: Sequence[Box],
    scores: Sequence[float] | None = None,
    labels: Sequence[str] | None = None,
    classes: Sequence[str] = CLASSES,
) -> Detections:
    n = len(boxes)
    scores = scores if scores is not None else [0.9] * n
    labels = labels if labels is not None else ["person"] * n
    return Detections(
        xyxy=np.array(boxes, dtype=np.float32).reshape(n, 4),
        confidence=np.array(scores, dtype=np.float32),
        class_id=np.array([list(classes).index(lb) for lb in labels], dtype=np.int32),
        class_names=tuple(classes),
    )


def box_at(x: float, y: float, w: float = 40, h: float = 80) -> Box:
    """A box whose top-left corner is (x, y)."""
    return (x, y, x + w, y + h)
