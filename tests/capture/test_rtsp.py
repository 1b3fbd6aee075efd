"""RTSP cameras for real: GStreamer's RTSP server killed, frozen, thawed and restarted."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

import pytest

from atalaia.capture import CameraReader, CameraState, Frame
from atalaia.config.cameras import SourceConfig
from tests.capture.support import (
    OPEN_TIMEOUT,
    READ_TIMEOUT,
    SLACK,
    capture_threads,
    open_fds,
    udp_sockets,
    wait_for,
)
from tests.fixtures.cameras import RtspCamera, rtsp_camera

pytestmark = pytest.mark.usefixtures("rtsp_available")

PASSWORD = "Sup3rS3cretPw"


def reader_for(url: str, readers: list[CameraReader], **overrides: object) -> CameraReader:
    values: dict[str, object] = {
        "url": url,
        "open_timeout": OPEN_TIMEOUT,
        "read_timeout": READ_TIMEOUT,
        "reconnect_initial": 0.2,
        "reconnect_max": 1.0,
    }
    values.update(overrides)
    reader = CameraReader(SourceConfig.model_validate(values), camera_id="rtsp-test")
    readers.append(reader)
    return reader.start()


def next_frames(reader: CameraReader, count: int, within: float) -> list[Frame]:
    """`count` frames, failing the test when they take longer than `within` seconds."""
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


@pytest.fixture(scope="module")
def shared_camera() -> Iterator[RtspCamera]:
    with rtsp_camera(fps=15) as camera:
        yield camera


@pytest.mark.parametrize(
    ("transport", "backend"), [("tcp", "auto"), ("udp", "auto"), ("udp", "opencv")]
)
def test_frames_flow_over_tcp_and_udp(
    shared_camera: RtspCamera, transport: str, backend: str, readers: list[CameraReader]
) -> None:
    reader = reader_for(shared_camera.url, readers, transport=transport, backend=backend)
    next_frames(reader, 5, within=OPEN_TIMEOUT + 5)
    # Right after connecting FFmpeg releases at once what it buffered while probing; after
    # that the camera's own 15 fps come through.
    next_frames(reader, 15, within=3)
    frames = []
    started = time.monotonic()
    while time.monotonic() - started < 2.0:
        frame = reader.read(timeout=0.5)
        if frame is not None:
            frames.append(frame)
    assert 20 <= len(frames) <= 40
    assert all(f.image.shape == (240, 320, 3) for f in frames)
    assert [f.sequence for f in frames] == sorted({f.sequence for f in frames})
    # RTP over UDP uses a pair of UDP sockets per stream; interleaved TCP uses none.
    if transport == "udp":
        assert udp_sockets() >= 2
    else:
        assert udp_sockets() == 0
    status = reader.status()
    assert status.state is CameraState.ONLINE and status.reconnects == 0
    assert 8 <= status.fps <= 30


def test_killed_server_goes_offline_quickly_and_comes_back_to_the_same_reader(
    readers: list[CameraReader],
) -> None:
    with rtsp_camera() as camera:
        reader = reader_for(camera.url, readers)
        next_frames(reader, 5, within=OPEN_TIMEOUT + 5)
        camera.kill()
        took = wait_for(lambda: went_down(reader), timeout=2 * READ_TIMEOUT + SLACK)
        assert took <= 2 * READ_TIMEOUT + SLACK
        time.sleep(1.5)  # a few failed attempts while it is down
        down = reader.status()
        assert down.state is not CameraState.ONLINE and down.last_error
        camera.start()  # same port
        next_frames(reader, 5, within=2 * OPEN_TIMEOUT + 5)
        up = reader.status()
        assert up.state is CameraState.ONLINE
        assert up.reconnects > 0 and up.reconnects >= down.reconnects


@pytest.mark.parametrize("recovery", ["thaw", "kill_and_restart"])
def test_frozen_server_is_detected_and_recovered(
    recovery: str, readers: list[CameraReader]
) -> None:
    with rtsp_camera() as camera:
        reader = reader_for(camera.url, readers)
        next_frames(reader, 5, within=OPEN_TIMEOUT + 5)
        camera.freeze()
        took = wait_for(lambda: went_down(reader), timeout=2 * READ_TIMEOUT + SLACK + 1)
        assert took <= 2 * READ_TIMEOUT + SLACK
        # While frozen the consumer is never held up longer than its own timeout.
        reader.read(timeout=0)
        started = time.monotonic()
        assert reader.read(timeout=0.3) is None
        assert time.monotonic() - started < 0.3 + 0.5
        reconnects = reader.status().reconnects
        if recovery == "thaw":
            camera.thaw()
        else:
            camera.restart()
        next_frames(reader, 5, within=2 * OPEN_TIMEOUT + 5)
        assert reader.status().state is CameraState.ONLINE
        assert reader.status().reconnects > reconnects or reconnects > 0


def test_password_never_appears_in_status_or_logs(
    caplog: pytest.LogCaptureFixture, readers: list[CameraReader]
) -> None:
    caplog.set_level(logging.DEBUG)
    with rtsp_camera(user="admin", password=PASSWORD) as camera:
        assert PASSWORD in camera.url
        reader = reader_for(camera.url, readers)
        next_frames(reader, 3, within=OPEN_TIMEOUT + 5)
        camera.kill()
        wait_for(lambda: went_down(reader), timeout=2 * READ_TIMEOUT + SLACK)
        wait_for(lambda: reader.status().reconnects >= 2, timeout=5)
        camera.start()
        next_frames(reader, 3, within=2 * OPEN_TIMEOUT + 5)
        wrong = reader_for(camera.url_with("admin", "Wr0ngPassw0rd"), readers)
        wait_for(lambda: wrong.status().last_error is not None, timeout=OPEN_TIMEOUT + 3)
        wrong_error = wrong.status().last_error or ""
        statuses = [reader.status(), wrong.status()]
        reader.close()
        wrong.close()
    assert "401" in wrong_error and "admin:***@" in wrong_error
    assert "Wr0ngPassw0rd" not in wrong_error
    for status in statuses:
        assert PASSWORD not in repr(status.as_dict())
    messages = [record.getMessage() for record in caplog.records]
    assert any("offline" in m for m in messages) and any("online" in m for m in messages)
    assert any("admin:***@" in m for m in messages)
    for message in messages:
        assert PASSWORD not in message and "Wr0ngPassw0rd" not in message


def test_reconnects_leak_no_threads_or_file_descriptors(readers: list[CameraReader]) -> None:
    with rtsp_camera() as camera:
        warm = reader_for(camera.url, readers)  # lets FFmpeg do its one-time set-up first
        next_frames(warm, 2, within=OPEN_TIMEOUT + 5)
        assert warm.close()
        threads, fds = len(capture_threads()), open_fds()
        reader = reader_for(camera.url, readers, reconnect_initial=0.05, reconnect_max=0.1)
        for _ in range(2):
            next_frames(reader, 2, within=2 * OPEN_TIMEOUT + 5)
            target = reader.status().reconnects + 3
            camera.kill()

            def retried(at_least: int = target) -> bool:
                return reader.status().reconnects >= at_least

            wait_for(retried, timeout=5)
            camera.start()
        next_frames(reader, 2, within=2 * OPEN_TIMEOUT + 5)
        assert reader.status().reconnects >= 6
        assert reader.close()
        assert len(capture_threads()) == threads
        assert open_fds() <= fds
