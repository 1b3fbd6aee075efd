"""CameraReader's own behaviour, with scripted sources: hand-off, rate cap, backoff, watchdog,
clean stop. The real-server tests (RTSP, MJPEG, files) are in the other modules."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable

import numpy as np
import pytest

from atalaia.capture import CameraReader, CameraState, EndOfStream, FrameSource, SourceError
from atalaia.capture.frame import ReadyPicture
from atalaia.config.cameras import SourceConfig
from tests.capture.support import capture_threads, wait_for


class ScriptedSource:
    """A source whose grab() sleeps `interval`, can block on `gate`, and can end or fail."""

    def __init__(
        self,
        *,
        interval: float = 0.01,
        frames: int | None = None,
        gate: threading.Event | None = None,
        block_after: int | None = None,
        backpressure: bool = False,
        retrieve_error: Exception | None = None,
        late_after: int | None = None,
        late_by: float = 0.0,
    ) -> None:
        self.interval = interval
        self.frames = frames
        self.gate = gate
        self.block_after = block_after
        self._backpressure = backpressure
        self.retrieve_error = retrieve_error
        self.late_after = late_after
        self.late_by = late_by
        self.count = 0
        self.closed = False

    label = "scripted://camera"
    realtime = False
    fps = None

    @property
    def backpressure(self) -> bool:
        return self._backpressure

    def grab(self) -> float | None:
        if self.frames is not None and self.count >= self.frames:
            raise EndOfStream(self.label)
        if (
            self.gate is not None
            and self.block_after is not None
            and self.count >= self.block_after
        ):
            self.gate.wait()
        late = self.late_after is not None and self.count >= self.late_after
        time.sleep(self.late_by if late else self.interval)
        self.count += 1
        return self.count * self.interval

    def retrieve(self) -> np.ndarray:
        if self.retrieve_error is not None:
            raise self.retrieve_error
        image = np.zeros((24, 32, 3), dtype=np.uint8)
        image[0, 0, 0] = self.count % 256
        return image

    def picture(self) -> ReadyPicture:
        return ReadyPicture(self.retrieve())

    def close(self) -> None:
        self.closed = True


def config(**overrides: object) -> SourceConfig:
    values: dict[str, object] = {
        "url": "rtsp://user:Hunter22secret@cam.test/live",
        "read_timeout": 1.0,
        "reconnect_initial": 0.1,
        "reconnect_max": 0.4,
    }
    values.update(overrides)
    return SourceConfig.model_validate(values)


def opener_of(*sources: ScriptedSource) -> tuple[Callable[[SourceConfig], FrameSource], list]:
    """An opener handing out `sources` in turn (the last one again when they run out)."""
    calls: list[float] = []

    def opener(_: SourceConfig) -> FrameSource:
        calls.append(time.monotonic())
        return sources[min(len(calls), len(sources)) - 1]

    return opener, calls


def test_frames_carry_a_capture_timestamp_and_an_increasing_sequence(
    readers: list[CameraReader],
) -> None:
    opener, _ = opener_of(ScriptedSource())
    reader = CameraReader(config(), opener=opener, buffer_size=4)
    readers.append(reader.start())
    before = time.time()
    frames = [reader.read(timeout=2.0) for _ in range(10)]
    assert all(f is not None for f in frames)
    sequences = [f.sequence for f in frames if f is not None]
    assert sequences == sorted(sequences) and len(set(sequences)) == 10
    for frame in frames:
        assert frame is not None
        assert before <= frame.timestamp <= time.time()
        assert frame.image.dtype == np.uint8 and frame.image.shape == (24, 32, 3)
    status = reader.status()
    assert status.state is CameraState.ONLINE
    assert status.frames_read >= 10 and status.last_frame_time is not None
    assert status.url == "rtsp://user:***@cam.test/live"


def test_target_fps_drops_frames_instead_of_slowing_the_decoder(
    readers: list[CameraReader],
) -> None:
    source = ScriptedSource(interval=0.005)  # up to 200 fps
    opener, _ = opener_of(source)
    reader = CameraReader(config(), opener=opener, target_fps=10)
    readers.append(reader.start())
    got = 0
    end = time.monotonic() + 2.0
    while time.monotonic() < end:
        if reader.read(timeout=0.2) is not None:
            got += 1
    status = reader.status()
    assert 12 <= got <= 23  # about 20 in 2 s at 10 fps
    assert status.frames_read > 3 * got  # the decoder kept its own pace
    assert status.dropped_by_rate >= 2 * got


def test_a_slow_consumer_gets_the_newest_frame_and_drops_are_counted(
    readers: list[CameraReader],
) -> None:
    opener, _ = opener_of(ScriptedSource(interval=0.01))
    reader = CameraReader(config(), opener=opener)
    readers.append(reader.start())
    first = reader.read(timeout=2.0)
    assert first is not None
    time.sleep(0.4)
    newest = reader.read(timeout=2.0)
    assert newest is not None
    assert newest.sequence > first.sequence + 5
    assert time.time() - newest.timestamp < 0.2
    assert reader.status().dropped_unconsumed >= 5


def test_a_file_read_flat_out_waits_for_the_consumer_and_loses_nothing(
    readers: list[CameraReader],
) -> None:
    source = ScriptedSource(interval=0.0, frames=40, backpressure=True)
    opener, calls = opener_of(source)
    reader = CameraReader(config(url="/videos/clip.mp4"), opener=opener)
    readers.append(reader.start())
    sequences = []
    for frame in reader.frames():
        sequences.append(frame.sequence)
        time.sleep(0.002)
    assert sequences == list(range(1, 41))
    assert reader.status().state is CameraState.STOPPED
    assert len(calls) == 1 and source.closed


def test_failing_opens_back_off_exponentially_and_never_raise(
    readers: list[CameraReader],
) -> None:
    calls: list[float] = []

    def opener(_: SourceConfig) -> FrameSource:
        calls.append(time.monotonic())
        raise SourceError("cannot open rtsp://user:***@cam.test/live: Connection refused")

    reader = CameraReader(config(), opener=opener, backoff_jitter=0.0)
    readers.append(reader.start())
    start = time.monotonic()
    while time.monotonic() - start < 2.0:
        assert reader.read(timeout=0.25) is None
    status = reader.status()
    # Attempts at 0, 0.1, 0.3, 0.7, 1.1, 1.5, 1.9 s: doubling, then capped at 0.4 s.
    assert 5 <= len(calls) <= 8
    gaps = [b - a for a, b in itertools.pairwise(calls)]
    assert gaps[0] >= 0.09 and gaps[1] >= 0.19 and gaps[2] >= 0.38
    assert max(gaps) < 0.4 + 0.3
    assert status.state in (CameraState.OFFLINE, CameraState.RECONNECTING)
    assert status.reconnects == len(calls) - 1 or status.reconnects == len(calls)
    assert status.last_error is not None and "Connection refused" in status.last_error


def test_an_unexpected_exception_from_a_library_is_a_failure_not_a_crash(
    readers: list[CameraReader],
) -> None:
    opener, calls = opener_of(ScriptedSource(retrieve_error=ValueError("codec exploded")))
    reader = CameraReader(config(), opener=opener)
    readers.append(reader.start())
    wait_for(lambda: len(calls) >= 2, timeout=3.0)
    status = reader.status()
    assert status.last_error is not None and "codec exploded" in status.last_error
    assert reader.read(timeout=0.1) is None
    assert reader.status().state is not CameraState.STOPPED  # still trying


def test_the_watchdog_reports_offline_while_a_read_is_still_blocked(
    readers: list[CameraReader],
) -> None:
    gate = threading.Event()
    frozen = ScriptedSource(interval=0.01, gate=gate, block_after=5)
    fresh = ScriptedSource(interval=0.01)
    opener, calls = opener_of(frozen, fresh)
    reader = CameraReader(config(stall_timeout=0.5), opener=opener)
    readers.append(reader.start())
    try:
        wait_for(lambda: reader.status().frames_read >= 5, timeout=3.0)
        frozen_at = time.monotonic()
        took = wait_for(lambda: reader.status().state is CameraState.OFFLINE, timeout=3.0)
        assert took <= 0.5 + 0.5
        assert "no frame" in (reader.status().last_error or "")
        reader.read(timeout=0)  # the last frame before the freeze may still be waiting
        started = time.monotonic()
        assert reader.read(timeout=0.2) is None
        assert time.monotonic() - started < 0.2 + 0.3  # the consumer is not held up
        # The read "succeeds" long after the stall, as OpenCV's does: still treated as a
        # stall, so the reader reconnects rather than trusting the stale stream.
        assert time.monotonic() - frozen_at > 0.5
    finally:
        gate.set()
    wait_for(lambda: len(calls) >= 2, timeout=3.0)
    wait_for(lambda: reader.status().state is CameraState.ONLINE, timeout=3.0)
    assert reader.status().reconnects >= 1
    assert frozen.closed


def test_close_from_another_thread_ends_frames_and_leaves_no_thread(
    readers: list[CameraReader],
) -> None:
    before = len(capture_threads())
    opener, _ = opener_of(ScriptedSource(interval=0.01))
    reader = CameraReader(config(), camera_id="stopper", opener=opener)
    readers.append(reader)
    closer = threading.Timer(0.5, reader.close)
    closer.start()
    started = time.monotonic()
    count = sum(1 for _ in reader.frames())
    closer.join()
    assert count > 0
    assert time.monotonic() - started < 0.5 + 1.5
    assert reader.status().state is CameraState.STOPPED
    assert reader.read(timeout=1.0) is None
    wait_for(lambda: len(capture_threads()) == before, timeout=2.0)
    with pytest.raises(RuntimeError):
        reader.start()


def test_frames_that_only_come_after_a_read_timeout_do_not_keep_a_camera_online(
    readers: list[CameraReader],
) -> None:
    # Each read "succeeds", but only after the library's own read timeout: what OpenCV does
    # on a frozen RTSP server. Each one is shorter than the stall timeout; together they are not.
    stuttering = ScriptedSource(interval=0.01, late_after=5, late_by=0.32)
    opener, calls = opener_of(stuttering, ScriptedSource(interval=0.01))
    reader = CameraReader(config(read_timeout=0.3, stall_timeout=0.6), opener=opener)
    readers.append(reader.start())
    wait_for(lambda: len(calls) >= 2, timeout=3.0)
    assert stuttering.closed
    assert 5 < stuttering.count <= 5 + 3
    assert "no frame" in (reader.status().last_error or "")
    wait_for(lambda: reader.status().state is CameraState.ONLINE, timeout=3.0)
