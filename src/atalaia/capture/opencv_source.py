"""Frames through OpenCV: USB cameras (`/dev/videoN`) and anything when `backend: opencv`.

USB cameras go through OpenCV's native V4L2 backend. It does not take
`CAP_PROP_READ_TIMEOUT_MSEC`; it waits for each frame in `select()` for
`OPENCV_VIDEOIO_V4L_SELECT_TIMEOUT` seconds (10 by default, read once per process), so this
module sets that variable from the read timeout before the first device is opened. It also
opens devices by index only (opening `/dev/video0` by name is refused by this build).

Everything else goes through OpenCV's FFmpeg backend with `CAP_PROP_OPEN_TIMEOUT_MSEC` and
`CAP_PROP_READ_TIMEOUT_MSEC`. Its demuxer options (RTSP transport) can only be passed in the
process-wide `OPENCV_FFMPEG_CAPTURE_OPTIONS` variable, which OpenCV reads on every open; it is
set under a lock around the open and restored afterwards. Measured here against a frozen RTSP
server, OpenCV's `read()` reports success twice, after a 2 s stall each, before it fails: the
camera reader's stall watchdog is what catches that. OpenCV gives no reason when an open fails
and prints its own warnings on stderr; PyAV is the default for network sources for both reasons.
"""

from __future__ import annotations

import logging
import math
import os
import threading

import cv2
import numpy as np

from atalaia.capture.device_modes import apply_device_settings
from atalaia.capture.errors import SourceError
from atalaia.capture.frame import ReadyPicture
from atalaia.capture.source import FFmpegSourceBase, SourceSettings
from atalaia.config.cameras import DeviceSettings

log = logging.getLogger(__name__)

CAPTURE_OPTIONS_ENV = "OPENCV_FFMPEG_CAPTURE_OPTIONS"
V4L_SELECT_TIMEOUT_ENV = "OPENCV_VIDEOIO_V4L_SELECT_TIMEOUT"
_ENV_LOCK = threading.Lock()


class OpenCVSource(FFmpegSourceBase):
    """One opened `cv2.VideoCapture`; `finite` files loop by reopening when `loop` is set."""

    def __init__(
        self,
        target: str | int,
        settings: SourceSettings,
        *,
        device: bool = False,
        device_settings: DeviceSettings | None = None,
        ffmpeg_options: dict[str, str] | None = None,
    ) -> None:
        super().__init__(settings)
        self._target = target
        self._device = device
        self._device_settings = device_settings
        self._ffmpeg_options = dict(ffmpeg_options or {})
        self._capture: cv2.VideoCapture | None = None
        self._open()

    def grab(self) -> float | None:
        capture = self._capture
        if capture is None:
            raise SourceError(f"{self.label} is closed")
        try:
            ok = bool(capture.grab())
        except cv2.error as exc:
            raise SourceError(f"reading {self.label} failed: {self._masker(str(exc))}") from None
        if not ok:
            capture = self._after_end()
        self._frames_since_open += 1
        if not self._finite:
            return None
        msec = float(capture.get(cv2.CAP_PROP_POS_MSEC))
        return msec / 1000.0 if msec >= 0 else None

    def retrieve(self) -> np.ndarray:
        if self._capture is None:
            raise SourceError(f"{self.label} is closed")
        ok, image = self._capture.retrieve()
        if not ok or image is None:
            raise SourceError(f"cannot decode the frame grabbed from {self.label}")
        if image.ndim == 2:
            image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
        return np.ascontiguousarray(image, dtype=np.uint8)

    def picture(self) -> ReadyPicture:
        return ReadyPicture(self.retrieve())

    def close(self) -> None:
        capture, self._capture = self._capture, None
        if capture is not None:
            capture.release()

    def _open(self) -> None:
        if self._device:
            if not os.path.exists(self.label):
                raise SourceError(f"device {self.label} does not exist (is the camera plugged in?)")
            os.environ.setdefault(
                V4L_SELECT_TIMEOUT_ENV, str(max(1, math.ceil(self._read_timeout)))
            )
            capture = cv2.VideoCapture(self._target, cv2.CAP_V4L2)
        else:
            params = [
                cv2.CAP_PROP_OPEN_TIMEOUT_MSEC,
                round(self._open_timeout * 1000),
                cv2.CAP_PROP_READ_TIMEOUT_MSEC,
                round(self._read_timeout * 1000),
            ]
            capture = self._open_ffmpeg(params)
        if not capture.isOpened():
            capture.release()
            if self._device:
                raise SourceError(
                    f"cannot open device {self.label} with OpenCV's V4L2 backend (in use by "
                    "another program, no permission, or not a capture device)"
                )
            what = "file" if self._finite else "source"
            raise SourceError(
                f"cannot open {what} {self.label} with OpenCV (it gives no reason: check "
                "the address, credentials and that it is a video)"
            )
        if self._device_settings is not None and self._device_settings.requested:
            differences = apply_device_settings(capture, self._device_settings)
            if differences:
                log.warning("%s runs in another mode: %s", self.label, "; ".join(differences))
        fps = float(capture.get(cv2.CAP_PROP_FPS))
        self._fps = fps if 0 < fps < 1000 else None
        self._capture = capture
        self._frames_since_open = 0

    def _open_ffmpeg(self, params: list[int]) -> cv2.VideoCapture:
        options = "|".join(f"{key};{value}" for key, value in self._ffmpeg_options.items())
        with _ENV_LOCK:
            previous = os.environ.get(CAPTURE_OPTIONS_ENV)
            if options:
                os.environ[CAPTURE_OPTIONS_ENV] = options
            try:
                return cv2.VideoCapture(self._target, cv2.CAP_FFMPEG, params)
            except cv2.error as exc:
                raise SourceError(f"cannot open {self.label}: {self._masker(str(exc))}") from None
            finally:
                if options:
                    if previous is None:
                        os.environ.pop(CAPTURE_OPTIONS_ENV, None)
                    else:
                        os.environ[CAPTURE_OPTIONS_ENV] = previous

    def _after_end(self) -> cv2.VideoCapture:
        """OpenCV says only "no frame": a timeout, a closed stream, or the end of a file."""
        self._reopen_at_end(
            f"no frame from {self.label}: the stream ended or nothing arrived within "
            f"{self._read_timeout:g} s"
        )
        assert self._capture is not None
        if not self._capture.grab():
            raise SourceError(f"no video frames could be decoded from {self.label}")
        return self._capture
