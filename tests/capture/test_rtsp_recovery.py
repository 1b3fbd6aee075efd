"""An RTSP camera whose server comes back is read again within seconds, even when the reader's
backoff has reached its cap (real GStreamer RTSP server, killed and restarted on its port)."""

from __future__ import annotations

import time

import pytest

from atalaia.capture import CameraReader, CameraState
from atalaia.config.cameras import SourceConfig
from tests.capture.support import OPEN_TIMEOUT, READ_TIMEOUT, SLACK, wait_for
from tests.fixtures.cameras import rtsp_camera

pytestmark = pytest.mark.usefixtures("rtsp_available")

BACKOFF_CAP = 30.0
# Issue 11's bound: frames flow within 5 s of the server's return.
RECOVERY_BOUND = 5.0


def first_frame_within(reader: CameraReader, seconds: float) -> float:
    started = time.monotonic()
    while reader.read(timeout=0.2) is None:
        if time.monotonic() - started > seconds:
            pytest.fail(f"no frame within {seconds} s: {reader.status()}")
    return time.monotonic() - started


def test_frames_flow_within_seconds_of_the_server_return_despite_a_capped_backoff(
    readers: list[CameraReader],
) -> None:
    with rtsp_camera() as camera:
        # The first failure already waits the whole cap (less jitter): the worst case.
        source = SourceConfig(
            url=camera.url,
            open_timeout=OPEN_TIMEOUT,
            read_timeout=READ_TIMEOUT,
            reconnect_initial=BACKOFF_CAP,
            reconnect_max=BACKOFF_CAP,
        )
        reader = CameraReader(source, camera_id="rtsp-recovery")
        readers.append(reader.start())
        first_frame_within(reader, OPEN_TIMEOUT + 5)

        camera.kill()

        def backing_off_and_probing() -> bool:
            status = reader.status()
            return status.next_retry_at is not None and status.host_reachable is False

        wait_for(backing_off_and_probing, timeout=2 * READ_TIMEOUT + 2 * SLACK)
        down = reader.status()
        assert down.state is CameraState.OFFLINE
        assert down.next_retry_at is not None
        assert down.next_retry_at - time.time() > BACKOFF_CAP / 2  # far away
        while reader.read(timeout=0) is not None:
            pass  # frames decoded before the kill

        camera.start()  # same port; returns once it accepts connections
        took = first_frame_within(reader, RECOVERY_BOUND)
        assert took < RECOVERY_BOUND

        up = reader.status()
        assert up.state is CameraState.ONLINE
        assert up.retry_reason == "host reachable"
        assert up.host_reachable is True
        assert up.next_retry_at is None
