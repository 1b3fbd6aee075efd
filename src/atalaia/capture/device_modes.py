"""A USB camera's mode (size, frame rate, pixel format) as each backend asks for it.

V4L2 drivers take the nearest mode they support rather than refusing one, so asking is not
knowing: the OpenCV path reads every property back after setting it and reports what differs,
which the camera logs once per connection. FFmpeg's v4l2 demuxer takes the same request as
options and fails the open when the format does not exist at all.
"""

from __future__ import annotations

import math

import cv2

from atalaia.config.cameras import DeviceSettings

# FFmpeg's v4l2 `input_format` names and V4L2's four-character codes for each pixel format.
FFMPEG_INPUT_FORMATS = {"mjpeg": "mjpeg", "yuyv": "yuyv422", "h264": "h264"}
FOURCC = {"mjpeg": "MJPG", "yuyv": "YUYV", "h264": "H264"}


def ffmpeg_device_options(settings: DeviceSettings) -> dict[str, str]:
    """Options for FFmpeg's v4l2 demuxer (PyAV)."""
    options: dict[str, str] = {}
    if settings.width is not None and settings.height is not None:
        options["video_size"] = f"{settings.width}x{settings.height}"
    if settings.fps is not None:
        options["framerate"] = f"{settings.fps:g}"
    if settings.pixel_format is not None:
        options["input_format"] = FFMPEG_INPUT_FORMATS[settings.pixel_format]
    return options


def opencv_device_properties(settings: DeviceSettings) -> list[tuple[str, int, float]]:
    """(name, property, value) in the order V4L2 needs: the pixel format first, because
    changing it resets the size and rate the driver offers."""
    props: list[tuple[str, int, float]] = []
    if settings.pixel_format is not None:
        code = cv2.VideoWriter.fourcc(*FOURCC[settings.pixel_format])
        props.append(("pixel_format", cv2.CAP_PROP_FOURCC, float(code)))
    if settings.width is not None and settings.height is not None:
        props.append(("width", cv2.CAP_PROP_FRAME_WIDTH, float(settings.width)))
        props.append(("height", cv2.CAP_PROP_FRAME_HEIGHT, float(settings.height)))
    if settings.fps is not None:
        props.append(("fps", cv2.CAP_PROP_FPS, float(settings.fps)))
    return props


def apply_device_settings(capture: cv2.VideoCapture, settings: DeviceSettings) -> list[str]:
    """Ask an opened capture for the configured mode; return what the device did not take,
    one phrase per setting ("width 1280 asked, 640 given")."""
    differences: list[str] = []
    for name, prop, value in opencv_device_properties(settings):
        capture.set(prop, value)
        given = float(capture.get(prop))
        if name == "pixel_format":
            if int(given) != int(value):
                differences.append(
                    f"pixel format {_fourcc_text(int(value))} asked, "
                    f"{_fourcc_text(int(given))} given"
                )
        elif not math.isclose(given, value, rel_tol=0.01):
            differences.append(f"{name} {value:g} asked, {given:g} given")
    return differences


def _fourcc_text(code: int) -> str:
    text = "".join(chr((code >> (8 * i)) & 0xFF) for i in range(4))
    return text if code > 0 and text.isprintable() else "none"
