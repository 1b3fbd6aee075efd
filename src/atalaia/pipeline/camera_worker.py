"""The camera process: capture into the ring, ask for detection when due, take the results.

The loop only ever waits on the camera itself (bounded by the reader's timeouts): detection
requests are sent without waiting, results arrive on the detector link's thread, and the
heartbeat reports the loop's progress, counters and capture-to-result latency.

Results go to `CameraAnalytics` (tracking, rules, alerts) on the link's thread; alert events
are written by the `AlertRecorder` thread, which then tells the supervisor
(`("alert", event_id, camera_id)`); the `MediaSampler` thread keeps the clip history and
`live.jpg` from the ring. None of them ever holds up capture.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from atalaia.capture import CameraReader
from atalaia.config.cameras import CameraConfig
from atalaia.config.detectors import DetectionFilterConfig
from atalaia.config.media import MediaConfig
from atalaia.detect import DetectionFilter, Detections, DetectorConfigError
from atalaia.events.types import AlertEvent
from atalaia.frames import FrameRef, FrameRing
from atalaia.media.clip_recorder import ClipRecorder
from atalaia.media.live import LiveFrameWriter
from atalaia.media.overlay import OverlayState
from atalaia.media.paths import MediaPaths
from atalaia.media.sampler import MediaSampler
from atalaia.pipeline.alert_recorder import AlertRecorder
from atalaia.pipeline.alert_spool import AlertSpool
from atalaia.pipeline.camera_analytics import CameraAnalytics
from atalaia.pipeline.detector_link import DetectorLink
from atalaia.pipeline.schedule import DetectionSchedule, MotionGate
from atalaia.pipeline.stats import LatencyHistogram, percentiles
from atalaia.supervisor.child import ChildContext, idle_collect, tune_gc

log = logging.getLogger(__name__)

# Within the supervisor's default shutdown timeout (10 s): alerts first, then clips.
RECORDER_CLOSE_S = 4.0
CLIPS_CLOSE_S = 2.0


@dataclass
class CameraCounters:
    """Where every captured frame went."""

    captured: int = 0
    sent: int = 0
    detected: int = 0
    skipped_schedule: int = 0
    skipped_motion: int = 0
    dropped_stale: int = 0
    dropped_overload: int = 0
    dropped_no_detector: int = 0
    dropped_error: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()

    def drop(self, cause: str) -> None:
        """Count a drop; called from the capture loop and the detector link's thread."""
        name = f"dropped_{cause}"
        with self._lock:
            setattr(self, name, getattr(self, name, 0) + 1)


