"""The camera process: capture into the ring, ask for detection when due, take the results.

The loop only ever waits on the camera itself (bounded by the reader's timeouts), and is woken
only for the frames it will use: the reader asks `_offer` on its own thread whether a frame is
due for detection or for the media sampler, and keeps the others. Detection requests are sent
without waiting, results arrive on the detector link's thread, and the heartbeat reports the
loop's progress, counters and capture-to-result latency.

A camera may use several models (`detect.detectors`): the same frame reference goes to each
model's detector process, and `FrameJoin` merges their answers for that frame into one
`Detections` (each detection named by its model) before anything downstream sees it.

Results go to `CameraAnalytics` (tracking, rules, alerts) on a link's thread; alert events
are written by the `AlertRecorder` thread, which then tells the supervisor (`AlertCommitted`);
the `MediaSampler` thread keeps the clip history and `live.jpg` from the ring. None of them
ever holds up capture.

The process starts with a `CameraSpec`; its heartbeat carries a `CameraSnapshot`.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import Counter, deque
from enum import Enum
from pathlib import Path

import cv2
import numpy as np

from atalaia.capture import CameraReader
from atalaia.capture.frame import Frame
from atalaia.detect import Detections
from atalaia.detect.filters import ShownClasses
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
from atalaia.pipeline.camera_messages import AlertCommitted
from atalaia.pipeline.detector_link import DetectorLink
from atalaia.pipeline.detector_messages import (
    DROP_CAUSES,
    DetectorAnswer,
    DropCause,
    Dropped,
    Hello,
)
from atalaia.pipeline.frame_join import FrameJoin, JoinedFrame
from atalaia.pipeline.model_stats import ModelStats
from atalaia.pipeline.schedule import DetectionSchedule, MotionGate
from atalaia.pipeline.snapshots import CameraSnapshot, FrameCounts, LastResult
from atalaia.pipeline.specs import CameraSpec
from atalaia.pipeline.stats import LatencyHistogram, percentiles
from atalaia.supervisor.child import ChildContext, idle_collect, tune_gc

log = logging.getLogger(__name__)

# Within the supervisor's default shutdown timeout (10 s): alerts first, then clips.
RECORDER_CLOSE_S = 4.0
CLIPS_CLOSE_S = 2.0
# The media sampler ticks on its period give or take scheduling: a frame a little early is
# still the one it takes.
MEDIA_SLACK_S = 0.01
# A model's answer for a frame is waited for at most max_age plus this (it drops older
# requests itself, so a later answer is not coming unless its process froze).
GIVE_UP_GRACE_S = 1.0
# Requests a camera may have unanswered, per model. One: a frame is converted into the ring
# only when the model will run on it. With four, a saturated detector superseded most of
# what each camera sent (converted, sent and answered as dropped for nothing); measured at
# saturation, 8 cameras x 30 fps on a 2-core EPYC, alternating: 72.1 and 71.9 detections/s
# against 64.1 and 64.8 (docs/benchmarks.md). The price is freshness at saturation only: a
# frame waits for its camera's turn instead of being replaced by a newer one while it waits.
REQUESTS_IN_FLIGHT = 1


class Use(Enum):
    """What a captured frame is taken for (`CameraWorker._offer`)."""

    DETECT = "detect"  # due for detection (and usable by the media sampler too)
    MEDIA = "media"  # only for the media sampler's clip history and live frame


class CameraCounters:
    """Where every captured frame went (read as a `FrameCounts`)."""

    def __init__(self) -> None:
        self.captured = 0
        self.sent = 0
        self.detected = 0
        self.skipped_schedule = 0
        self.skipped_motion = 0
        self.partial = 0  # frames some model did not answer: analysed on what the others saw
        self.converted = 0  # frames converted to BGR into the ring; the others only decoded
        self.unconvertible = 0
        self.drops: dict[DropCause, int] = dict.fromkeys(DROP_CAUSES, 0)
        self._lock = threading.Lock()

    def drop(self, cause: DropCause) -> None:
        """Count a drop; called from the capture loop and the detector link's thread."""
        with self._lock:
            self.drops[cause] += 1

    def snapshot(self) -> FrameCounts:
        with self._lock:
            drops = dict(self.drops)
        return FrameCounts(
            captured=self.captured,
            sent=self.sent,
            detected=self.detected,
            skipped_schedule=self.skipped_schedule,
            skipped_motion=self.skipped_motion,
            partial=self.partial,
            converted=self.converted,
            unconvertible=self.unconvertible,
            dropped_stale=drops["stale"],
            dropped_overload=drops["overload"],
            dropped_no_detector=drops["no_detector"],
            dropped_error=drops["error"],
        )


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
        spec = ctx.payload
        if not isinstance(spec, CameraSpec):
            raise TypeError(f"a camera process starts with a CameraSpec, not {type(spec).__name__}")
        self.ctx = ctx
        self.camera = spec.camera
        self.ring = FrameRing.attach(spec.ring, self.camera.id)
        self.reader = CameraReader.for_camera(
            self.camera, spec.data_dir, default_target_fps=spec.target_fps, offer=self._offer
        )
        detect = self.camera.detect
        self.schedule = DetectionSchedule(detect.fps, spec.detect_phase)
        self.motion = MotionGate(detect.motion)
        self.counters = CameraCounters()
        self.latency_ms: deque[float] = deque(maxlen=1000)
        self.latency_hist = LatencyHistogram()
        self.latest: tuple[FrameRef, Detections] | None = None
        self.last_result: LastResult | None = None
        self.shown = ShownClasses(detect.classes, f"camera {self.camera.id}")
        self._lock = threading.Lock()
        self.links: dict[str, DetectorLink] = {}
        self.models: dict[str, ModelStats] = {}
        self.join: FrameJoin | None = None
        if detect.enabled:
            addresses = spec.detector_addresses
            names = [n for n in detect.detector_names if n in addresses]
            self.join = FrameJoin(
                names,
                self._on_frame,
                self._on_frame_dropped,
                give_up_s=detect.max_age_ms / 1000 + GIVE_UP_GRACE_S,
            )
            for name in names:
                self.models[name] = ModelStats(name)
                self.links[name] = self._link(name, addresses[name], spec.authkey)
        self.media = spec.media
        self.recorder: AlertRecorder | None = None
        self.clips: ClipRecorder | None = None
        self.analytics: CameraAnalytics | None = None
        if self.links:
            self._build_analytics(spec)
        self.sampler = MediaSampler(
            self._latest_frame,
            self.analytics.overlay if self.analytics is not None else OverlayState,
            clips=self.clips,
            clip_fps=self.media.clip_fps,
            live=self._live_writer(spec.data_dir),
            live_fps=self.media.live_fps,
            stopping=ctx.stop_event,
        )
        self._started = time.monotonic()
        self._last_stored = float("-inf")
        ctx.stats_from(self.stats)

    def _live_writer(self, data_dir: Path) -> LiveFrameWriter | None:
        if not self.media.live:
            return None
        paths = MediaPaths(data_dir, self.camera.id)
        watch = paths.live_watch if self.media.live_when == "watched" else None
        return LiveFrameWriter(paths.live, self.media.live_quality, watch)

    def _link(self, model: str, address: str, authkey: bytes) -> DetectorLink:
        """One model's connection; its answers go to the join under the model's name."""
        detect = self.camera.detect
        join = self.join
        assert join is not None

        def on_message(message: DetectorAnswer) -> None:
            self._on_answer(model, message)

        return DetectorLink(
            address,
            authkey,
            Hello(self.camera.id, self.ring.name, detect.max_age_ms / 1000),
            on_message,
            self.ctx.stop_event,
            max_in_flight=REQUESTS_IN_FLIGHT,
            name=model,
            on_welcome=lambda names: join.set_class_names(model, names),
            on_lost=lambda: join.model_lost(model),
        )

    @property
    def link(self) -> DetectorLink | None:
        """The first model's link (the one-model form's only one)."""
        return next(iter(self.links.values()), None)

    def _build_analytics(self, spec: CameraSpec) -> None:
        """Tracking and rules for every detecting camera; the alert recorder and the clip
        recorder (each a thread) only where some rule can raise an alert."""
        if any(rule.enabled for rule in self.camera.rules):
            if spec.database_url:
                self.recorder = AlertRecorder(
                    spec.database_url,
                    list(spec.sinks) or ["database"],
                    self._announce,
                    snapshot_quality=self.media.snapshot_quality,
                    spool=AlertSpool.for_camera(spec.data_dir, self.camera.id),
                    fence=spec.fence,
                )
            else:
                log.error("no database configured: alerts of %s are not kept", self.camera.id)
            if self.media.clips:
                self.clips = ClipRecorder(self.media)
        self.analytics = CameraAnalytics(
            self.camera,
            self.ring,
            data_dir=spec.data_dir,
            media=self.media,
            prompts_path=spec.prompts,
            recorder=self.recorder,
            clips=self.clips,
        )

    def stats(self) -> CameraSnapshot:
        elapsed = max(1e-6, time.monotonic() - self._started)
        counters = self.counters.snapshot()
        with self._lock:
            latency = percentiles(self.latency_ms)
            hist = self.latency_hist.snapshot()
        return CameraSnapshot(
            camera=self.camera.id,
            counters=counters,
            fps_captured=round(counters.captured / elapsed, 3),
            fps_detected=round(counters.detected / elapsed, 3),
            latency_ms=latency,
            latency_hist=hist,
            detector_connected=bool(self.links)
            and all(link.connected for link in self.links.values()),
            models={
                name: stats.snapshot(self.links[name].connected)
                for name, stats in self.models.items()
            },
            reader=self.reader.status(),
            ring=self.ring.name,
            analytics=self.analytics.stats() if self.analytics is not None else None,
            last_result=self.last_result,
        )

    def _announce(self, event: AlertEvent) -> None:
        """After the event is committed: wake the main process's outbox dispatchers."""
        self.ctx.send(AlertCommitted(event.id, self.camera.id))

    def _latest_frame(self) -> tuple[float, np.ndarray] | None:
        ref = self.ring.latest()
        if ref is None:
            return None
        image = self.ring.read(ref)
        return None if image is None else (ref.ts, image)

    def _on_answer(self, model: str, message: DetectorAnswer) -> None:
        """A model's answer (on its link's thread): count it, give it to the join."""
        join, stats = self.join, self.models[model]
        assert join is not None
        if isinstance(message, Dropped):
            stats.drop(message.cause)
            join.answer(model, message.seq, None, message.cause)
            return
        stats.result(message.ts)
        detections = Detections.from_wire(message.wire, self.links[model].class_names)
        join.answer(model, message.seq, detections)

    def _on_frame(self, frame: JoinedFrame) -> None:
        """Every model answered frame `seq` (or gave up on it): one merged result."""
        detections = self._camera_filter(frame.detections)
        latency = (time.time() - frame.ts) * 1000
        with self._lock:
            self.latency_ms.append(latency)
            self.latency_hist.add(latency)
        self.counters.detected += 1
        if frame.partial:
            self.counters.partial += 1
        per_model = Counter(str(m) for m in detections.models)
        self.last_result = LastResult(
            seq=frame.seq,
            ts=frame.ts,
            detections={m: per_model.get(m, 0) for m in self.models},
            missing={m: frame.causes[m] for m in sorted(frame.missing)},
        )
        ref = FrameRef(self.camera.id, frame.seq % self.ring.slots, frame.seq, frame.ts)
        self.on_detections(ref, detections, frame.missing)

    def _on_frame_dropped(self, seq: int, cause: DropCause) -> None:
        """No model answered frame `seq`: it is dropped, counted by the first model's cause."""
        self.counters.drop(cause)

    def _camera_filter(self, detections: Detections) -> Detections:
        """This camera's `detect.min_score`. Its `detect.classes` only narrows what is shown
        and stored (`self.shown`): tracking and rules see every class, so a class filter
        never starves a rule (a PPE rule keeps its helmet boxes)."""
        floor = self.camera.detect.min_score
        if floor <= 0 or len(detections) == 0:
            return detections
        return detections[detections.confidence >= floor]

    def on_detections(
        self, ref: FrameRef, detections: Detections, missing: frozenset[str] = frozenset()
    ) -> None:
        """Results go to tracking, rules and alerts (on a detector link's thread)."""
        self.latest = (ref, self.shown.apply(detections))
        if self.analytics is not None:
            self.analytics.on_detections(ref, detections, missing=missing)

    def run(self) -> None:
        self.reader.start()
        if self.recorder is not None:
            self.recorder.start()
        if self.clips is not None:
            self.clips.start()
        self.sampler.start()
        for link in self.links.values():
            link.start()
        tune_gc()
        last_gc = time.monotonic()
        ctx = self.ctx
        while not ctx.stopping:
            ctx.progress()
            frame = self.reader.read(timeout=0.5)
            if frame is not None:
                self._take(frame)
            last_gc = idle_collect(last_gc)
        self.close()

    def _offer(self) -> Use | None:
        """On the reader's thread, for every captured frame: what the frame is for, or None
        when it is used for nothing (not due for detection, refused by every model, not due
        for the media sampler): such a frame is neither converted nor handed over."""
        self.counters.captured += 1
        now = time.monotonic()
        join = self.join
        due = join is not None and self.schedule.due(now)
        if join is not None and not due:
            self.counters.skipped_schedule += 1
        elif due and not self.motion.config.enabled and self._refused_by_all():
            due = False
        use = Use.DETECT if due else Use.MEDIA if self._media_due(now) else None
        if use is not None:
            self._last_stored = now  # a frame the sampler can take: the next is due later
        return use

    def _take(self, frame: Frame) -> None:
        """A frame the reader offered for some use (`_offer`): converted into the ring, and
        sent for detection when that is what it is for."""
        ref = self._store(frame)
        join = self.join
        if ref is None or frame.purpose is not Use.DETECT or join is None:
            return
        image = self.ring.view(ref)  # this thread wrote it: still there
        if image is not None and not self.motion.moved(image, time.monotonic()):
            self.counters.skipped_motion += 1
        else:
            self._request(join, ref)

    def _media_due(self, now: float) -> bool:
        """A frame for the media sampler: at twice its rate, so that when it samples, the
        ring's newest frame is one it has not taken yet."""
        period = self.sampler.period
        return period is not None and now - self._last_stored >= period / 2 - MEDIA_SLACK_S

    def _store(self, frame: Frame) -> FrameRef | None:
        """Convert the frame into the next ring slot (scaled down first if it is too big)."""
        picture = frame.picture
        try:
            shape = (picture.height, picture.width, 3)
            if picture.height * picture.width * 3 <= self.ring.slot_bytes:
                ref = self.ring.write_from(shape, picture.bgr_into, frame.timestamp)
            else:
                ref = self.ring.write(
                    fit_frame(picture.bgr(), self.ring.slot_bytes), frame.timestamp
                )
        except Exception as exc:  # a picture the converter rejects: that frame is lost
            self.counters.unconvertible += 1
            if self.counters.unconvertible == 1 or self.counters.unconvertible % 1000 == 0:
                log.warning(
                    "%s: a frame could not be converted (%d so far): %r",
                    self.camera.id,
                    self.counters.unconvertible,
                    exc,
                )
            return None
        self.counters.converted += 1
        return ref

    def _refused_by_all(self) -> bool:
        """Every model would refuse a request now: the frame is dropped, counted as the
        refused requests would be, before anything converts it."""
        causes: dict[str, DropCause] = {}
        for model, link in self.links.items():
            cause = link.refusal()
            if cause is None:
                return False
            causes[model] = cause
        if not causes:
            return False
        for model, cause in causes.items():
            self.models[model].drop(cause)
        self.counters.drop(next(iter(causes.values())))  # the first model's, as FrameJoin does
        return True

    def _request(self, join: FrameJoin, ref: FrameRef) -> None:
        """The same frame reference to every model; a refusal is that model's answer."""
        join.expect(ref.seq, ref.ts)
        sent = False
        for model, link in self.links.items():
            refused = link.request(ref)
            if refused is None:
                self.models[model].count_sent()
                sent = True
            else:
                self.models[model].drop(refused)
                join.answer(model, ref.seq, None, refused)
        if sent:
            self.counters.sent += 1

    def close(self) -> None:
        """Stop in order: no more results, end the active alerts, write what is queued."""
        for link in self.links.values():
            link.close()
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
