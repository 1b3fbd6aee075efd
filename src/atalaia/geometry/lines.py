"""Lines: which side a point is on, and whether a movement crossed a segment.

Sides are taken looking from the line's first point towards its second, on the image as it is
shown (y grows downwards): positive is the right-hand side. For a horizontal line drawn left to
right, right-hand is below the line.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

Point = tuple[float, float]


def side_of_line(points: NDArray[np.floating], a: Point, b: Point) -> NDArray[np.int8]:
    """For (N, 2) points: +1 right of a->b (as seen on screen), -1 left, 0 on the line."""
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    ex, ey = b[0] - a[0], b[1] - a[1]
    cross = ex * (pts[:, 1] - a[1]) - ey * (pts[:, 0] - a[0])
    return np.sign(cross).astype(np.int8)


def crossed_segment(start: Point, end: Point, a: Point, b: Point) -> bool:
    """Whether moving from `start` to `end` passes through segment a-b (its ends included).

    A side change alone is not enough: walking past the end of a gate line, beside it, changes
    side of the infinite line without crossing the gate.
    """
    p = np.array([start, end], dtype=np.float64)
    s_ab = side_of_line(p, a, b)
    s_move = side_of_line(np.array([a, b], dtype=np.float64), start, end)
    if s_ab[0] == s_ab[1] and s_ab[0] != 0:
        return False
    if s_move[0] == s_move[1] and s_move[0] != 0:
        return False
    # Moving along the line itself is no crossing.
    return not (s_ab[0] == 0 and s_ab[1] == 0)
