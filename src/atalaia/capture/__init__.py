"""Camera sources that never hang and always come back.

A camera process makes one `CameraReader` (usually `CameraReader.for_camera(camera,
data_dir)`), then calls `read(timeout)` for frames and `status()` for its heartbeat, and
`close()` to stop. Below it, `open_source` picks a reader per kind of URL (PyAV for RTSP, HLS
and files, an httpx MJPEG parser for HTTP cameras, OpenCV for USB devices; see `kinds`).
"""

from atalaia.capture.backoff import Backoff
from atalaia.capture.camera_reader import CameraReader, SourceOpener
from atalaia.capture.errors import EndOfStream, SourceError
from atalaia.capture.factory import open_source
from atalaia.capture.frame import Frame
from atalaia.capture.kinds import Backend, SourceKind, backend_for, source_kind
from atalaia.capture.source import FrameSource
from atalaia.capture.status import CameraState, CameraStatus

__all__ = [
    "Backend",
    "Backoff",
    "CameraReader",
    "CameraState",
    "CameraStatus",
    "EndOfStream",
    "Frame",
    "FrameSource",
    "SourceError",
    "SourceKind",
    "SourceOpener",
    "backend_for",
    "open_source",
    "source_kind",
]
