"""ClientDetection: frames from Socket.IO clients, detected by the cameras' detector process.

The model stays loaded once: a browser's frame goes through the same detector process, and the
same micro-batches, as the cameras' frames. This side behaves like one more camera. It owns a
`FrameRing` (a frame is written there, never pickled) and talks to the detector through
`DetectorLink`s, whose answers arrive on their own threads and resolve asyncio futures through
`loop.call_soon_threadsafe`.

Why several links ("lanes"): the detector keeps at most one waiting request per connection (a
newer one supersedes it, as a camera's newer frame does), so one connection would serve one
client frame per batch. Each lane is a connection with at most one frame outstanding; frames
from several clients share a batch, and nothing is ever superseded. A frame waits for a free
lane at most until its timeout, then fails with "detector busy, try again".

All `detect` calls must come from one event loop (the server's): lanes are handed out on it
without locks.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections import deque
from dataclasses import dataclass

import numpy as np

from atalaia.detect import Detections
from atalaia.frames import FrameRing, ring_name
from atalaia.pipeline.detector_link import DetectorLink
from atalaia.pipeline.detector_messages import DetectorAnswer, DropCause, Hello, Result
from atalaia.pipeline.runner import Pipeline

log = logging.getLogger(__name__)

# Camera ids in the configuration start with a letter or digit, so neither the ring's name
# nor the lanes' ids can collide with a configured camera.
RING_CAMERA = ":socketio"
LANE_PREFIX = "socketio:"
# A link may hold one request the client gave up on (timed out) besides the current one.
_LINK_IN_FLIGHT = 2
_POLL_S = 0.25
# A frame handed a lane with less time than this left cannot be detected in time anyway.
_MIN_TIME_LEFT_S = 0.05


class ClientDetectionError(RuntimeError):
    """A client frame was not detected; `code` is what the client is told."""

    code = "detection_failed"


class DetectorUnavailable(ClientDetectionError):
    code = "detector_unavailable"


class DetectorBusy(ClientDetectionError):
    code = "detector_busy"


class DetectionTimeout(ClientDetectionError):
    code = "timeout"


def _error_for(cause: DropCause) -> ClientDetectionError:
    """The error a detector drop cause means to a client."""
    if cause == "no_detector":
        return DetectorUnavailable("detector not running")
    if cause in ("overload", "stale"):
        return DetectorBusy("detector busy, try again")
    return ClientDetectionError("detection failed in the detector")


@dataclass
class _Waiting:
    seq: int
    future: asyncio.Future[Detections]
    loop: asyncio.AbstractEventLoop


class _Lane:
    """One connection to the detector with at most one frame outstanding."""

    def __init__(self, index: int) -> None:
        self.index = index
        self.camera = f"{LANE_PREFIX}{index}"
        self.waiting: _Waiting | None = None
        self.link: DetectorLink | None = None

    def on_message(self, message: DetectorAnswer) -> None:
        """On the link's thread: hand the answer for the awaited frame to its loop."""
        waiting = self.waiting
        if waiting is None or message.seq != waiting.seq:
            return  # the answer to a frame the client stopped waiting for
        outcome: Detections | ClientDetectionError
        if isinstance(message, Result):
            assert self.link is not None
            try:
                outcome = Detections.from_wire(message.wire, self.link.class_names)
            except ValueError as exc:
                outcome = ClientDetectionError(f"unreadable answer from the detector: {exc}")
        else:
            outcome = _error_for(message.cause)
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
            waiting.loop.call_soon_threadsafe(_settle, waiting.future, outcome)


def _settle(future: asyncio.Future[Detections], outcome: Detections | Exception) -> None:
    if future.done():
        return
    if isinstance(outcome, Exception):
        future.set_exception(outcome)
    else:
        future.set_result(outcome)


