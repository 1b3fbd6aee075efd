"""Plane geometry on numpy arrays: polygons, box anchors, lines.

Pure functions, vectorised over points, so zones and line rules cost a few array operations
per frame whatever the number of tracks.
"""

from atalaia.geometry.anchors import Anchor, anchor_points
from atalaia.geometry.lines import crossed_segment, side_of_line
from atalaia.geometry.polygons import (
    points_in_polygon,
    polygon_area,
    polygon_problem,
    self_intersections,
)

__all__ = [
    "Anchor",
    "anchor_points",
    "crossed_segment",
    "points_in_polygon",
    "polygon_area",
    "polygon_problem",
    "self_intersections",
    "side_of_line",
]
