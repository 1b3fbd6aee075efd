"""What kind of source a camera URL names, and which library reads it.

The choice per kind (when `backend: auto`):

- RTSP, HLS, other network streams (rtmp, srt, udp, tcp), files and `demo://`: **PyAV**. Its
  `timeout=(open, read)` installs FFmpeg's interrupt callback, which aborts a blocked connect or
  read of a frozen server; options such as `rtsp_transport` are per container, where OpenCV
  only takes them from the process-wide `OPENCV_FFMPEG_CAPTURE_OPTIONS` variable; and FFmpeg's
  own log stays quiet (PyAV disables it), so URLs with passwords are not printed on stderr.
- HTTP(S) that is not an HLS playlist: a **hand-written MJPEG parser over httpx**, because that
  is what ESP32-CAM-style cameras serve and it is the most robust way to read them (per-read
  timeouts from httpx, no probing delay, corrupt parts skipped). A URL that answers anything
  but `multipart/x-mixed-replace` is handed to PyAV instead.
- `/dev/videoN`: **OpenCV's V4L2 backend**, the native one; FFmpeg's v4l2 input blocks in the
  driver without checking the interrupt callback.

`backend: opencv` or `backend: pyav` forces that library for every kind.
"""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import Path
from urllib.parse import unquote, urlsplit

from atalaia.config.cameras import SourceConfig

_DEVICE = re.compile(r"^/dev/video(?P<index>\d+)$")


class SourceKind(StrEnum):
    RTSP = "rtsp"
    HTTP = "http"  # MJPEG or any stream FFmpeg reads over HTTP
    HLS = "hls"
    STREAM = "stream"  # rtmp, srt, udp, tcp: other network streams FFmpeg reads
    FILE = "file"
    DEMO = "demo"
    DEVICE = "device"


class Backend(StrEnum):
    PYAV = "pyav"
    OPENCV = "opencv"
    MJPEG = "mjpeg"


def source_kind(url: str) -> SourceKind:
    """Classify a camera URL (as accepted by `SourceConfig`)."""
    if _DEVICE.match(url):
        return SourceKind.DEVICE
    if "://" not in url:
        return SourceKind.FILE
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme in ("rtsp", "rtsps"):
        return SourceKind.RTSP
    if scheme in ("http", "https"):
        return SourceKind.HLS if parts.path.lower().endswith(".m3u8") else SourceKind.HTTP
    if scheme == "file":
        return SourceKind.FILE
    if scheme == "demo":
        return SourceKind.DEMO
    return SourceKind.STREAM


def backend_for(config: SourceConfig) -> Backend:
    """The library that reads this source (see the module docstring for why)."""
    if config.backend == "opencv":
        return Backend.OPENCV
    if config.backend == "pyav":
        return Backend.PYAV
    kind = source_kind(config.url)
    if kind is SourceKind.HTTP:
        return Backend.MJPEG
    if kind is SourceKind.DEVICE:
        return Backend.OPENCV
    return Backend.PYAV


def file_path(url: str) -> Path:
    """The local path of a `file://` URL or a bare path."""
    if url.lower().startswith("file://"):
        parts = urlsplit(url)
        host = "" if parts.netloc in ("", "localhost") else parts.netloc
        return Path(unquote(host + parts.path))
    return Path(url)


def device_index(url: str) -> int:
    """N in `/dev/videoN`."""
    match = _DEVICE.match(url)
    if match is None:
        raise ValueError(f"expected /dev/videoN, got {url!r}")
    return int(match.group("index"))
