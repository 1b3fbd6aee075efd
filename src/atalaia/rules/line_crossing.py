"""LineCrossing: an object's anchor crosses a line segment, in a given direction.

Sides (see `atalaia.geometry.lines`): looking from the line's first point to its second, `in`
is a crossing from the left-hand side to the right-hand side as seen on screen, `out` the
reverse. The movement between two consecutive detections must pass through the segment
itself, not just the infinite line, so walking round the end of a gate is not a crossing.

The alert holds from the crossing until the object crosses back or is lost. Only detected
positions count (never a lost track's prediction), and a position exactly on the line waits
for the next one.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Literal

import numpy as np
from pydantic import Field, model_validator

from atalaia.config.cameras import Anchor, Point, RuleBase, keyed_error, uses_relative
from atalaia.geometry import anchor_points, crossed_segment, side_of_line
from atalaia.rules.base import Key, Observation, Rule, RuleFrame, observe, register_rule_type

if TYPE_CHECKING:
    from atalaia.rules.base import RuleContext


class Direction(StrEnum):
    """Which way an object crossed the line; a rule may also watch for `any`."""

    IN = "in"
    OUT = "out"
    ANY = "any"


class LineCrossingRule(RuleBase):
    """An object's anchor crosses the line segment in the given direction.

    Looking from the line's first point towards its second, `in` is crossing from the left
    to the right (as seen on screen); `out` the other way. For a horizontal line drawn left to
    right, `in` is moving down the image. The alert lasts until the object crosses back or is
    lost.
    """

    type: Literal["line_crossing"]
    line: tuple[Point, Point]
    direction: Direction = Direction.ANY
    relative: bool | None = Field(
        None, description="unset: relative when every coordinate is within 0..1"
    )
    anchor: Anchor = "bottom_center"

    @model_validator(mode="after")
    def _real_line(self) -> LineCrossingRule:
        (x1, y1), (x2, y2) = self.line
        if (x1, y1) == (x2, y2):
            raise keyed_error(("line",), "expected two different points")
        return self

    @property
    def is_relative(self) -> bool:
        return uses_relative(list(self.line), self.relative)


@dataclass(slots=True)
class _Side:
    side: int
    point: Point


@register_rule_type(LineCrossingRule)
class LineCrossing(Rule[LineCrossingRule]):
    def __init__(
        self, name: str, config: LineCrossingRule, zone_key: str, line: tuple[Point, Point]
    ) -> None:
        super().__init__(name, config, zone_key)
        self.line = line
        self._last: dict[int, _Side] = {}
        self._crossed: dict[int, Direction] = {}  # track id -> direction of its crossing

    @classmethod
    def build(
        cls, name: str, config: LineCrossingRule, zone_key: str, context: RuleContext
    ) -> LineCrossing:
        """The line in pixels: a relative one is scaled to the camera's frame."""
        (x1, y1), (x2, y2) = config.line
        if config.is_relative:
            w, h = context.size.width, context.size.height
            x1, y1, x2, y2 = x1 * w, y1 * h, x2 * w, y2 * h
        return cls(name, config, zone_key, ((x1, y1), (x2, y2)))

    def evaluate(self, frame: RuleFrame) -> dict[Key, Observation]:
        for track_id in frame.update.removed:
            self._last.pop(track_id, None)
            self._crossed.pop(track_id, None)
        seen = [t for t in frame.update.active() if self.watches(t)]
        if seen:
            boxes = np.array([t.box for t in seen], dtype=np.float64)
            points = anchor_points(boxes, self.config.anchor)
            sides = side_of_line(points, *self.line).tolist()
        else:
            points, sides = np.zeros((0, 2)), []
        a, b = self.line
        occupancy = frame.occupancy[self.zone_key]
        for track, point_row, side in zip(seen, points.tolist(), sides, strict=True):
            point = (float(point_row[0]), float(point_row[1]))
            if side == 0:
                continue
            last = self._last.get(track.track_id)
            self._last[track.track_id] = _Side(side, point)
            if last is None or last.side == side or not crossed_segment(last.point, point, a, b):
                continue
            direction = Direction.IN if side > 0 else Direction.OUT
            held = self._crossed.get(track.track_id)
            if held is not None and held != direction:
                del self._crossed[track.track_id]  # crossed back: the alert ends
            elif (
                held is None
                and self.config.direction in (direction, Direction.ANY)
                and track.score >= self.config.min_score
                and (self.config.zone is None or occupancy.is_inside(track.track_id))
            ):
                self._crossed[track.track_id] = direction
        by_id = {t.track_id: t for t in frame.tracks}
        return {
            tid: observe(by_id[tid], direction=direction.value)
            for tid, direction in self._crossed.items()
            if tid in by_id
        }
