"""Intersection over union between every pair of two sets of boxes."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray


def box_iou_matrix(a: NDArray[np.floating], b: NDArray[np.floating]) -> NDArray[np.float64]:
    """(N, M) IoU of (N, 4) and (M, 4) boxes given as x1, y1, x2, y2; 0 for empty boxes."""
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)))
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    wh = np.clip(rb - lt, 0.0, None)
    inter = wh[..., 0] * wh[..., 1]
    area_a = np.prod(np.clip(a[:, 2:] - a[:, :2], 0.0, None), axis=1)
    area_b = np.prod(np.clip(b[:, 2:] - b[:, :2], 0.0, None), axis=1)
    union = area_a[:, None] + area_b[None, :] - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        iou = np.where(union > 0, inter / union, 0.0)
    return np.asarray(iou)


def iou_cost(
    tracks_xyxy: NDArray[np.floating], dets_xyxy: NDArray[np.floating]
) -> NDArray[np.float64]:
    """The tracker's default matching cost: 1 - IoU (0 for identical boxes, 1 for disjoint)."""
    return 1.0 - box_iou_matrix(tracks_xyxy, dets_xyxy)
