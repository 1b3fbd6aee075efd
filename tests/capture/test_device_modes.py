"""USB camera modes: what each backend is asked for, and what is reported when a capture does
not take it. No USB camera exists on the CI machines; an opened video file stands in for a
device that keeps its own mode (OpenCV refuses every property on it), which is the path that
must report, not fail."""

from __future__ import annotations

from pathlib import Path

import cv2
import pytest

from atalaia.capture.device_modes import (
    apply_device_settings,
    ffmpeg_device_options,
    opencv_device_properties,
)
from atalaia.config.cameras import DeviceSettings, SourceConfig


def test_ffmpeg_options_for_the_v4l2_demuxer() -> None:
    settings = DeviceSettings(width=1280, height=720, fps=30, pixel_format="yuyv")
    assert ffmpeg_device_options(settings) == {
        "video_size": "1280x720",
        "framerate": "30",
        "input_format": "yuyv422",
    }
    assert ffmpeg_device_options(DeviceSettings(fps=7.5)) == {"framerate": "7.5"}
    assert ffmpeg_device_options(DeviceSettings()) == {}


def test_opencv_sets_the_pixel_format_before_the_size() -> None:
    settings = DeviceSettings(width=1920, height=1080, fps=25, pixel_format="mjpeg")
    props = opencv_device_properties(settings)
    assert [name for name, _, _ in props] == ["pixel_format", "width", "height", "fps"]
    assert props[0][1] == cv2.CAP_PROP_FOURCC
    assert int(props[0][2]) == cv2.VideoWriter.fourcc(*"MJPG")
    assert props[1:] == [
        ("width", cv2.CAP_PROP_FRAME_WIDTH, 1920.0),
        ("height", cv2.CAP_PROP_FRAME_HEIGHT, 1080.0),
        ("fps", cv2.CAP_PROP_FPS, 25.0),
    ]


def test_a_capture_that_keeps_its_own_mode_is_reported(clip_1s: Path) -> None:
    capture = cv2.VideoCapture(str(clip_1s), cv2.CAP_FFMPEG)
    assert capture.isOpened()
    width = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH))
    try:
        settings = DeviceSettings(width=width * 2, height=720, fps=7, pixel_format="mjpeg")
        differences = apply_device_settings(capture, settings)
        assert f"width {width * 2} asked, {width} given" in differences
        assert any(d.startswith("height 720 asked") for d in differences)
        assert any(d.startswith("fps 7 asked") for d in differences)
        assert any(d.startswith("pixel format MJPG asked") for d in differences)
        # Asking for what it already has reports nothing.
        same = DeviceSettings(
            width=width,
            height=int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)),
            fps=float(capture.get(cv2.CAP_PROP_FPS)),
        )
        assert apply_device_settings(capture, same) == []
    finally:
        capture.release()


def test_settings_reach_the_source_config() -> None:
    config = SourceConfig.model_validate(
        {"url": "/dev/video0", "device": {"width": 640, "height": 480, "pixel_format": "mjpeg"}}
    )
    assert config.device.requested
    assert not SourceConfig.model_validate({"url": "rtsp://cam/s"}).device.requested


@pytest.mark.parametrize("url", ["rtsp://cam/s", "http://cam/mjpeg", "clip.mp4"])
def test_device_settings_on_other_sources_are_refused(url: str) -> None:
    with pytest.raises(ValueError, match="only to USB cameras"):
        SourceConfig.model_validate({"url": url, "device": {"fps": 10}})
