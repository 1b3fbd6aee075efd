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
from typing import Any

from atalaia.config.cameras import RULE_PLUGINS, CameraConfig, RuleBase
from atalaia.detect import Detections, PpePrompts
from atalaia.events.types import AlertEvent, AlertState
from atalaia.rules.base import FrameSize, Rule, RuleContext, RuleFrame
from atalaia.rules.errors import RuleConfigError
from atalaia.rules.lifecycle import AlertLifecycle, MediaPaths
from atalaia.rules.occupancy import ZoneOccupancy
from atalaia.rules.ppe_missing import default_prompts
from atalaia.rules.zones import WHOLE_FRAME, Zone, ZoneError, resolve_zone, whole_frame
from atalaia.track import TrackUpdate

log = logging.getLogger(__name__)

__all__ = ["FrameSize", "RuleEngine", "default_prompts"]


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
        self.rules: list[Rule[Any]] = []
        context = RuleContext(
            size,
            tuple(class_names),
            prompts=prompts,
            model_label=model_label,
            class_models=self.class_models,
        )
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
                self.rules.append(_build(name, config, zone_key, context))
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


def _build(name: str, config: RuleBase, zone_key: str, context: RuleContext) -> Rule[Any]:
    """The rule of the type `config` was validated as (`RULE_PLUGINS`)."""
    return RULE_PLUGINS.implementation(config.type).build(name, config, zone_key, context)
