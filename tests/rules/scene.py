"""A camera's rules driven by hand-made detections at 5 detections per second."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from atalaia.config.cameras import AlertUpdateConfig, CameraConfig
from atalaia.detect import Detections, PpePrompts
from atalaia.events.types import AlertEvent
from atalaia.rules import FrameSize, RuleEngine
from atalaia.track import ByteTracker
from tests.track.support import CLASSES, Box, dets

STEP = 0.2


def camera(rules: list[dict[str, Any]], zones: list[dict[str, Any]] | None = None) -> CameraConfig:
    return CameraConfig.model_validate(
        {
            "id": "cam",
            "source": "demo://people",
            "zones": zones or [],
            "rules": rules,
            "track": {"min_hits": 1},
        }
    )


class Scene:
    """Feeds frames to a tracker and a rule engine; collects every alert event."""

    def __init__(
        self,
        rules: list[dict[str, Any]],
        zones: list[dict[str, Any]] | None = None,
        *,
        classes: Sequence[str] = CLASSES,
        prompts: PpePrompts | None = None,
        size: tuple[int, int] = (640, 480),
        min_update_interval: float = 1.0,
        min_score_gain: float = 0.05,
        class_models: Sequence[str] | None = None,
    ) -> None:
        cam = camera(rules, zones)
        cam.alert_updates = AlertUpdateConfig(
            min_interval=min_update_interval, min_score_gain=min_score_gain
        )
        self.classes = tuple(classes)
        self.tracker = ByteTracker(cam.track)
        self.engine = RuleEngine(
            cam,
            self.classes,
            FrameSize(*size),
            prompts=prompts,
            class_models=class_models,
        )
        self.ts = 1000.0
        self.events: list[AlertEvent] = []

    def frame(
        self,
        boxes: Sequence[Box] = (),
        scores: Sequence[float] | None = None,
        labels: Sequence[str] | None = None,
    ) -> list[AlertEvent]:
        self.ts += STEP
        d = dets(list(boxes), scores, labels, self.classes)
        events = self.engine.step(self.tracker.update(d, self.ts), d)
        self.events += events
        return events

    def step(self, detections: Detections) -> list[AlertEvent]:
        """One frame of detections made elsewhere (merged from several models)."""
        self.ts += STEP
        events = self.engine.step(self.tracker.update(detections, self.ts), detections)
        self.events += events
        return events

    def frames(self, n: int, boxes: Sequence[Box] = (), **kw: Any) -> list[AlertEvent]:
        out: list[AlertEvent] = []
        for _ in range(n):
            out += self.frame(boxes, **kw)
        return out

    def wait(self, seconds: float) -> list[AlertEvent]:
        """Frames with nothing detected for `seconds`."""
        return self.frames(round(seconds / STEP))

    def kinds(self) -> list[str]:
        return [e.type for e in self.events]