def fit_frame(image: np.ndarray, max_bytes: int) -> np.ndarray:
    """Scale a frame down (keeping its aspect) so that it fits one ring slot."""
    if image.nbytes <= max_bytes:
        return image
    scale = math.sqrt(max_bytes / image.nbytes) * 0.999
    h, w = image.shape[:2]
    size = (max(1, int(w * scale)), max(1, int(h * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


class CameraWorker:
    def __init__(self, ctx: ChildContext) -> None:
        # One camera is one process: cameras run in parallel as processes, so OpenCV's own
        # thread pool (a thread per core, for each colour conversion and resize) would only
        # add hand-offs and contention. Measured on 8 cameras x 2 cores: +9 points of CPU
        # and +30 MB per camera with the pool.
        cv2.setNumThreads(1)
        settings = ctx.settings
        self.ctx = ctx
        self.camera = CameraConfig.model_validate(settings["camera"])
        self.ring = FrameRing.attach(settings["ring"], self.camera.id)
        self.reader = CameraReader.for_camera(
            self.camera, Path(settings["data_dir"]), default_target_fps=settings.get("target_fps")
        )
        detect = self.camera.detect
        self.schedule = DetectionSchedule(detect.fps)
        self.motion = MotionGate(detect.motion)
        self.counters = CameraCounters()
        self.latency_ms: deque[float] = deque(maxlen=1000)
        self.latency_hist = LatencyHistogram()
        self.latest: tuple[FrameRef, Detections] | None = None
        self._filter: tuple[tuple[str, ...], DetectionFilter] | None = None
        self._lock = threading.Lock()
        self.link: DetectorLink | None = None
        if detect.enabled:
            self.link = DetectorLink(
                settings["detector_address"],
                settings["authkey"],
                ("hello", self.camera.id, self.ring.name, detect.max_age_ms / 1000),
                self._on_detector,
                ctx.stop_event,
            )
        self.media = MediaConfig.model_validate(settings.get("media") or {})
        self.recorder: AlertRecorder | None = None
        self.clips: ClipRecorder | None = None
        self.analytics: CameraAnalytics | None = None
        if self.link is not None:
            self._build_analytics(settings)
        live_path = MediaPaths(Path(settings["data_dir"]), self.camera.id).live
        self.sampler = MediaSampler(
            self._latest_frame,
            self.analytics.overlay if self.analytics is not None else OverlayState,
            clips=self.clips,
            clip_fps=self.media.clip_fps,
            live=LiveFrameWriter(live_path, self.media.live_quality) if self.media.live else None,
            live_fps=self.media.live_fps,
            stopping=ctx.stop_event,
        )
        self._started = time.monotonic()
        ctx.stats_from(self.stats)

    def _build_analytics(self, settings: dict[str, Any]) -> None:
        """Tracking and rules for every detecting camera; the alert recorder and the clip
        recorder (each a thread) only where some rule can raise an alert."""
        if any(rule.enabled for rule in self.camera.rules):
            if settings.get("database_url"):
                self.recorder = AlertRecorder(
                    settings["database_url"],
                    settings.get("sinks") or ["database"],
                    self._announce,
                    snapshot_quality=self.media.snapshot_quality,
                    spool=AlertSpool.for_camera(Path(settings["data_dir"]), self.camera.id),
                )
            else:
                log.error("no database configured: alerts of %s are not kept", self.camera.id)
            if self.media.clips:
                self.clips = ClipRecorder(self.media)
        self.analytics = CameraAnalytics(
            self.camera,
            self.ring,
            data_dir=Path(settings["data_dir"]),
            media=self.media,
            prompts_path=settings.get("prompts"),
            recorder=self.recorder,
            clips=self.clips,
        )

    def stats(self) -> dict[str, Any]:
        elapsed = max(1e-6, time.monotonic() - self._started)
        counters = asdict(self.counters)
        with self._lock:
            latency = percentiles(self.latency_ms)
            hist = self.latency_hist.snapshot()
        return {
            "camera": self.camera.id,
            "counters": counters,
            "fps_captured": round(counters["captured"] / elapsed, 3),
            "fps_detected": round(counters["detected"] / elapsed, 3),
            "latency_ms": latency,
            "latency_hist": hist,
            "detector_connected": bool(self.link and self.link.connected),
            "reader": self.reader.status().as_dict(),
            "ring": self.ring.name,
            "analytics": self.analytics.stats() if self.analytics is not None else None,
        }

    def _announce(self, event: AlertEvent) -> None:
        """After the event is committed: wake the main process's outbox dispatchers."""
        self.ctx.send(("alert", event.id, self.camera.id))

    def _latest_frame(self) -> tuple[float, np.ndarray] | None:
        ref = self.ring.latest()
        if ref is None:
            return None
        image = self.ring.read(ref)
        return None if image is None else (ref.ts, image)

    def _on_detector(self, message: tuple[Any, ...]) -> None:
        if message[0] == "dropped":
            self.counters.drop(message[2])
            return
        _, seq, ts, wire, _infer_ms, _batch = message
        assert self.link is not None
        detections = self._camera_filter(Detections.from_wire(wire, self.link.class_names))
        latency = (time.time() - ts) * 1000
        with self._lock:
            self.latency_ms.append(latency)
            self.latency_hist.add(latency)
        self.counters.detected += 1
        ref = FrameRef(self.camera.id, seq % self.ring.slots, seq, ts)
        self.on_detections(ref, detections)

    def _camera_filter(self, detections: Detections) -> Detections:
        """This camera's `detect.classes` and `detect.min_score`, resolved against the model's
        class table once it is known (a name the model lacks is reported, not fatal)."""
        names = detections.class_names
        if self._filter is None or self._filter[0] != names:
            detect = self.camera.detect
            config = DetectionFilterConfig(classes=detect.classes)
            try:
                self._filter = (names, DetectionFilter.from_config(config, names))
            except DetectorConfigError as exc:
                log.error(
                    "detect.classes of camera %s: %s; keeping every class", self.camera.id, exc
                )
                self._filter = (names, DetectionFilter.from_config(DetectionFilterConfig(), names))
        kept = self._filter[1].apply(detections)
        floor = self.camera.detect.min_score
        return kept[kept.confidence >= floor] if len(kept) and floor > 0 else kept

    def on_detections(self, ref: FrameRef, detections: Detections) -> None:
        """Results go to tracking, rules and alerts (on the detector link's thread)."""
        self.latest = (ref, detections)
        if self.analytics is not None:
            self.analytics.on_detections(ref, detections)

    def run(self) -> None:
        self.reader.start()
        if self.recorder is not None:
            self.recorder.start()
        if self.clips is not None:
            self.clips.start()
        self.sampler.start()
        if self.link is not None:
            self.link.start()
        tune_gc()
        last_gc = time.monotonic()
        ctx = self.ctx
        while not ctx.stopping:
            ctx.progress()
            frame = self.reader.read(timeout=0.5)
            if frame is None:
                last_gc = idle_collect(last_gc)
                continue
            image = fit_frame(frame.image, self.ring.slot_bytes)
            ref = self.ring.write(image, frame.timestamp)
            self.counters.captured += 1
            if self.link is None:
                continue
            now = time.monotonic()
            if not self.schedule.due(now):
                self.counters.skipped_schedule += 1
            elif not self.motion.moved(image, now):
                self.counters.skipped_motion += 1
            else:
                refused = self.link.request(ref)
                if refused is None:
                    self.counters.sent += 1
                else:
                    self.counters.drop(refused)
            last_gc = idle_collect(last_gc)
        self.close()

    def close(self) -> None:
        """Stop in order: no more results, end the active alerts, write what is queued."""
        if self.link is not None:
            self.link.close()
        self.ctx.stop_event.set()
        self.sampler.join(1.0)
        if self.analytics is not None:
            self.analytics.close(time.time())
        if self.recorder is not None:
            self.recorder.close(RECORDER_CLOSE_S)
        if self.clips is not None:
            self.clips.close(CLIPS_CLOSE_S)
        self.reader.close()
        self.ring.close()


def run_camera(ctx: ChildContext) -> None:
    """Entry point of a camera process."""
    CameraWorker(ctx).run()
