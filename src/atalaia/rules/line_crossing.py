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

import numpy as np

from atalaia.config.cameras import LineCrossingRule, RuleBase
from atalaia.geometry import anchor_points, crossed_segment, side_of_line
from atalaia.rules.base import Key, Observation, Rule, RuleFrame, observe

Point = tuple[float, float]


@dataclass(slots=True)
class _Side:
    side: int
    point: Point


class LineCrossing(Rule):
    def __init__(
        self, name: str, config: RuleBase, zone_key: str, line: tuple[Point, Point]
    ) -> None:
        super().__init__(name, config, zone_key)
        assert isinstance(config, LineCrossingRule)
        self.rule = config
        self.line = line
        self._last: dict[int, _Side] = {}
        self._crossed: dict[int, str] = {}  # track id -> direction of its crossing

    def evaluate(self, frame: RuleFrame) -> dict[Key, Observation]:
        for track_id in frame.update.removed:
            self._last.pop(track_id, None)
            self._crossed.pop(track_id, None)
        seen = [t for t in frame.update.active() if self.watches(t)]
        if seen:
            boxes = np.array([t.box for t in seen], dtype=np.float64)
            points = anchor_points(boxes, self.rule.anchor)
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
            direction = "in" if side > 0 else "out"
            held = self._crossed.get(track.track_id)
            if held is not None and held != direction:
                del self._crossed[track.track_id]  # crossed back: the alert ends
            elif (
                held is None
                and self.rule.direction in (direction, "any")
                and track.score >= self.rule.min_score
                and (self.rule.zone is None or occupancy.is_inside(track.track_id))
            ):
                self._crossed[track.track_id] = direction
        by_id = {t.track_id: t for t in frame.tracks}
        return {
            tid: observe(by_id[tid], direction=direction)
            for tid, direction in self._crossed.items()
            if tid in by_id
        }
