"""ClientDetection against a scripted detector that speaks the detector process's protocol:
frames go through the shared-memory ring, each answer reaches the frame that asked, drops and
silences become clear errors, and lanes are never left stuck."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Iterator
from multiprocessing.connection import Connection, Listener
from pathlib import Path
from typing import cast

import numpy as np
import pytest

from atalaia.detect import Detections
from atalaia.detect.protocol import DetectorInfo
from atalaia.frames import FrameRef, FrameRing, new_run_id
from atalaia.pipeline.client_frames import (
    ClientDetection,
    ClientDetectionError,
    DetectionTimeout,
    DetectorBusy,
    DetectorUnavailable,
)
from atalaia.pipeline.detector_link import wait_connected
from atalaia.pipeline.detector_messages import (
    Detect,
    DropCause,
    Dropped,
    Hello,
    Result,
    Welcome,
)

AUTHKEY = b"0123456789abcdef"
INFO = DetectorInfo("scripted", "value", "none", 640, 640, 1, (), None, 1, 1, False, False)


class ScriptedDetector:
    """Answers each frame with one box whose x1 is the frame's first pixel value, so a test
    can tell whose frame an answer belongs to. `behaviour` says how to answer next."""

    def __init__(self, address: str, delay: float = 0.05) -> None:
        self.listener = Listener(address, family="AF_UNIX", authkey=AUTHKEY)
        self.delay = delay
        self.behaviour = "answer"
        self.outstanding = 0
        self.max_outstanding = 0
        self.requests = 0
        self._lock = threading.Lock()
        self._conns: list[Connection] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn = self.listener.accept()
            except OSError:
                return
            self._conns.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: Connection) -> None:
        ring: FrameRing | None = None
        camera = ""
        try:
            while True:
                message = conn.recv()
                if isinstance(message, Hello):
                    camera = message.camera
                    ring = FrameRing.attach(message.ring, camera)
                    conn.send(Welcome(("value",), INFO))
                    continue
                assert isinstance(message, Detect), message
                slot, seq, ts = message.slot, message.seq, message.ts
                with self._lock:
                    self.requests += 1
                    self.outstanding += 1
                    self.max_outstanding = max(self.max_outstanding, self.outstanding)
                time.sleep(self.delay)
                with self._lock:
                    self.outstanding -= 1
                behaviour = self.behaviour
                if behaviour == "silent":
                    continue
                if behaviour == "close":
                    conn.close()
                    return
                if behaviour.startswith("drop:"):
                    conn.send(Dropped(seq, cast(DropCause, behaviour[5:])))
                    continue
                assert ring is not None
                frame = ring.read(FrameRef(camera, slot, seq, ts))
                assert frame is not None, "the frame was overwritten while outstanding"
                value = float(frame[0, 0, 0])
                found = Detections(
                    xyxy=np.array([[value, 0, value + 1, 1]], np.float32),
                    confidence=np.array([0.9], np.float32),
                    class_id=np.array([0], np.int32),
                    class_names=("value",),
                )
                conn.send(Result(seq, ts, found.to_wire(), 1.0, 1))
        except (EOFError, OSError):
            pass
        finally:
            if ring is not None:
                ring.close()

    def close(self) -> None:
        self.listener.close()
        for conn in self._conns:
            with contextlib.suppress(OSError):
                conn.close()


@pytest.fixture
def detector(tmp_path: Path) -> Iterator[ScriptedDetector]:
    scripted = ScriptedDetector(str(tmp_path / "detector.sock"))
    yield scripted
    scripted.close()


@contextlib.contextmanager
def client_detection(address: str, lanes: int, timeout_s: float) -> Iterator[ClientDetection]:
    detection = ClientDetection(
        address, AUTHKEY, new_run_id(), lanes=lanes, max_side=64, timeout_s=timeout_s
    ).start()
    try:
        yield detection
    finally:
        detection.close()


def frame(value: int) -> np.ndarray:
    return np.full((48, 64, 3), value, np.uint8)


def wait_ready(detection: ClientDetection) -> None:
    """Until every lane is up (frames would otherwise queue on the first lane that is)."""
    for lane in detection._lanes:
        assert lane.link is not None and wait_connected(lane.link, 10), "a lane never connected"


async def test_concurrent_frames_each_get_their_own_answer(detector: ScriptedDetector) -> None:
    with client_detection(detector.listener.address, lanes=3, timeout_s=10) as detection:
        wait_ready(detection)
        assert detection.class_names == ("value",)
        values = list(range(10, 250, 10))  # 24 frames at once over 3 lanes
        results = await asyncio.gather(*(detection.detect(frame(v)) for v in values))
    assert [int(r.xyxy[0, 0]) for r in results] == values
    assert detector.requests == len(values)
    assert detector.max_outstanding <= 3, "never more frames outstanding than lanes"
    assert detector.max_outstanding >= 2, "frames of several clients wait together"


async def test_drops_become_clear_errors(detector: ScriptedDetector) -> None:
    with client_detection(detector.listener.address, lanes=1, timeout_s=5) as detection:
        wait_ready(detection)
        detector.behaviour = "drop:overload"
        with pytest.raises(DetectorBusy, match="detector busy, try again"):
            await detection.detect(frame(1))
        detector.behaviour = "drop:error"
        with pytest.raises(ClientDetectionError, match="failed in the detector"):
            await detection.detect(frame(1))
        detector.behaviour = "answer"
        assert int((await detection.detect(frame(7))).xyxy[0, 0]) == 7, "the lane was freed"


async def test_no_detector_means_not_running(tmp_path: Path) -> None:
    with client_detection(str(tmp_path / "nobody.sock"), lanes=2, timeout_s=5) as detection:
        started = time.monotonic()
        with pytest.raises(DetectorUnavailable, match="detector not running") as info:
            await detection.detect(frame(1))
        assert info.value.code == "detector_unavailable"
        assert time.monotonic() - started < 1.0, "answered at once, not after the timeout"
        assert not detection.connected


async def test_silence_times_out_and_the_lane_comes_back(detector: ScriptedDetector) -> None:
    with client_detection(detector.listener.address, lanes=1, timeout_s=0.5) as detection:
        wait_ready(detection)
        detector.behaviour = "silent"
        started = time.monotonic()
        with pytest.raises(DetectionTimeout):
            await detection.detect(frame(1))
        assert 0.4 < time.monotonic() - started < 3.0
        detector.behaviour = "answer"
        assert int((await detection.detect(frame(9))).xyxy[0, 0]) == 9


async def test_all_lanes_taken_past_the_timeout_is_busy(detector: ScriptedDetector) -> None:
    """One lane, three frames at once, a detector slower than the timeout: the first frame
    times out, the two that never got the lane are told the detector is busy."""
    detector.delay = 1.0
    with client_detection(detector.listener.address, lanes=1, timeout_s=0.5) as detection:
        wait_ready(detection)
        outcomes = await asyncio.gather(
            *(detection.detect(frame(v)) for v in (1, 2, 3)), return_exceptions=True
        )
    assert isinstance(outcomes[0], DetectionTimeout), outcomes
    assert all(isinstance(o, DetectorBusy) for o in outcomes[1:]), outcomes
    assert detector.requests == 1, "no request was sent for a frame out of time"


async def test_a_detector_that_goes_away_fails_fast(detector: ScriptedDetector) -> None:
    with client_detection(detector.listener.address, lanes=1, timeout_s=20) as detection:
        wait_ready(detection)
        detector.behaviour = "close"
        started = time.monotonic()
        with pytest.raises(DetectorUnavailable, match="restarted"):
            await detection.detect(frame(1))
        assert time.monotonic() - started < 5.0, "not left waiting for the 20 s timeout"
        detector.behaviour = "answer"
        lane = detection._lanes[0].link
        assert lane is not None and wait_connected(lane, 10), "the lane reconnects by itself"
        assert int((await detection.detect(frame(3))).xyxy[0, 0]) == 3


async def test_frames_must_fit_and_close_unlinks_the_ring(detector: ScriptedDetector) -> None:
    with client_detection(detector.listener.address, lanes=1, timeout_s=5) as detection:
        wait_ready(detection)
        with pytest.raises(ValueError, match="exceeds"):
            await detection.detect(np.zeros((65, 10, 3), np.uint8))
        with pytest.raises(ValueError, match="HxWx3"):
            await detection.detect(np.zeros((10, 10), np.uint8))
        name = detection.ring.name
        assert Path("/dev/shm", name).exists()
    assert not Path("/dev/shm", name).exists()
    with pytest.raises(DetectorUnavailable):
        await detection.detect(frame(1))


async def test_frames_sent_once_any_lane_is_up_all_succeed(detector: ScriptedDetector) -> None:
    """Lanes connect one by one; a frame is never given a lane that is still connecting."""
    with client_detection(detector.listener.address, lanes=4, timeout_s=10) as detection:
        deadline = time.monotonic() + 10
        while not detection.connected:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.001)
        results = await asyncio.gather(*(detection.detect(frame(v)) for v in range(1, 9)))
    assert [int(r.xyxy[0, 0]) for r in results] == list(range(1, 9))
