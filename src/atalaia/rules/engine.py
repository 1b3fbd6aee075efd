"""RuleEngine: one camera's zones and rules, run on each tracker update.

It is built when the camera's first detection result arrives, because two checks need what
only then is known: the frame size (relative zones become pixels; a pixel zone outside the
frame is an error naming the zone) and the detectors' classes (a PPE rule whose equipment no
model of the camera can see is an error saying so). With several detectors the class table is
the merged one (`merge_detections`) and `class_models` names the model of each class. Such a
problem disables the rules it concerns and is kept in `problems` for the camera's status and
log; the other rules run.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from atalaia.config.cameras import (
    CameraConfig,
    CountAboveRule,
    LineCrossingRule,
    LoiteringRule,
    ObjectInZoneRule,
    PpeMissingRule,
    RuleBase,
)
from atalaia.detect import (
    Detections,
    DetectorConfigError,
    PpePrompts,
    check_ppe_classes,
)
from atalaia.detect.ppe import parse_prompts
from atalaia.events.types import AlertEvent, AlertState
from atalaia.rules.base import Rule, RuleFrame
from atalaia.rules.count_above import CountAbove
from atalaia.rules.errors import RuleConfigError
from atalaia.rules.lifecycle import AlertLifecycle, MediaPaths
from atalaia.rules.line_crossing import LineCrossing
from atalaia.rules.loitering import Loitering
from atalaia.rules.object_in_zone import ObjectInZone
from atalaia.rules.occupancy import ZoneOccupancy
from atalaia.rules.ppe_missing import PpeMissing
from atalaia.rules.zones import WHOLE_FRAME, Zone, ZoneError, resolve_zone, whole_frame
from atalaia.track import TrackUpdate

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class FrameSize:
    width: int
    height: int


def default_prompts(required: list[str]) -> PpePrompts:
    """Without a prompts file, equipment names are the model's class names themselves."""
    return parse_prompts({"equipment": {name: [name] for name in required}}, "(no prompts file)")


class RuleEngine:
    def __init__(
        self,
        camera: CameraConfig,
        class_names: tuple[str, ...] | list[str],
        size: FrameSize,
        *,
        prompts: PpePrompts | None = None,
        model_label: str = "the model",
        media_paths: MediaPaths | None = None,
        class_models: Sequence[str] | None = None,
    ) -> None:
        self.camera = camera
        # The model of each class when several models' detections are merged: a PPE rule
        # takes its persons from one model and its equipment from any.
        self.class_models = tuple(class_models) if class_models is not None else None
        self.size = size
        self.problems: list[str] = []
        self.zones: dict[str, Zone] = {WHOLE_FRAME: whole_frame(size.width, size.height)}
        for zone_config in camera.zones:
            try:
                self.zones[zone_config.name] = resolve_zone(zone_config, size.width, size.height)
            except ZoneError as exc:
                self.problems.append(f"camera {camera.id}: {exc}")
        self.rules: list[Rule] = []
        for name, config in zip(camera.rule_names(), camera.rules, strict=True):
            if not config.enabled:
                continue
            zone_key = config.zone or WHOLE_FRAME
            if zone_key not in self.zones:
                self.problems.append(
                    f"camera {camera.id}: rule {name!r} is off: its zone {config.zone!r} "
                    "cannot be used (see above)"
                )
                continue
            try:
                self.rules.append(
                    self._build(name, config, zone_key, tuple(class_names), prompts, model_label)
                )
            except RuleConfigError as exc:
                self.problems.append(f"camera {camera.id}: rule {name!r} is off: {exc}")
        used = {r.zone_key for r in self.rules}
        self.occupancy = {key: ZoneOccupancy(self.zones[key]) for key in used}
        self.lifecycle = AlertLifecycle(
            camera.id,
            media_paths=media_paths,
            min_score_gain=camera.alert_updates.min_score_gain,
            min_update_interval=camera.alert_updates.min_interval,
        )

    def _build(
        self,
        name: str,
        config: RuleBase,
        zone_key: str,
        class_names: tuple[str, ...],
        prompts: PpePrompts | None,
        model_label: str,
    ) -> Rule:
        if isinstance(config, ObjectInZoneRule):
            return ObjectInZone(name, config, zone_key)
        if isinstance(config, LoiteringRule):
            return Loitering(name, config, zone_key)
        if isinstance(config, CountAboveRule):
            return CountAbove(name, config, zone_key)
        if isinstance(config, LineCrossingRule):
            (x1, y1), (x2, y2) = config.line
            if config.is_relative:
                w, h = self.size.width, self.size.height
                x1, y1, x2, y2 = x1 * w, y1 * h, x2 * w, y2 * h
            return LineCrossing(name, config, zone_key, ((x1, y1), (x2, y2)))
        if isinstance(config, PpeMissingRule):
            try:
                classes = check_ppe_classes(
                    prompts or default_prompts(config.required),
                    class_names,
                    required=config.required,
                    model_label=model_label,
                    class_models=self.class_models,
                    persons_from=config.persons_from,
                )
            except DetectorConfigError as exc:
                raise RuleConfigError(str(exc)) from None
            return PpeMissing(name, config, zone_key, classes)
        raise RuleConfigError(f"unknown rule type {type(config).__name__}")

    def step(
        self, update: TrackUpdate, detections: Detections, held: frozenset[str] = frozenset()
    ) -> list[AlertEvent]:
        """Run every rule on one tracker update; the alert events it causes, in order.

        Rules named in `held` are not evaluated this frame (a model they need did not
        answer it): their alerts neither start nor end on evidence that was never looked at.
        """
        observed = update.active()
        for occupancy in self.occupancy.values():
            occupancy.update(observed, update.removed, update.ts)
        frame = RuleFrame(update.ts, update, detections, self.occupancy)
        events: list[AlertEvent] = []
        for rule in self.rules:
            if rule.name not in held:
                events += self.lifecycle.step(rule, rule.evaluate(frame), update.ts)
        return events

    def finish(self, ts: float) -> list[AlertEvent]:
        """End every active alert (the camera stops, or its frame size changed)."""
        return self.lifecycle.finish(ts)

    def active_alerts(self) -> list[AlertState]:
        return self.lifecycle.active()
