"""What a rule sees each frame and what it answers.

A rule is a condition per object (or per zone, for counts): each frame it returns the keys for
which the condition holds now, with the evidence (label, score, box). It keeps whatever memory
its condition needs (streaks, crossings) but knows nothing of alerts: `AlertLifecycle` turns
"holds / no longer holds" into new, update and end events, cooldowns and ids, the same way for
every rule.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from atalaia.config.cameras import RuleBase
from atalaia.detect import Detections
from atalaia.detect.labels import normalize_class_name
from atalaia.rules.occupancy import ZoneOccupancy
from atalaia.track import Track, TrackUpdate

Box = tuple[float, float, float, float]
# A rule's key: the track it is about, or None for a rule about the whole zone (counts).
Key = int | None


@dataclass(frozen=True, slots=True)
class Observation:
    """Evidence that a rule's condition holds. `box` is x1, y1, x2, y2 in frame pixels."""

    label: str
    score: float
    box: Box
    track_id: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RuleFrame:
    """One detection frame, as rules see it."""

    ts: float
    update: TrackUpdate
    detections: Detections
    occupancy: Mapping[str, ZoneOccupancy]

    @property
    def tracks(self) -> tuple[Track, ...]:
        return self.update.tracks


class Rule(ABC):
    """A configured rule bound to its zone (the whole frame when it names none)."""

    def __init__(self, name: str, config: RuleBase, zone_key: str) -> None:
        self.name = name
        self.config = config
        self.zone_key = zone_key
        self._labels = {normalize_class_name(label) for label in config.labels}
        self._watched: dict[str, bool] = {}  # label -> watched, so names are normalised once

    @property
    def type(self) -> str:
        return str(getattr(self.config, "type", "rule"))

    @property
    def zone(self) -> str | None:
        return self.config.zone

    @property
    def cooldown(self) -> float:
        return self.config.cooldown

    def watches(self, track: Track) -> bool:
        """Whether the rule looks at this track's class at all."""
        known = self._watched.get(track.label)
        if known is None:
            known = self._watched[track.label] = normalize_class_name(track.label) in self._labels
        return known

    @abstractmethod
    def evaluate(self, frame: RuleFrame) -> dict[Key, Observation]:
        """The keys whose condition holds in this frame."""


def observe(track: Track, **extra: Any) -> Observation:
    """The evidence a track gives: its label, current score and box."""
    return Observation(track.label, track.score, track.box, track.track_id, dict(extra))
