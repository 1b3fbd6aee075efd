"""The detector process: one model, loaded once, batching frames from every camera.

Cameras connect to a Unix socket (one private connection each, so a camera killed mid-message
damages only its own connection) and send `FrameRef`s; pixels are read straight from each
camera's shared-memory ring. Every request gets exactly one answer, a result or a drop with
its cause, so a camera always knows how many of its requests are still in flight.

The messages (`Hello`, `Detect`; `Welcome`, `Result`, `Dropped`) are in
`atalaia.pipeline.detector_messages`; what the process starts with is a `DetectorSpec`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, Listener
from pathlib import Path

import cv2
import numpy as np

from atalaia.detect import Detector, LaneDetector, build_detector
from atalaia.detect.protocol import DetectorInfo
from atalaia.detect.providers import DEVICE_MEMORY_PROVIDERS
from atalaia.frames import FrameRef, FrameRing
from atalaia.pipeline.batcher import DetectRequest, RequestBatcher
from atalaia.pipeline.detector_lanes import LaneJob, LaneOutcome, LanePool
from atalaia.pipeline.detector_messages import (
    Detect,
    DetectorMessage,
    DropCause,
    Dropped,
    Hello,
    Result,
    Welcome,
)
from atalaia.pipeline.snapshots import DetectorSnapshot
from atalaia.pipeline.specs import DetectorSpec
from atalaia.pipeline.stats import percentiles
from atalaia.supervisor.child import ChildContext, idle_collect, tune_gc

log = logging.getLogger(__name__)

# Frames per call on each of several CPU lanes (`frames_per_call`).
CPU_LANE_BATCH = 2


@dataclass
class CameraLink:
    conn: Connection
    fd: int = -1
    camera: str = ""
    ring: FrameRing | None = None
    max_age_s: float = 0.5
    more: select.poll = field(default_factory=select.poll)  # readable again? (no wait)

    def __post_init__(self) -> None:
        if self.fd >= 0:
            self.more.register(self.fd, select.POLLIN)


@dataclass
class DetectorStats:
    requests: int = 0
    frames: int = 0
    batches: int = 0
    batch_sizes: Counter[int] = field(default_factory=Counter)
    infer_ms: deque[float] = field(default_factory=lambda: deque(maxlen=2000))
    drops: Counter[str] = field(default_factory=Counter)
    errors: int = 0

    def snapshot(self, connections: int, pending: int) -> DetectorSnapshot:
        return DetectorSnapshot(
            requests=self.requests,
            frames=self.frames,
            batches=self.batches,
            mean_batch=round(self.frames / self.batches, 3) if self.batches else 0.0,
            batch_sizes=dict(sorted(self.batch_sizes.items())),
            infer_ms=percentiles(self.infer_ms),
            drops=dict(self.drops),
            errors=self.errors,
            connections=connections,
            pending=pending,
        )


class DetectorServer:
    """Accepts camera connections, batches their requests, answers each one."""

    def __init__(self, ctx: ChildContext) -> None:
        # The engine already spreads a batch over its own runs (each one letterboxes its
        # share); OpenCV's pool inside each resize would only oversubscribe the cores that
        # ONNX Runtime and the cameras are using.
        cv2.setNumThreads(1)
        spec = ctx.payload
        if not isinstance(spec, DetectorSpec):
            raise TypeError(
                f"a detector process starts with a DetectorSpec, not {type(spec).__name__}"
            )
        self.config = spec.detector
        self.ctx = ctx
        self.address = spec.address
        self.authkey = spec.authkey
        self.detector = build_detector(self.config)
        self.lanes = _lane_pool(self.detector)  # first: opening lanes changes the info
        self.welcome = Welcome(tuple(self.detector.class_names), self.detector.info)
        on_device = runs_on_device(self.detector.info)
        self.batcher = RequestBatcher(
            frames_per_call(self.config.batch_max, self.lanes.lanes, on_device),
            batch_wait_s(self.config.batch_timeout_ms, self.lanes.lanes, on_device),
        )
        self.stats = DetectorStats()
        self.links: dict[Connection, CameraLink] = {}
        # One poller for the loop's whole life, the connections registered as they come and
        # go: `multiprocessing.connection.wait` built and tore down a selector on every turn
        # (26 us against 2.6 us here; the loop turns hundreds of times a second).
        self._poller = select.poll()
        self._poller.register(self.lanes.wake_fd, select.POLLIN)
        self._by_fd: dict[int, CameraLink] = {}
        self._new: deque[Connection] = deque()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.address)  # left by a predecessor killed with -9
        self.listener = Listener(self.address, family="AF_UNIX", authkey=self.authkey)
        ctx.stats_from(lambda: self.stats.snapshot(len(self.links), len(self.batcher)))

    def _accept(self) -> None:
        while not self.ctx.stopping:
            try:
                conn = self.listener.accept()
            except Exception as exc:  # a bad handshake must not end the accept loop
                if self.ctx.stopping:
                    return
                log.warning("rejected a connection: %s", exc)
                continue
            self._new.append(conn)

    def run(self) -> None:
        threading.Thread(target=self._accept, name="accept", daemon=True).start()
        log.info(
            "detector ready (%d lane%s, up to %d frames a call): %s",
            self.lanes.lanes, "" if self.lanes.lanes == 1 else "s", self.batcher.batch_max,
            self.welcome.info.to_dict(),
        )  # fmt: skip
        tune_gc()
        last_gc = time.monotonic()
        try:
            while not self.ctx.stopping:
                # Progress is the start of the oldest model call still running, so a hung
                # model stops the heartbeat's progress even though this loop keeps turning.
                self.ctx.progress(self.lanes.oldest_start())
                while self._new:
                    self._add(self._new.popleft())
                wait_s = self.batcher.wait_time(time.monotonic()) if self.lanes.idle() else None
                timeout = 0.1 if wait_s is None else min(wait_s, 0.1)
                for fd, _events in self._poller.poll(timeout * 1000):
                    link = self._by_fd.get(fd)
                    if link is not None:
                        self._receive(link)
                for outcome in self.lanes.finished():
                    self._answer_outcome(outcome)
                self._dispatch()
                if not self.lanes.busy() and not self.batcher:
                    last_gc = idle_collect(last_gc)
        finally:
            self.close()

    def _dispatch(self) -> None:
        """Give the idle lanes what is due, spread over them (at most `frames_per_call`
        frames a call), in the order cameras began waiting."""
        idle = self.lanes.idle()
        if not idle:
            return
        batches, stale = self.batcher.take_spread(len(idle), time.monotonic(), time.time())
        for request in stale:
            self._drop(request, "stale")
        for batch in batches:
            job = self._job(batch)
            if job is not None:
                self.lanes.submit(idle.pop(0), job)

    def _add(self, conn: Connection) -> None:
        link = CameraLink(conn, fd=conn.fileno())
        self.links[conn] = link
        self._by_fd[link.fd] = link
        self._poller.register(link.fd, select.POLLIN)

    def _receive(self, link: CameraLink) -> None:
        """Every message the camera has sent so far (the connection was readable)."""
        try:
            while True:
                message = link.conn.recv()
                if isinstance(message, Detect):
                    self.stats.requests += 1
                    ref = FrameRef(link.camera, message.slot, message.seq, message.ts)
                    request = DetectRequest(ref, link.max_age_s, time.monotonic())
                    superseded = self.batcher.offer(request)
                    if superseded is not None:
                        self._drop(superseded, "overload")
                elif isinstance(message, Hello):
                    link.camera, link.max_age_s = message.camera, message.max_age_s
                    link.ring = FrameRing.attach(message.ring, link.camera)
                    link.conn.send(self.welcome)
                    log.info("camera %s connected", link.camera)
                if not link.more.poll(0):
                    return
        except (EOFError, OSError):
            self._disconnect(link)

    def _disconnect(self, link: CameraLink) -> None:
        if self.links.pop(link.conn, None) is not None:
            self._by_fd.pop(link.fd, None)
            with contextlib.suppress(KeyError, ValueError):
                self._poller.unregister(link.fd)
        self.batcher.drop_camera(link.camera)
        with contextlib.suppress(OSError):
            link.conn.close()
        if link.ring is not None:
            link.ring.close()
        if link.camera:
            log.info("camera %s disconnected", link.camera)

    def _link(self, camera: str) -> CameraLink | None:
        return next((lk for lk in self.links.values() if lk.camera == camera), None)

    def _answer(self, camera: str, message: DetectorMessage) -> None:
        link = self._link(camera)
        if link is None:
            return
        try:
            link.conn.send(message)
        except OSError:
            self._disconnect(link)

    def _drop(self, request: DetectRequest, cause: DropCause) -> None:
        self.stats.drops[cause] += 1
        self._answer(request.ref.camera, Dropped(request.ref.seq, cause))

    def _job(self, batch: list[DetectRequest]) -> LaneJob | None:
        """The batch's frames as views into their rings; frames already overwritten are
        answered as stale here."""
        requests: list[DetectRequest] = []
        rings: list[FrameRing] = []
        views: list[np.ndarray] = []
        for request in batch:
            link = self._link(request.ref.camera)
            ring = link.ring if link is not None else None
            view = ring.view(request.ref) if ring is not None else None
            if ring is None or view is None:
                self._drop(request, "stale")  # lapped by the camera before we got to it
                continue
            requests.append(request)
            rings.append(ring)
            views.append(view)
        if not requests:
            return None
        return LaneJob(tuple(requests), tuple(rings), tuple(views))

    def _answer_outcome(self, outcome: LaneOutcome) -> None:
        if outcome.error is not None:
            self.stats.errors += 1
            log.error(
                "detection failed for a batch of %d: %s", len(outcome.requests), outcome.error
            )
            for request in outcome.requests:
                self._drop(request, "error")
            return
        self.stats.batches += 1
        self.stats.batch_sizes[len(outcome.requests)] += 1
        self.stats.infer_ms.append(outcome.infer_ms)
        pairs = zip(outcome.requests, outcome.rings, outcome.results, strict=True)
        for request, ring, detections in pairs:
            link = self._link(request.ref.camera)
            if link is None or link.ring is not ring:
                continue  # the camera went away (or came back) while the model ran
            if not ring.valid(request.ref):
                self._drop(request, "stale")  # overwritten while the model read it
                continue
            self.stats.frames += 1
            ref = request.ref
            self._answer(
                ref.camera,
                Result(
                    ref.seq, ref.ts, detections.to_wire(), outcome.infer_ms, len(outcome.requests)
                ),
            )

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.listener.close()
        self.lanes.close()
        for link in list(self.links.values()):
            self._disconnect(link)
        self.detector.close()
        with contextlib.suppress(FileNotFoundError):
            Path(self.address).unlink()


def frames_per_call(batch_max: int, lanes: int, on_device: bool = False) -> int:
    """The most frames one model call takes: `batch_max` with one lane or on a device
    (CUDA/TensorRT), at most `CPU_LANE_BATCH` with several lanes on the CPU.

    Several lanes on the CPU are single-threaded runs. The model alone gives about the same
    images/s at batch 1, 2 and 4 there (2-core Xeon and EPYC, within 3 %), but in the
    pipeline every call also costs the detector's own work around it (the lane's hand-off
    and wake-ups, ONNX Runtime's per-call set-up, the answer): at saturation, 8 cameras on a
    2-core EPYC, one frame per call gave 0.77 and 0.76 of the limit, two frames 0.83 and 0.83
    (docs/benchmarks.md). A lane never waits for a batch to fill (`batch_wait_s`), so when
    frames do not queue (nominal load) calls stay at one frame. On a device batching is what
    pays: with `concurrent_runs: 2` on an H200 and one frame per call, 64 cameras got 324
    detections/s against 449 with one lane of batches (docs/benchmarks.md, "Second GPU run").
    """
    return min(batch_max, CPU_LANE_BATCH) if _cpu_lanes(lanes, on_device) else batch_max


def batch_wait_s(batch_timeout_ms: float, lanes: int, on_device: bool = False) -> float:
    """How long a call waits for its batch to fill: `batch_timeout_ms`, except for several
    lanes on the CPU, which take at once what is waiting: with a lane idle, a frame that
    waited for a second one would only be answered later, the model being no faster per
    image for it."""
    return 0.0 if _cpu_lanes(lanes, on_device) else batch_timeout_ms / 1000


def _cpu_lanes(lanes: int, on_device: bool) -> bool:
    """Several single-threaded runs on the CPU, where a batch saves only the per-call costs
    (one lane, or a device, is where batching pays and `batch_max` and its wait hold)."""
    return lanes > 1 and not on_device


def runs_on_device(info: DetectorInfo) -> bool:
    """The detector's model runs on a GPU provider (CUDA or TensorRT), not on the CPU."""
    return bool(info.providers) and info.providers[0] in DEVICE_MEMORY_PROVIDERS


def _lane_pool(detector: Detector) -> LanePool:
    """A lane per model call the detector can run at once; one for a detector that cannot."""
    if isinstance(detector, LaneDetector) and (lanes := detector.open_lanes()) > 1:
        return LanePool(detector.detect_on_lane, lanes)
    return LanePool(lambda _lane, frames: detector.detect(frames), 1)


def run_detector(ctx: ChildContext) -> None:
    """Entry point of a detector process."""
    DetectorServer(ctx).run()
