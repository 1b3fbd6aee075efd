"""Sources that never work: a clear error in the status, nothing raised to the consumer, no
busy loop, and nothing left behind after close()."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from atalaia.capture import CameraReader, CameraState
from atalaia.config.cameras import SourceConfig
from tests.capture.support import OPEN_TIMEOUT, SLACK, capture_threads, open_fds, wait_for
from tests.fixtures.cameras import free_port, rtsp_camera


@pytest.fixture
def black_hole() -> Iterator[int]:
    """A port that accepts TCP connections (the kernel's backlog) but never answers a byte."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield int(sock.getsockname()[1])


def watch_failures(url: str, seconds: float) -> tuple[CameraReader, list[float]]:
    """Run a reader on `url` for `seconds`, reading all along; return it and the times
    (seconds after the start) at which its status showed a new error."""
    config = SourceConfig(
        url=url,
        open_timeout=OPEN_TIMEOUT,
        read_timeout=1.0,
        reconnect_initial=0.2,
        reconnect_max=0.8,
    )
    reader = CameraReader(config, camera_id="broken")
    started = time.time()
    reader.start()
    seen: list[float] = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        assert reader.read(timeout=0.1) is None
        when = reader.status().last_error_time
        if when is not None and (not seen or when != seen[-1]):
            seen.append(when)
    return reader, [when - started for when in seen]


@pytest.mark.parametrize(
    ("make_url", "expected"),
    [
        (lambda tmp, port: f"rtsp://admin:Passw0rdXyz@127.0.0.1:{port}/live", "Connection refused"),
        (lambda tmp, port: f"http://127.0.0.1:{port}/stream", "Connection refused"),
        (lambda tmp, port: "rtsp://no-such-camera.invalid/live", "cannot resolve host"),
        (lambda tmp, port: str(tmp / "missing.mp4"), "file not found"),
        (lambda tmp, port: "/dev/video63", "/dev/video63 does not exist"),
    ],
    ids=["rtsp-refused", "http-refused", "unknown-host", "missing-file", "no-device"],
)
def test_unreachable_sources_report_why_and_back_off(
    make_url: object, expected: str, tmp_path: Path
) -> None:
    assert callable(make_url)
    threads, fds = len(capture_threads()), open_fds()
    reader, _ = watch_failures(make_url(tmp_path, free_port()), seconds=2.0)
    status = reader.status()
    assert status.state in (CameraState.OFFLINE, CameraState.RECONNECTING)
    assert status.last_error is not None and expected in status.last_error
    assert "Passw0rdXyz" not in status.last_error
    assert status.frames_read == 0
    # Backoff: attempts at about 0, 0.2, 0.6 and 1.4 s; a busy loop would make hundreds.
    assert 3 <= status.reconnects + 1 <= 5
    assert reader.close()
    assert len(capture_threads()) == threads
    assert open_fds() <= fds


def test_a_file_that_is_not_a_video(not_a_video: Path) -> None:
    threads, fds = len(capture_threads()), open_fds()
    reader, _ = watch_failures(str(not_a_video), seconds=1.5)
    status = reader.status()
    assert status.last_error is not None
    assert "Invalid data" in status.last_error and str(not_a_video) in status.last_error
    assert status.state in (CameraState.OFFLINE, CameraState.RECONNECTING)
    assert status.reconnects <= 5
    assert reader.close()
    assert len(capture_threads()) == threads and open_fds() <= fds


@pytest.mark.parametrize("scheme", ["rtsp", "http"])
def test_a_server_that_never_answers_is_bounded_by_the_timeouts(
    scheme: str, black_hole: int
) -> None:
    reader, errors = watch_failures(f"{scheme}://127.0.0.1:{black_hole}/live", seconds=3.5)
    status = reader.status()
    assert errors, "no error within 3.5 s: a silent server must not block the reader"
    # RTSP waits for its handshake up to the open timeout; HTTP for its response headers up
    # to the read timeout (1 s).
    assert errors[0] <= OPEN_TIMEOUT + SLACK
    assert status.last_error is not None and "timeout" in status.last_error
    assert reader.close(timeout=OPEN_TIMEOUT + SLACK)


def test_many_failed_attempts_leak_no_file_descriptors() -> None:
    port = free_port()
    config = SourceConfig(
        url=f"rtsp://127.0.0.1:{port}/live",
        reconnect_initial=0.02,
        reconnect_max=0.02,
        read_timeout=1.0,
    )
    warm = CameraReader(config)
    wait_for(lambda: warm.start().status().reconnects >= 2, timeout=5)
    warm.close()
    fds = open_fds()
    reader = CameraReader(config).start()
    wait_for(lambda: reader.status().reconnects >= 40, timeout=10)
    assert reader.close()
    assert open_fds() <= fds


def test_an_unknown_rtsp_path_says_not_found(rtsp_available: None) -> None:
    with rtsp_camera(mount="/cam") as camera:
        reader, _ = watch_failures(f"rtsp://127.0.0.1:{camera.port}/nope", seconds=1.0)
        error = reader.status().last_error or ""
        reader.close()
    assert "404" in error and "/nope" in error
