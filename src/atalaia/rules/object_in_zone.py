"""ObjectInZone: an object of a watched class is in the zone.

It starts once the object is inside (after the zone's inertia) with a detection scoring at
least `min_score`, and holds until the object leaves or the tracker loses it for good; a dip in
score while it stands there does not end it.
"""

from __future__ import annotations

from typing import Literal

from atalaia.config.cameras import RuleBase
from atalaia.rules.base import Key, Observation, Rule, RuleFrame, observe, register_rule_type


class ObjectInZoneRule(RuleBase):
    """An object of a watched class is in the zone (from entering to leaving)."""

    type: Literal["object_in_zone"]


@register_rule_type(ObjectInZoneRule)
class ObjectInZone(Rule[ObjectInZoneRule]):
    def __init__(self, name: str, config: ObjectInZoneRule, zone_key: str) -> None:
        super().__init__(name, config, zone_key)
        self._holding: set[int] = set()

    def evaluate(self, frame: RuleFrame) -> dict[Key, Observation]:
        occupancy = frame.occupancy[self.zone_key]
        out: dict[Key, Observation] = {}
        for track in frame.tracks:
            if not self.watches(track) or not occupancy.is_inside(track.track_id):
                continue
            if track.track_id in self._holding or track.score >= self.config.min_score:
                out[track.track_id] = observe(track)
        self._holding = {k for k in out if k is not None}
        return out
