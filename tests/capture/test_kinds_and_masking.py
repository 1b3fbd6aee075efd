"""Which reader each URL gets, and masking of a camera's password in messages."""

from __future__ import annotations

from pathlib import Path

import pytest

from atalaia.capture import Backend, SourceKind, backend_for, source_kind
from atalaia.capture.kinds import device_index, file_path
from atalaia.capture.masking import Masker
from atalaia.config.cameras import SourceConfig


@pytest.mark.parametrize(
    ("url", "kind", "backend"),
    [
        ("rtsp://cam/stream", SourceKind.RTSP, Backend.PYAV),
        ("rtsps://cam/stream", SourceKind.RTSP, Backend.PYAV),
        ("http://192.168.1.9:81/stream", SourceKind.HTTP, Backend.MJPEG),
        ("https://cdn/live/index.m3u8", SourceKind.HLS, Backend.PYAV),
        ("rtmp://host/app/key", SourceKind.STREAM, Backend.PYAV),
        ("srt://host:9000", SourceKind.STREAM, Backend.PYAV),
        ("/videos/shop.mp4", SourceKind.FILE, Backend.PYAV),
        ("file:///videos/shop.mp4", SourceKind.FILE, Backend.PYAV),
        ("demo://people", SourceKind.DEMO, Backend.PYAV),
        ("/dev/video2", SourceKind.DEVICE, Backend.OPENCV),
    ],
)
def test_kind_and_default_backend(url: str, kind: SourceKind, backend: Backend) -> None:
    assert source_kind(url) is kind
    assert backend_for(SourceConfig(url=url)) is backend


def test_backend_override() -> None:
    assert backend_for(SourceConfig(url="rtsp://cam/s", backend="opencv")) is Backend.OPENCV
    assert backend_for(SourceConfig(url="http://cam/s", backend="pyav")) is Backend.PYAV
    assert backend_for(SourceConfig(url="/dev/video0", backend="pyav")) is Backend.PYAV


def test_paths() -> None:
    assert file_path("file:///a/b%20c.mp4") == Path("/a/b c.mp4")
    assert file_path("file://localhost/a.mp4") == Path("/a.mp4")
    assert file_path("clips/a.mp4") == Path("clips/a.mp4")
    assert device_index("/dev/video12") == 12


def test_masker_hides_the_password_in_every_form() -> None:
    masker = Masker("rtsp://admin:p%40ss%2Fw0rd@cam.local:554/live")
    assert masker.label == "rtsp://admin:***@cam.local:554/live"
    text = (
        "Server returned 401: 'rtsp://admin:p%40ss%2Fw0rd@cam.local:554/live' "
        "while logging in with p@ss/w0rd"
    )
    masked = masker(text)
    assert "p%40ss%2Fw0rd" not in masked
    assert "p@ss/w0rd" not in masked
    assert "admin" in masked and "cam.local" in masked


def test_masker_leaves_urls_without_password_alone() -> None:
    assert Masker("rtsp://cam/live").label == "rtsp://cam/live"
    assert Masker("/dev/video0").label == "/dev/video0"
