"""Polygons: inside tests that count the boundary as inside, and the checks that make a zone
valid (enough points, some area, no edge crossing another).

A self-intersecting polygon ("bow tie") usually means two points were clicked in the wrong
order; the even-odd rule would then silently leave a hole where the user meant an area, so it
is refused with the edges that cross.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

# Distance (pixels, or frame fractions for relative zones) within which a point counts as on
# an edge: float noise from scaling relative coordinates must not flip a point on the border.
EDGE_TOLERANCE = 1e-6


def _as_array(polygon: Sequence[Sequence[float]] | NDArray[np.floating]) -> NDArray[np.float64]:
    array = np.asarray(polygon, dtype=np.float64)
    if array.ndim != 2 or array.shape[1] != 2:
        raise ValueError(f"expected polygon points as (M, 2), got shape {array.shape}")
    return array


def polygon_area(polygon: Sequence[Sequence[float]] | NDArray[np.floating]) -> float:
    """The absolute area (shoelace formula); 0 for collinear points."""
    p = _as_array(polygon)
    x, y = p[:, 0], p[:, 1]
    return float(abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))) / 2)


def points_in_polygon(
    points: NDArray[np.floating],
    polygon: Sequence[Sequence[float]] | NDArray[np.floating],
    tolerance: float = EDGE_TOLERANCE,
) -> NDArray[np.bool_]:
    """For (N, 2) points, whether each lies inside the polygon or on its boundary.

    Even-odd crossing count along +x for the interior (correct for concave polygons), plus an
    explicit on-segment test, so a point exactly on an edge or a vertex is inside whatever the
    edge's direction: a box resting on the zone's border is in the zone.
    """
    poly = _as_array(polygon)
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    if len(pts) == 0:
        return np.zeros(0, dtype=bool)
    a = poly[None, :, :]  # (1, M, 2): edge starts
    b = np.roll(poly, -1, axis=0)[None, :, :]  # edge ends
    px = pts[:, 0:1]  # (N, 1)
    py = pts[:, 1:2]
    ax, ay, bx, by = a[..., 0], a[..., 1], b[..., 0], b[..., 1]
    straddles = (ay > py) != (by > py)
    with np.errstate(divide="ignore", invalid="ignore"):
        x_cross = ax + (py - ay) * (bx - ax) / (by - ay)
    crossings = np.count_nonzero(straddles & (px < x_cross), axis=1)
    inside = (crossings % 2) == 1
    # On an edge: collinear with it (cross product ~ 0) and between its ends.
    ex, ey = bx - ax, by - ay
    dx, dy = px - ax, py - ay
    length = np.hypot(ex, ey)
    cross = np.abs(ex * dy - ey * dx)
    dot = ex * dx + ey * dy
    on_edge = (cross <= tolerance * np.maximum(length, 1.0)) & (dot >= -tolerance)
    on_edge &= dot <= length * length + tolerance
    return np.asarray(inside | on_edge.any(axis=1))


def _orientation(p: NDArray[np.float64], q: NDArray[np.float64], r: NDArray[np.float64]) -> int:
    value = (q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0])
    if abs(value) <= EDGE_TOLERANCE:
        return 0
    return 1 if value > 0 else -1


def _on_segment(p: NDArray[np.float64], q: NDArray[np.float64], r: NDArray[np.float64]) -> bool:
    """q lies on segment pr, given that p, q, r are collinear."""
    return bool(
        min(p[0], r[0]) - EDGE_TOLERANCE <= q[0] <= max(p[0], r[0]) + EDGE_TOLERANCE
        and min(p[1], r[1]) - EDGE_TOLERANCE <= q[1] <= max(p[1], r[1]) + EDGE_TOLERANCE
    )


def segments_intersect(
    p1: NDArray[np.float64],
    p2: NDArray[np.float64],
    q1: NDArray[np.float64],
    q2: NDArray[np.float64],
) -> bool:
    """Whether segments p1p2 and q1q2 share at least one point (touching counts)."""
    o1, o2 = _orientation(p1, p2, q1), _orientation(p1, p2, q2)
    o3, o4 = _orientation(q1, q2, p1), _orientation(q1, q2, p2)
    if o1 != o2 and o3 != o4:
        return True
    return (
        (o1 == 0 and _on_segment(p1, q1, p2))
        or (o2 == 0 and _on_segment(p1, q2, p2))
        or (o3 == 0 and _on_segment(q1, p1, q2))
        or (o4 == 0 and _on_segment(q1, p2, q2))
    )


def _orientations(
    p: NDArray[np.float64], q: NDArray[np.float64], r: NDArray[np.float64]
) -> NDArray[np.int8]:
    """`_orientation` for (K, 2) arrays of points at once."""
    value = (q[:, 0] - p[:, 0]) * (r[:, 1] - p[:, 1]) - (q[:, 1] - p[:, 1]) * (r[:, 0] - p[:, 0])
    sign = np.sign(value).astype(np.int8)
    sign[np.abs(value) <= EDGE_TOLERANCE] = 0
    return sign


def _on_segments(
    p: NDArray[np.float64], q: NDArray[np.float64], r: NDArray[np.float64]
) -> NDArray[np.bool_]:
    """`_on_segment` for (K, 2) arrays of points at once."""
    low = np.minimum(p, r) - EDGE_TOLERANCE
    high = np.maximum(p, r) + EDGE_TOLERANCE
    return np.asarray(((low <= q) & (q <= high)).all(axis=1))


def self_intersections(
    polygon: Sequence[Sequence[float]] | NDArray[np.floating],
) -> list[tuple[int, int]]:
    """Pairs of edge indices that cross or touch (edge i runs from point i to point i+1).

    Neighbouring edges share a vertex by construction and are only reported when they fold
    back over each other. Every pair of edges is tested (M^2/2 pairs), as whole arrays rather
    than pair by pair: a zone is validated each time its camera is loaded, and a loop in
    Python over a detailed polygon's pairs took seconds of a shared CPU.
    """
    p = _as_array(polygon)
    m = len(p)
    if m < 3:
        return []
    starts, ends = p, np.roll(p, -1, axis=0)
    i, j = np.triu_indices(m, k=1)
    a1, a2, b1, b2 = starts[i], ends[i], starts[j], ends[j]

    # Shared vertex: only a fold-back (the far end lying on the other edge) counts.
    follows = j == i + 1
    adjacent = follows | ((i == 0) & (j == m - 1))
    shared = np.where(follows[:, None], a2, a1)
    far = np.where(follows[:, None], b2, b1)
    other_far = np.where(follows[:, None], a1, a2)
    folds = (_orientations(other_far, shared, far) == 0) & (
        ((other_far - shared) * (far - shared)).sum(axis=1) > 0
    )

    o1, o2 = _orientations(a1, a2, b1), _orientations(a1, a2, b2)
    o3, o4 = _orientations(b1, b2, a1), _orientations(b1, b2, a2)
    crosses = ((o1 != o2) & (o3 != o4)) | (
        ((o1 == 0) & _on_segments(a1, b1, a2))
        | ((o2 == 0) & _on_segments(a1, b2, a2))
        | ((o3 == 0) & _on_segments(b1, a1, b2))
        | ((o4 == 0) & _on_segments(b1, a2, b2))
    )
    found = np.where(adjacent, folds, crosses)
    return [(int(x), int(y)) for x, y in zip(i[found], j[found], strict=True)]


def polygon_problem(polygon: Sequence[Sequence[float]] | NDArray[np.floating]) -> str | None:
    """Why these points do not make a usable zone, or None when they do."""
    p = _as_array(polygon)
    if len(p) < 3:
        return f"expected at least 3 points, got {len(p)}"
    if np.linalg.matrix_rank(p - p[0], tol=EDGE_TOLERANCE) < 2:
        return "the polygon has no area (all points on one line)"
    crossings = self_intersections(p)
    if crossings:
        i, j = crossings[0]
        m = len(p)
        return (
            f"the polygon crosses itself: edge {i}-{(i + 1) % m} meets edge {j}-{(j + 1) % m} "
            "(points in the wrong order?)"
        )
    if polygon_area(p) <= EDGE_TOLERANCE:
        return "the polygon has no area"
    return None
