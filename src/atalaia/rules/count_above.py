"""CountAbove: more than `count` objects of the watched classes are in the zone at once.

One alert per rule at a time (its key is the zone, not a track). Its box covers every counted
object, its score is the best of theirs, and `extra` carries the count and the track ids; an
update is sent when the count changes (at the lifecycle's bounded rate).
"""

from __future__ import annotations

from collections import Counter
from typing import Literal

from pydantic import Field

from atalaia.config.cameras import RuleBase
from atalaia.rules.base import Key, Observation, Rule, RuleFrame, register_rule_type


class CountAboveRule(RuleBase):
    """More than `count` objects of the watched classes are in the zone at once."""

    type: Literal["count_above"]
    count: int = Field(ge=0)


@register_rule_type(CountAboveRule)
class CountAbove(Rule[CountAboveRule]):
    def evaluate(self, frame: RuleFrame) -> dict[Key, Observation]:
        occupancy = frame.occupancy[self.zone_key]
        counted = [
            t
            for t in frame.tracks
            if self.watches(t)
            and occupancy.is_inside(t.track_id)
            and t.top_score >= self.config.min_score
        ]
        if len(counted) <= self.config.count:
            return {}
        x1 = min(t.box[0] for t in counted)
        y1 = min(t.box[1] for t in counted)
        x2 = max(t.box[2] for t in counted)
        y2 = max(t.box[3] for t in counted)
        label = Counter(t.label for t in counted).most_common(1)[0][0]
        return {
            None: Observation(
                label=label,
                score=max(t.score for t in counted),
                box=(x1, y1, x2, y2),
                track_id=None,
                extra={"count": len(counted), "track_ids": sorted(t.track_id for t in counted)},
            )
        }
