"""CameraAnalytics: what a camera process does with each detection result.

track -> zones/rules -> alert events -> (snapshot, clip request, durable write). It runs on
the detector link's thread, one result at a time, and hands everything slow to other threads:
snapshots and database writes to the `AlertRecorder`, clips to the `ClipRecorder`. The state
the live view draws is published as one immutable `OverlayState`, swapped after each result,
and the track table can be read from any thread (`tracks()`) without waiting for a match.
"""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path
from typing import Any

from atalaia.config.cameras import CameraConfig
from atalaia.config.media import MediaConfig
from atalaia.detect import Detections, DetectorConfigError, PpePrompts, load_prompts
from atalaia.events.types import AlertEvent
from atalaia.frames import FrameRef, FrameRing
from atalaia.media.clip_recorder import ClipRecorder
from atalaia.media.overlay import OverlayState
from atalaia.media.paths import MediaPaths
from atalaia.pipeline.alert_recorder import AlertRecorder, SnapshotJob
from atalaia.rules import FrameSize, RuleEngine
from atalaia.rules.zones import WHOLE_FRAME
from atalaia.track import ByteTracker, Track

log = logging.getLogger(__name__)

STATS_TRACKS = 50  # tracks listed in each heartbeat (a few KB)


class CameraAnalytics:
    def __init__(
        self,
        camera: CameraConfig,
        ring: FrameRing,
        *,
        data_dir: Path,
        media: MediaConfig,
        prompts_path: str | None = None,
        recorder: AlertRecorder | None = None,
        clips: ClipRecorder | None = None,
        model_label: str = "the detector's model",
    ) -> None:
        self.camera = camera
        self.ring = ring
        self.media = media
        self.paths = MediaPaths(data_dir, camera.id)
        self.recorder = recorder
        self.clips = clips
        self.model_label = model_label
        self.tracker = ByteTracker(camera.track)
        self.engine: RuleEngine | None = None
        self._engine_key: tuple[FrameSize, tuple[str, ...]] | None = None
        self._overlay = OverlayState()
        self.events = Counter[str]()
        self._setup_problems: list[str] = []
        self.prompts: PpePrompts | None = None
        if prompts_path and any(r.type == "ppe_missing" for r in camera.rules):
            try:
                self.prompts = load_prompts(prompts_path)
            except DetectorConfigError as exc:
                message = f"camera {camera.id}: {exc}"
                self._setup_problems.append(message)
                log.error("%s", message)

    @property
    def problems(self) -> list[str]:
        """Configuration problems found at start (zones outside the frame, PPE equipment the
        model lacks, an unreadable prompts file): each names what it is about."""
        engine = self.engine
        return self._setup_problems + (list(engine.problems) if engine else [])

    # ---- readers (any thread) --------------------------------------------------------------

    def tracks(self) -> list[Track]:
        return self.tracker.tracks()

    def overlay(self) -> OverlayState:
        return self._overlay

    def stats(self) -> dict[str, Any]:
        """For the heartbeat: the main process and the API read the camera's state here,
        including the track table (the first `STATS_TRACKS` tracks by id)."""
        engine = self.engine
        tracks = self.tracker.tracks()
        return {
            "tracks": len(tracks),
            "track_table": [t.to_dict() for t in tracks[:STATS_TRACKS]],
            "alerts_active": len(self._overlay.alerts),
            "alert_events": dict(self.events),
            "rules": len(engine.rules) if engine else 0,
            "problems": self.problems,
            "recorder": self.recorder.stats() if self.recorder else None,
            "clips": self.clips.stats() if self.clips else None,
        }

    # ---- the detection thread ----------------------------------------------------------------

    def on_detections(self, ref: FrameRef, detections: Detections) -> list[AlertEvent]:
        """Track, apply the rules, record the alerts; returns the events for tests and logs."""
        engine = self._engine_for(ref, detections.class_names)
        update = self.tracker.update(detections, ref.ts)
        events = engine.step(update, detections) if engine is not None else []
        for event in events:
            self._record(event, ref)
        self._overlay = OverlayState(
            tracks=update.tracks,
            zones=tuple(z for k, z in engine.zones.items() if k != WHOLE_FRAME) if engine else (),
            alerts=tuple(engine.active_alerts()) if engine else (),
            problems=tuple(self.problems),
        )
        return events

    def close(self, ts: float) -> None:
        """End the active alerts (the camera stops): their end events are recorded too."""
        if self.engine is not None:
            for event in self.engine.finish(ts):
                self._record(event, None)

    def _engine_for(self, ref: FrameRef, class_names: tuple[str, ...]) -> RuleEngine | None:
        view = self.ring.view(ref)
        if view is None:
            latest = self.ring.latest()
            view = self.ring.view(latest) if latest is not None else None
        if view is None:
            return self.engine
        key = (FrameSize(int(view.shape[1]), int(view.shape[0])), tuple(class_names))
        if key == self._engine_key:
            return self.engine
        if self.engine is not None:
            log.info("frame size or model classes changed; rules restart")
            self.close(ref.ts)
        self._engine_key = key
        self.engine = RuleEngine(
            self.camera,
            class_names,
            key[0],
            prompts=self.prompts,
            model_label=self.model_label,
            media_paths=self._media_paths,
        )
        for problem in self.engine.problems:
            log.error("%s", problem)
        return self.engine

    def _media_paths(self, camera: str, alert_id: str, ts: float) -> tuple[str | None, str | None]:
        snapshot = str(self.paths.snapshot(alert_id, ts)) if self.media.snapshots else None
        clip = str(self.paths.clip(alert_id, ts)) if self.clips is not None else None
        return snapshot, clip

    def _record(self, event: AlertEvent, ref: FrameRef | None) -> None:
        self.events[event.type] += 1
        state = event.after
        log.info(
            "alert %s %s: rule %s, %s #%s, score %.2f",
            event.type,
            state.id,
            state.rule,
            state.label,
            state.track_id,
            state.score,
        )
        snapshot = None
        better = event.before is not None and state.top_score > event.before.top_score
        if state.snapshot_path and ref is not None and (event.type == "new" or better):
            frame = self.ring.read(ref)
            if frame is None:  # overwritten meanwhile: the newest frame is the closest one
                latest = self.ring.latest()
                frame = self.ring.read(latest) if latest is not None else None
            if frame is not None:
                caption = f"{state.rule}: {state.label} {state.top_score:.2f}"
                snapshot = SnapshotJob(frame, state.box, caption, Path(state.snapshot_path))
        if event.type == "new" and self.clips is not None and state.clip_path:
            self.clips.request(state.id, state.start_time, Path(state.clip_path))
        if self.recorder is not None:
            self.recorder.submit(event, snapshot)
