"""Fixtures for the capture tests: small test videos, the RTSP server check, readers that
always close."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from atalaia.capture import CameraReader
from tests.capture.support import make_video
from tests.conftest import in_ci
from tests.fixtures.cameras import rtsp_server_available


@pytest.fixture(scope="session")
def video_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("videos")


@pytest.fixture(scope="session")
def clip_4s(video_dir: Path) -> Path:
    """4 s at 15 fps: 60 frames."""
    return make_video(video_dir / "clip_4s.mp4", 4)


@pytest.fixture(scope="session")
def clip_1s(video_dir: Path) -> Path:
    """1 s at 15 fps: 15 frames, so reading more than 15 proves the file looped."""
    return make_video(video_dir / "clip_1s.mp4", 1)


@pytest.fixture(scope="session")
def not_a_video(video_dir: Path) -> Path:
    path = video_dir / "notes.mp4"
    path.write_text("this is a text file with a video's name\n" * 50)
    return path


@pytest.fixture(scope="session")
def rtsp_available() -> None:
    """Skip (or, in CI, fail) when GStreamer's RTSP server is not installed."""
    if not rtsp_server_available():
        message = (
            "needs GStreamer's RTSP server under /usr/bin/python3 "
            "(apt-get install gir1.2-gst-rtsp-server-1.0 python3-gi gstreamer1.0-plugins-ugly)"
        )
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture
def readers() -> Iterator[list[CameraReader]]:
    """Collects readers made by a test and closes them, even when the test fails."""
    made: list[CameraReader] = []
    yield made
    for reader in made:
        reader.close(timeout=5)
