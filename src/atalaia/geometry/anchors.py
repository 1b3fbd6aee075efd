"""Which point of a box stands for the object when asking "is it inside the zone?".

The bottom centre is the default, as in supervision and Frigate: for a camera looking down at a
floor it is where a person's feet touch the ground, so a head that overlaps a zone drawn on the
floor does not count as being in it.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import NDArray

Anchor = Literal["bottom_center", "center", "top_center", "bottom_left", "bottom_right"]


def anchor_points(xyxy: NDArray[np.floating], anchor: Anchor) -> NDArray[np.float64]:
    """The (N, 2) anchor points of (N, 4) boxes given as x1, y1, x2, y2."""
    boxes = np.asarray(xyxy, dtype=np.float64).reshape(-1, 4)
    x1, y1, x2, y2 = boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3]
    cx = (x1 + x2) / 2
    if anchor == "bottom_center":
        return np.stack([cx, y2], axis=1)
    if anchor == "center":
        return np.stack([cx, (y1 + y2) / 2], axis=1)
    if anchor == "top_center":
        return np.stack([cx, y1], axis=1)
    if anchor == "bottom_left":
        return np.stack([x1, y2], axis=1)
    if anchor == "bottom_right":
        return np.stack([x2, y2], axis=1)
    raise ValueError(f"unknown anchor {anchor!r}")
