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
from collections.abc import Sequence
from pathlib import Path

from atalaia.config.cameras import CameraConfig
from atalaia.config.media import MediaConfig
from atalaia.detect import Detections, DetectorConfigError, PpePrompts, load_prompts
from atalaia.detect.filters import ShownClasses
from atalaia.detect.labels import normalize_class_name
from atalaia.events.types import AlertEvent
from atalaia.frames import FrameRef, FrameRing
from atalaia.media.clip_recorder import ClipRecorder
from atalaia.media.overlay import OverlayState
from atalaia.media.paths import MediaPaths
from atalaia.pipeline.alert_recorder import AlertRecorder, SnapshotJob
from atalaia.pipeline.snapshots import AnalyticsSnapshot
from atalaia.rules import FrameSize, RuleEngine
from atalaia.rules.zones import WHOLE_FRAME
from atalaia.track import ByteTracker, Track

log = logging.getLogger(__name__)

STATS_TRACKS = 50  # tracks listed in each heartbeat (a few KB)


def held_rules(
    engine: RuleEngine, detections: Detections, missing: frozenset[str]
) -> frozenset[str]:
    """The rules that cannot be judged on a frame some models did not answer.

    A rule needs the models that have a class among its labels; a PPE rule needs every model
    of the camera (persons from one, equipment from another: "no helmet box" from a model
    that did not look is not "no helmet"). A rule whose labels no known class matches (its
    model never connected yet) waits too.
    """
    class_models = detections.class_models or ()
    held: set[str] = set()
    for rule in engine.rules:
        if rule.type == "ppe_missing":
            held.add(rule.name)
            continue
        labels = {normalize_class_name(label) for label in rule.config.labels}
        models = {
            model
            for name, model in zip(detections.class_names, class_models, strict=False)
            if normalize_class_name(name) in labels
        }
        if not models or models & missing:
            held.add(rule.name)
    return frozenset(held)


class CameraAnalytics:
    def __init__(
        self,
        camera: CameraConfig,
        ring: FrameRing,
        *,
        data_dir: Path,
        media: MediaConfig,
        prompts_path: Path | str | None = None,
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
        self._engine_key: tuple[FrameSize, tuple[str, ...], tuple[str, ...] | None] | None = None
        self._waiting_for: tuple[str, ...] = ()
        # `detect.classes` narrows what is shown and reported, never what the rules see.
        self.shown = ShownClasses(camera.detect.classes, f"camera {camera.id}")
        self._class_names: tuple[str, ...] = ()
        self._overlay = OverlayState()
        self.events = Counter[str]()
        self.held_frames = 0  # frames on which some rule waited for a missing model
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

    def stats(self) -> AnalyticsSnapshot:
        """For the heartbeat: the main process and the API read the camera's state here,
        including the track table (the first `STATS_TRACKS` tracks by id)."""
        engine = self.engine
        tracks = self._shown_tracks(self.tracker.tracks())
        return AnalyticsSnapshot(
            tracks=len(tracks),
            track_table=tracks[:STATS_TRACKS],
            alerts_active=len(self._overlay.alerts),
            alert_events=dict(self.events),
            held_frames=self.held_frames,
            rules=len(engine.rules) if engine else 0,
            problems=tuple(self.problems),
            recorder=self.recorder.snapshot() if self.recorder else None,
            clips=self.clips.stats() if self.clips else None,
        )

    # ---- the detection thread ----------------------------------------------------------------

    def on_detections(
        self, ref: FrameRef, detections: Detections, *, missing: frozenset[str] = frozenset()
    ) -> list[AlertEvent]:
        """Track, apply the rules, record the alerts; returns the events for tests and logs.

        `missing` names the camera's models that did not answer this frame: tracking goes on
        with what the others saw, and the rules that need a missing model hold (see
        `held_rules`).
        """
        engine = self._engine_for(ref, detections.class_names, detections.class_models)
        self._class_names = detections.class_names
        update = self.tracker.update(detections, ref.ts)
        events: list[AlertEvent] = []
        if engine is not None:
            held = held_rules(engine, detections, missing) if missing else frozenset()
            if held:
                self.held_frames += 1
            events = engine.step(update, detections, held)
        for event in events:
            self._record(event, ref)
        self._overlay = OverlayState(
            tracks=self._shown_tracks(update.tracks),
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

    def _shown_tracks(self, tracks: Sequence[Track]) -> tuple[Track, ...]:
        if self.shown.names is None:
            return tuple(tracks)
        names = self._class_names
        return tuple(t for t in tracks if self.shown.shows(t.class_id, names))

    def _engine_for(
        self,
        ref: FrameRef,
        class_names: tuple[str, ...],
        class_models: tuple[str, ...] | None = None,
    ) -> RuleEngine | None:
        view = self.ring.view(ref)
        if view is None:
            latest = self.ring.latest()
            view = self.ring.view(latest) if latest is not None else None
        if view is None:
            return self.engine
        waiting = self._models_without_classes(class_models)
        if waiting:
            # A model that has not answered yet has no class table in the merge: rules built
            # now would call its equipment unknown and switch themselves off with an error,
            # only to restart once it answers. Until every model has spoken, the frames are
            # tracked (the other models' boxes) and no rule runs.
            if waiting != self._waiting_for:
                log.info("rules wait for the class table of model(s) %s", ", ".join(waiting))
                self._waiting_for = waiting
            return self.engine
        self._waiting_for = ()
        key = (FrameSize(int(view.shape[1]), int(view.shape[0])), tuple(class_names), class_models)
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
            class_models=class_models,
        )
        for problem in self.engine.problems:
            log.error("%s", problem)
        return self.engine

    def _models_without_classes(self, class_models: tuple[str, ...] | None) -> tuple[str, ...]:
        """The camera's models missing from a merged class table (never answered yet)."""
        names = self.camera.detect.detector_names
        if class_models is None or len(names) < 2:
            return ()
        present = set(class_models)
        return tuple(n for n in names if n not in present)

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
