"""Class-aware non-maximum suppression in numpy.

Greedy NMS, as the YOLO family expects: take the best remaining box, drop every box of the same
class that overlaps it by more than the IoU threshold, repeat. Each step is one vectorised IoU
of the kept box against all candidates, so the Python loop runs once per *kept* box (a few
dozen), never once per candidate; memory stays O(N) instead of an N x N IoU matrix.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray


def box_iou_one_to_many(
    box: NDArray[np.float32], boxes: NDArray[np.float32]
) -> NDArray[np.float32]:
    """IoU of one xyxy box with each of (N, 4) xyxy boxes."""
    inter_w = np.minimum(box[2], boxes[:, 2]) - np.maximum(box[0], boxes[:, 0])
    inter_h = np.minimum(box[3], boxes[:, 3]) - np.maximum(box[1], boxes[:, 1])
    inter = np.clip(inter_w, 0, None) * np.clip(inter_h, 0, None)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    union = area + areas - inter
    return np.asarray(inter / np.maximum(union, np.float32(1e-9)), dtype=np.float32)


def nms_class_aware(
    xyxy: NDArray[np.float32],
    scores: NDArray[np.float32],
    class_ids: NDArray[np.int32],
    iou_threshold: float,
    max_keep: int,
) -> NDArray[np.intp]:
    """Indices of the boxes kept, best score first, at most `max_keep` of them.

    Boxes of different classes never suppress each other (a person and the bicycle they ride
    overlap heavily and both must stay).
    """
    if len(scores) == 0 or max_keep <= 0:
        return np.zeros(0, np.intp)
    order = np.argsort(-scores, kind="stable")
    boxes = xyxy[order]
    classes = class_ids[order]
    alive = np.ones(len(order), dtype=bool)
    kept: list[int] = []
    current = 0
    while len(kept) < max_keep:
        kept.append(current)
        alive[current] = False
        same_class = classes == classes[current]
        overlapping = box_iou_one_to_many(boxes[current], boxes) > iou_threshold
        alive &= ~(same_class & overlapping)
        if not alive.any():
            break
        current = int(np.argmax(alive))
    return order[np.asarray(kept, dtype=np.intp)]
