"""One camera's live stream in a worker thread: read, split, decode, scale; never the UI's job.

The worker reads the service's MJPEG stream (`/api/cameras/{id}/live.mjpeg`), decodes each
JPEG into a `QImage` and scales it to the size its tile asked for, then hands the image over
through a `LatestSlot`: when the UI is behind, older images are replaced, never queued. A lost
stream is retried with capped backoff; the tile shows why meanwhile.
"""

from __future__ import annotations

import threading
import time
from collections import deque

import httpx
from PySide6.QtCore import QSize, QThread, Signal
from PySide6.QtGui import QImage

from atalaia.viewer.api_client import ApiClient, AuthError
from atalaia.viewer.backoff import Backoff
from atalaia.viewer.latest_slot import LatestSlot
from atalaia.viewer.local_frames import decode_jpeg
from atalaia.viewer.mjpeg import MjpegError, MjpegParser


class FrameRate:
    """Frames per second over the last `window` seconds."""

    def __init__(self, window: float = 2.0) -> None:
        self.window = window
        self._times: deque[float] = deque()

    def tick(self, now: float) -> None:
        self._times.append(now)
        while self._times and now - self._times[0] > self.window:
            self._times.popleft()

    def fps(self, now: float) -> float:
        while self._times and now - self._times[0] > self.window:
            self._times.popleft()
        if len(self._times) < 2:
            return 0.0
        return (len(self._times) - 1) / max(1e-6, self._times[-1] - self._times[0])


class LiveStreamWorker(QThread):
    """Streams one camera; `frame_ready` means `slot` holds a new image for the tile."""

    frame_ready = Signal()
    stream_state = Signal(str)  # "live", or why not

    def __init__(self, url: str, token: str, camera_id: str, fps: float) -> None:
        super().__init__()
        self.url, self._token, self.camera_id, self.fps_wanted = url, token, camera_id, fps
        self.slot: LatestSlot[QImage] = LatestSlot()
        self.rate = FrameRate()
        self.received = 0
        self._stop = threading.Event()
        self._size_lock = threading.Lock()
        self._size = QSize(320, 240)
        self.setObjectName(f"live-{camera_id}")

    def set_target_size(self, size: QSize) -> None:
        """Called by the tile on resize; images are scaled to it before they reach the UI."""
        with self._size_lock:
            self._size = QSize(max(16, size.width()), max(16, size.height()))

    def stop(self) -> None:
        """Ask the thread to end; it does within one read timeout. Never waits."""
        self._stop.set()

    def run(self) -> None:
        backoff = Backoff()
        client = ApiClient(self.url, self._token)
        try:
            while not self._stop.is_set():
                try:
                    self._stream(client, backoff)
                    reason = "stream ended"
                except AuthError:
                    reason = "token refused"
                except httpx.ReadTimeout:
                    reason = "no new frames"
                except httpx.HTTPStatusError as exc:
                    reason = "no frame yet" if exc.response.status_code == 404 else "HTTP error"
                except (httpx.HTTPError, MjpegError) as exc:
                    reason = f"reconnecting ({type(exc).__name__})"
                if self._stop.is_set():
                    break
                self.stream_state.emit(reason)
                self._stop.wait(backoff.next_delay())
        finally:
            client.close()

    def _stream(self, client: ApiClient, backoff: Backoff) -> None:
        response = client.send(client.live_stream_request(self.camera_id, self.fps_wanted))
        try:
            response.raise_for_status()
            parser = MjpegParser()
            announced = False
            # Each read as it arrives: given a chunk size, httpx holds bytes back until that
            # many have come. 64 KiB held each ~40 KB live frame until the next one arrived:
            # frames reached the slot two at once, one replaced unseen (~10 fps shown of 18).
            for chunk in response.iter_raw():
                if self._stop.is_set():
                    return
                for jpeg in parser.feed(chunk):
                    image = self._decode(jpeg)
                    if image is None:
                        continue
                    if not announced:
                        backoff.reset()
                        self.stream_state.emit("live")
                        announced = True
                    self.received += 1
                    self.rate.tick(time.monotonic())
                    if self.slot.put(image):
                        self.frame_ready.emit()
        finally:
            response.close()

    def _decode(self, jpeg: bytes) -> QImage | None:
        with self._size_lock:
            size = QSize(self._size)
        return decode_jpeg(jpeg, size)
