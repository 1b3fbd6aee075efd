"""Loitering: an object has stayed in the zone longer than `seconds`.

Dwell time runs from the first detection inside (see `ZoneOccupancy`), in capture time, so a
detector that falls behind does not shorten or lengthen it. Leaving the zone, even briefly
enough to pass the zone's inertia, starts the count again.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from atalaia.config.cameras import RuleBase
from atalaia.rules.base import Key, Observation, Rule, RuleFrame, observe, register_rule_type


class LoiteringRule(RuleBase):
    """An object stays in the zone longer than `seconds`."""

    type: Literal["loitering"]
    seconds: float = Field(gt=0, le=86400)


@register_rule_type(LoiteringRule)
class Loitering(Rule[LoiteringRule]):
    def evaluate(self, frame: RuleFrame) -> dict[Key, Observation]:
        inside = frame.occupancy[self.zone_key].inside()
        out: dict[Key, Observation] = {}
        for track in frame.tracks:
            entered = inside.get(track.track_id)
            if entered is None or not self.watches(track):
                continue
            dwell = frame.ts - entered
            if dwell >= self.config.seconds and track.top_score >= self.config.min_score:
                # The entry time, not the dwell: it does not change, so it causes no updates.
                out[track.track_id] = observe(track, entered_at=entered)
        return out
