"""What a rule sees each frame and what it answers.

A rule is a condition per object (or per zone, for counts): each frame it returns the keys for
which the condition holds now, with the evidence (label, score, box). It keeps whatever memory
its condition needs (streaks, crossings) but knows nothing of alerts: `AlertLifecycle` turns
"holds / no longer holds" into new, update and end events, cooldowns and ids, the same way for
every rule.

A rule type is one module: its config model (a `RuleBase` with `type: Literal[...]`) and its
`Rule` subclass, registered together with `@register_rule_type(Model)`; the engine builds each
configured rule with `build()` of the class its type names (`RULE_PLUGINS`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, Self, TypeVar

from atalaia.config.cameras import RULE_PLUGINS, RuleBase
from atalaia.detect import Detections, PpePrompts
from atalaia.detect.labels import normalize_class_name
from atalaia.rules.occupancy import ZoneOccupancy
from atalaia.track import Track, TrackUpdate

Box = tuple[float, float, float, float]
# A rule's key: the track it is about, or None for a rule about the whole zone (counts).
Key = int | None
ConfigT = TypeVar("ConfigT", bound=RuleBase)
RuleClassT = TypeVar("RuleClassT", bound="type[Rule[Any]]")


@dataclass(frozen=True, slots=True)
class FrameSize:
    width: int
    height: int


@dataclass(frozen=True, slots=True)
class RuleContext:
    """What only the camera's first detection result tells, which some rules need to be built:
    the frame size (a relative line becomes pixels) and the models' classes (a PPE rule checks
    that its equipment can be seen). `class_models` names each class's model when several
    models' detections are merged."""

    size: FrameSize
    class_names: tuple[str, ...]
    prompts: PpePrompts | None = None
    model_label: str = "the model"
    class_models: tuple[str, ...] | None = None


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


class Rule(ABC, Generic[ConfigT]):
    """A configured rule bound to its zone (the whole frame when it names none)."""

    def __init__(self, name: str, config: ConfigT, zone_key: str) -> None:
        self.name = name
        self.config = config
        self.zone_key = zone_key
        self._labels = {normalize_class_name(label) for label in config.labels}
        self._watched: dict[str, bool] = {}  # label -> watched, so names are normalised once

    @classmethod
    def build(cls, name: str, config: ConfigT, zone_key: str, context: RuleContext) -> Self:
        """The rule for one camera; a rule that needs its context overrides this. Raises
        `RuleConfigError` when the rule cannot run on this camera."""
        return cls(name, config, zone_key)

    @property
    def type(self) -> str:
        return self.config.type

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


def register_rule_type(config: type[RuleBase]) -> Callable[[RuleClassT], RuleClassT]:
    """Class decorator: make `type: <config's type>` in a camera's `rules:` validate with
    `config` and run as the decorated `Rule` subclass."""

    def register(rule: RuleClassT) -> RuleClassT:
        RULE_PLUGINS.register(config, rule)
        return rule

    return register