class ClientDetection:
    """Detects client frames (BGR uint8, longest side at most `max_side`) in the detector
    process that `address` points at."""

    def __init__(
        self,
        address: str,
        authkey: bytes,
        run_id: str,
        *,
        lanes: int = 4,
        max_side: int = 640,
        timeout_s: float = 10.0,
    ) -> None:
        if lanes < 1:
            raise ValueError("ClientDetection needs at least one lane")
        self.timeout_s = timeout_s
        self.max_side = max_side
        # A slot is reused after `slots` writes. At most `lanes` frames are outstanding, and
        # the detector serves waiting frames oldest first, so 3 writes per lane is far more
        # than can happen before an outstanding frame is answered.
        self.ring = FrameRing.create(
            ring_name(RING_CAMERA, run_id),
            RING_CAMERA,
            slots=max(8, 3 * lanes + 2),
            slot_bytes=max_side * max_side * 3,
        )
        self._stopping = threading.Event()
        self._lanes = [_Lane(i) for i in range(lanes)]
        for lane in self._lanes:
            lane.link = DetectorLink(
                address,
                authkey,
                Hello(lane.camera, self.ring.name, timeout_s),
                lane.on_message,
                self._stopping,
                max_in_flight=_LINK_IN_FLIGHT,
            )
        self._free: deque[_Lane] = deque(self._lanes)
        self._lane_waiters: deque[asyncio.Future[_Lane]] = deque()
        self._closed = False
        self._ring_lock = threading.Lock()

    @classmethod
    def for_pipeline(cls, pipeline: Pipeline) -> ClientDetection | None:
        """Started against the pipeline's detector named in `realtime.detector`; None (and
        an error in the log) when that detector is not configured."""
        settings = pipeline.config.realtime
        if settings.detector not in pipeline.config.detectors:
            log.error(
                "realtime.detector %r is not a configured detector (%s): frames sent over "
                "Socket.IO cannot be detected",
                settings.detector,
                ", ".join(sorted(pipeline.config.detectors)) or "none",
            )
            return None
        return cls(
            pipeline.detector_address(settings.detector),
            pipeline.authkey,
            pipeline.run_id,
            lanes=settings.detector_lanes,
            max_side=settings.max_side,
            timeout_s=settings.detect_timeout,
        ).start()

    def start(self) -> ClientDetection:
        for lane in self._lanes:
            assert lane.link is not None
            lane.link.start()
        return self

    @property
    def connected(self) -> bool:
        """True once the detector answered: its model is loaded."""
        return not self._closed and any(
            lane.link is not None and lane.link.connected for lane in self._lanes
        )

    @property
    def class_names(self) -> tuple[str, ...]:
        for lane in self._lanes:
            if lane.link is not None and lane.link.connected:
                return tuple(lane.link.class_names)
        return ()

    async def detect(self, image: np.ndarray) -> Detections:
        """Detections of `image`, in its own pixel coordinates.

        Raises `DetectorUnavailable` ("detector not running"), `DetectorBusy` ("detector
        busy, try again"), `DetectionTimeout`, or `ClientDetectionError`; `ValueError` for an
        image that is not HxWx3 uint8 within `max_side`.
        """
        if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(f"expected an HxWx3 uint8 image, got {image.dtype} {image.shape}")
        if max(image.shape[:2]) > self.max_side:
            raise ValueError(f"image {image.shape[1]}x{image.shape[0]} exceeds {self.max_side}")
        if not self.connected:
            raise DetectorUnavailable("detector not running")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout_s
        lane = await self._acquire(loop, deadline)
        try:
            return await self._run(lane, image, loop, deadline)
        finally:
            lane.waiting = None
            self._release(lane)

    async def _run(
        self,
        lane: _Lane,
        image: np.ndarray,
        loop: asyncio.AbstractEventLoop,
        deadline: float,
    ) -> Detections:
        link = lane.link
        assert link is not None
        if self._closed or not link.connected:
            raise DetectorUnavailable("detector not running")
        if deadline - loop.time() < _MIN_TIME_LEFT_S:
            raise DetectorBusy("detector busy, try again")  # it waited its time for a lane
        connects = link.connects
        # A memory copy of at most max_side^2 x 3 bytes: cheaper than a hop to a thread. The
        # lock only keeps `close()` (another thread) from unmapping the ring mid-copy.
        with self._ring_lock:
            if self._closed:
                raise DetectorUnavailable("detector not running")
            ref = self.ring.write(image, time.time())
        future: asyncio.Future[Detections] = loop.create_future()
        lane.waiting = _Waiting(ref.seq, future, loop)
        cause = link.request(ref)
        if cause is not None:
            raise _error_for(cause)
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise DetectionTimeout(f"no answer from the detector in {self.timeout_s:g}s")
            done, _ = await asyncio.wait({future}, timeout=min(_POLL_S, remaining))
            if done:
                return future.result()
            if self._closed or link.connects != connects or not link.connected:
                # The connection dropped: this request's answer will never come.
                raise DetectorUnavailable("detector restarted, try again")

    def _take_connected(self) -> _Lane | None:
        for lane in self._free:
            if lane.link is not None and lane.link.connected:
                self._free.remove(lane)
                return lane
        return None

    async def _acquire(self, loop: asyncio.AbstractEventLoop, deadline: float) -> _Lane:
        """A free lane whose connection is up; lanes connect one by one after a detector
        (re)start, so a free lane still connecting is passed over for a busy one that is up."""
        lane = self._take_connected()
        if lane is not None:
            return lane
        if self._free and not self.connected:
            return self._free.popleft()  # nothing is up: the caller fails at once
        waiter: asyncio.Future[_Lane] = loop.create_future()
        self._lane_waiters.append(waiter)
        try:
            return await asyncio.wait_for(waiter, max(0.0, deadline - loop.time()))
        except TimeoutError:
            raise DetectorBusy("detector busy, try again") from None
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self._release(waiter.result())  # handed a lane just as the caller went away
            raise
        finally:
            with contextlib.suppress(ValueError):
                self._lane_waiters.remove(waiter)

    def _release(self, lane: _Lane) -> None:
        """Give the lane back, and hand every free lane that is up to a waiting frame (lanes
        that connected meanwhile included)."""
        self._free.append(lane)
        while self._lane_waiters:
            free = self._take_connected()
            if free is None:
                return
            waiter = self._lane_waiters.popleft()
            if waiter.done():
                self._free.appendleft(free)
            else:
                waiter.set_result(free)

    def close(self) -> None:
        """Disconnect from the detector and unlink the ring (the service stops processing)."""
        if self._closed:
            return
        self._closed = True
        self._stopping.set()
        for lane in self._lanes:
            if lane.link is not None:
                lane.link.close()
        with self._ring_lock:
            self.ring.close()
