"""Intersection over union between every pair of two sets of boxes."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray


def box_iou_matrix(a: NDArray[np.floating], b: NDArray[np.floating]) -> NDArray[np.float64]:
    """(N, M) IoU of (N, 4) and (M, 4) boxes given as x1, y1, x2, y2; 0 for empty boxes.

    Written as a few whole-matrix operations on the coordinate columns: a tracker calls it on
    every detection result with a few dozen boxes, where each numpy call's fixed cost, not the
    arithmetic, is what counts."""
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)))
    ax1, ay1, ax2, ay2 = a[:, 0:1], a[:, 1:2], a[:, 2:3], a[:, 3:4]  # (N, 1) columns
    bx1, by1, bx2, by2 = b[:, 0], b[:, 1], b[:, 2], b[:, 3]
    w = np.minimum(ax2, bx2) - np.maximum(ax1, bx1)
    h = np.minimum(ay2, by2) - np.maximum(ay1, by1)
    np.maximum(w, 0.0, out=w)
    np.maximum(h, 0.0, out=h)
    inter = w * h
    area_a = np.maximum(ax2 - ax1, 0.0) * np.maximum(ay2 - ay1, 0.0)
    area_b = np.maximum(bx2 - bx1, 0.0) * np.maximum(by2 - by1, 0.0)
    union = area_a + area_b - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def iou_cost(
    tracks_xyxy: NDArray[np.floating], dets_xyxy: NDArray[np.floating]
) -> NDArray[np.float64]:
    """The tracker's default matching cost: 1 - IoU (0 for identical boxes, 1 for disjoint)."""
    return 1.0 - box_iou_matrix(tracks_xyxy, dets_xyxy)
