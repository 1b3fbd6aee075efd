"""Zones in frame pixels: configured polygons resolved against the real frame size.

Relative zones (fractions of the frame) can only become pixels once the camera delivers its
first frame, and only then can a pixel zone be found to lie outside the picture; both happen
here, and a zone that does not fit is reported by name instead of silently never matching.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from pydantic import ValidationError

from atalaia.config.cameras import ZoneConfig
from atalaia.config.errors import ConfigError, ConfigProblem
from atalaia.config.roi import load_roi, select_polygons
from atalaia.geometry import Anchor, anchor_points, points_in_polygon

WHOLE_FRAME = "whole frame"


class ZoneError(ValueError):
    """A zone that cannot be used on this camera's frames; the message names the zone."""


@dataclass(frozen=True, slots=True, eq=False)
class Zone:
    """A polygon in pixels of the camera's frame, with its anchor and inertia."""

    name: str
    polygon: NDArray[np.float64]
    anchor: Anchor = "bottom_center"
    inertia: int = 1

    def contains(self, xyxy: NDArray[np.floating]) -> NDArray[np.bool_]:
        """For (N, 4) boxes: whether each box's anchor is inside (the border counts)."""
        return points_in_polygon(anchor_points(xyxy, self.anchor), self.polygon)

    def points(self) -> list[tuple[int, int]]:
        """Integer vertices, for drawing."""
        return [(round(x), round(y)) for x, y in self.polygon.tolist()]


def resolve_zone(config: ZoneConfig, width: int, height: int) -> Zone:
    """The zone in pixels of a `width` x `height` frame; `ZoneError` if it leaves the frame."""
    points = np.asarray(config.points, dtype=np.float64)
    if config.is_relative:
        points = points * np.array([width, height], dtype=np.float64)
    outside = [(x, y) for x, y in points.tolist() if x > width + 1e-6 or y > height + 1e-6]
    if outside:
        x, y = outside[0]
        raise ZoneError(
            f"zone {config.name!r}: point ({x:g}, {y:g}) lies outside the {width}x{height} "
            f"frame ({len(outside)} of {len(points)} points do); use pixels of this camera's "
            "frame, or relative coordinates (0..1)"
        )
    return Zone(config.name, points, config.anchor, config.inertia)


def whole_frame(width: int, height: int) -> Zone:
    """The zone of rules that name none: every object in the picture, no inertia."""
    polygon = np.array([[0, 0], [width, 0], [width, height], [0, height]], dtype=np.float64)
    return Zone(WHOLE_FRAME, polygon, "center", 1)


def zones_from_roi(path: Path, names: Sequence[str] = (), inertia: int = 3) -> list[ZoneConfig]:
    """The seed's ROI file (`--roi rois/roi_cam61.json --roi-polys roi_epi_on`) as zones.

    `names` picks polygons (all when empty); errors are `ConfigError`s naming the file and
    the polygon.
    """
    polygons = select_polygons(path, load_roi(path), list(names))
    zones: list[ZoneConfig] = []
    problems: list[ConfigProblem] = []
    for name, points in polygons.items():
        try:
            zones.append(ZoneConfig(name=name, points=points, inertia=inertia))
        except ValidationError as exc:
            for error in exc.errors(include_url=False):
                problems.append(ConfigProblem(str(path), name, error["msg"].removeprefix(
                    "Value error, ")))  # fmt: skip
    if problems:
        raise ConfigError(problems)
    return zones
