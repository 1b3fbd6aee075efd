"""MJPEG-over-HTTP cameras (the ESP32-CAM kind) for real: a server killed, frozen, restarted."""

from __future__ import annotations

import time

import numpy as np
import pytest

from atalaia.capture import CameraReader, CameraState, Frame
from atalaia.config.cameras import SourceConfig
from tests.capture.support import OPEN_TIMEOUT, READ_TIMEOUT, SLACK, wait_for
from tests.fixtures.cameras import mjpeg_camera


def reader_for(url: str, readers: list[CameraReader]) -> CameraReader:
    config = SourceConfig(
        url=url,
        open_timeout=OPEN_TIMEOUT,
        read_timeout=READ_TIMEOUT,
        reconnect_initial=0.2,
        reconnect_max=1.0,
    )
    reader = CameraReader(config, camera_id="esp32", buffer_size=8)
    readers.append(reader)
    return reader.start()


def next_frames(reader: CameraReader, count: int, within: float) -> list[Frame]:
    deadline = time.monotonic() + within
    frames: list[Frame] = []
    while len(frames) < count:
        if time.monotonic() > deadline:
            pytest.fail(f"only {len(frames)} of {count} frames in {within} s: {reader.status()}")
        frame = reader.read(timeout=0.5)
        if frame is not None:
            frames.append(frame)
    return frames


def went_down(reader: CameraReader) -> bool:
    return reader.status().state in (CameraState.OFFLINE, CameraState.RECONNECTING)


@pytest.mark.parametrize("send_length", [True, False], ids=["content-length", "no-length"])
def test_frames_flow_at_the_camera_rate(send_length: bool, readers: list[CameraReader]) -> None:
    with mjpeg_camera(fps=15, send_length=send_length) as camera:
        reader = reader_for(camera.url, readers)
        next_frames(reader, 1, within=OPEN_TIMEOUT + 3)
        started = time.monotonic()
        frames = next_frames(reader, 15, within=4)
        elapsed = time.monotonic() - started
    assert 0.5 < elapsed < 2.5  # 15 frames at 15 fps: about a second
    assert all(f.image.shape == (240, 320, 3) and f.image.dtype == np.uint8 for f in frames)
    assert not np.array_equal(frames[0].image, frames[-1].image)  # the square moved
    assert reader.status().dropped_unconsumed == 0


def test_killed_camera_goes_offline_and_comes_back_on_the_same_port(
    readers: list[CameraReader],
) -> None:
    with mjpeg_camera() as camera:
        reader = reader_for(camera.url, readers)
        next_frames(reader, 3, within=OPEN_TIMEOUT + 3)
        camera.kill()
        took = wait_for(lambda: went_down(reader), timeout=2 * READ_TIMEOUT + SLACK)
        assert took <= 2 * READ_TIMEOUT + SLACK
        wait_for(lambda: reader.status().reconnects >= 2, timeout=4)
        error = reader.status().last_error or ""
        assert camera.url in error or "127.0.0.1" in error
        camera.start()
        next_frames(reader, 3, within=OPEN_TIMEOUT + 3)
        assert reader.status().state is CameraState.ONLINE
        assert reader.status().reconnects >= 2


def test_frozen_camera_is_detected_by_the_read_timeout_and_recovers(
    readers: list[CameraReader],
) -> None:
    with mjpeg_camera() as camera:
        reader = reader_for(camera.url, readers)
        next_frames(reader, 3, within=OPEN_TIMEOUT + 3)
        camera.freeze()
        took = wait_for(lambda: went_down(reader), timeout=2 * READ_TIMEOUT + SLACK + 1)
        assert took <= 2 * READ_TIMEOUT + SLACK
        assert "read timeout" in (reader.status().last_error or "")
        camera.thaw()
        next_frames(reader, 3, within=2 * OPEN_TIMEOUT + 3)
        assert reader.status().state is CameraState.ONLINE
        assert reader.status().reconnects >= 1
