"""A track as everyone outside the tracker sees it: an immutable snapshot.

The tracker replaces a `Track` on every update instead of changing it, so a reader holding one
(the API, the drawing thread, a rule) always sees a consistent object and never needs a lock.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

TrackStatus = Literal["tracked", "lost"]
Box = tuple[float, float, float, float]


@dataclass(frozen=True, slots=True)
class Track:
    """One confirmed object. `box` is x1, y1, x2, y2 in frame pixels: the matched detection's
    box when `status` is tracked, the prediction when lost. `velocity` is the filtered motion
    of the box centre and size, in pixels per second. Times are the frames' capture times."""

    track_id: int
    class_id: int
    label: str
    box: Box
    velocity: tuple[float, float, float, float]
    score: float
    top_score: float
    status: TrackStatus
    first_seen: float
    last_seen: float
    updated_at: float
    hits: int

    @property
    def lost(self) -> bool:
        return self.status == "lost"

    def box_at(self, ts: float) -> Box:
        """Where the box is expected at `ts` (a capture time between detections), moving on at
        the filtered velocity: drawing at capture rate needs no tracker update."""
        dt = ts - self.updated_at
        vx, vy, vw, vh = self.velocity
        x1, y1, x2, y2 = self.box
        cx, cy = (x1 + x2) / 2 + vx * dt, (y1 + y2) / 2 + vy * dt
        w, h = max(0.0, x2 - x1 + vw * dt), max(0.0, y2 - y1 + vh * dt)
        return (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)

    def to_dict(self) -> dict[str, object]:
        """JSON-ready, for the API."""
        return {
            "track_id": self.track_id,
            "label": self.label,
            "box": list(self.box),
            "velocity": list(self.velocity),
            "score": self.score,
            "top_score": self.top_score,
            "status": self.status,
            "first_seen": self.first_seen,
            "last_seen": self.last_seen,
            "hits": self.hits,
        }
