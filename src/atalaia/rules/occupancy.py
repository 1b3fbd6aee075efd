"""ZoneOccupancy: which tracks are in a zone, with inertia, and since when.

A box on the border jitters in and out from one detection to the next. An object only counts
as having entered after `inertia` consecutive detections inside (and as having left after as
many outside), and its entry time is the first of those detections, so dwell times are not
shortened by the inertia.

Only frames in which a track was actually detected count: a lost track's predicted box never
walks it into or out of a zone. A track removed by the tracker has left.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from atalaia.rules.zones import Zone
from atalaia.track import Track


@dataclass(slots=True)
class _Presence:
    inside: bool = False
    streak: int = 0  # consecutive detections on the other side of `inside`
    streak_since: float = 0.0
    entered_at: float | None = None


@dataclass(frozen=True, slots=True)
class OccupancyChange:
    entered: tuple[int, ...] = ()
    left: tuple[int, ...] = ()


@dataclass
class ZoneOccupancy:
    zone: Zone
    _presence: dict[int, _Presence] = field(default_factory=dict)

    def update(
        self, observed: Sequence[Track], removed: Iterable[int], ts: float
    ) -> OccupancyChange:
        """Take one frame: `observed` are the tracks detected in it, `removed` those gone."""
        entered: list[int] = []
        left: list[int] = []
        if observed:
            boxes = np.array([t.box for t in observed], dtype=np.float64)
            inside_now = self.zone.contains(boxes).tolist()
        else:
            inside_now = []
        for track, now_in in zip(observed, inside_now, strict=True):
            p = self._presence.get(track.track_id)
            if p is None:
                p = self._presence[track.track_id] = _Presence()
            if now_in == p.inside:
                p.streak = 0
                continue
            if p.streak == 0:
                p.streak_since = ts
            p.streak += 1
            if p.streak >= self.zone.inertia:
                p.inside, p.streak = now_in, 0
                if now_in:
                    p.entered_at = p.streak_since
                    entered.append(track.track_id)
                else:
                    p.entered_at = None
                    left.append(track.track_id)
        for track_id in removed:
            p = self._presence.pop(track_id, None)
            if p is not None and p.inside:
                left.append(track_id)
        return OccupancyChange(tuple(entered), tuple(left))

    def inside(self) -> dict[int, float]:
        """Track id -> entry time, for every track in the zone now."""
        return {
            tid: p.entered_at
            for tid, p in self._presence.items()
            if p.inside and p.entered_at is not None
        }

    def is_inside(self, track_id: int) -> bool:
        p = self._presence.get(track_id)
        return p is not None and p.inside
