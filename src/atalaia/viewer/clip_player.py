"""Plays an alert's clip in the viewer: download and decode in a worker, paint in the UI.

PySide6-Essentials has no multimedia module, so the clip is decoded with OpenCV (already a
dependency) in a worker thread at the clip's own rate, and frames reach the dialog through a
`LatestSlot` like every other picture in the viewer.
"""

from __future__ import annotations

import tempfile
import threading
import time
from pathlib import Path

import cv2
import httpx
from PySide6.QtCore import QSize, Qt, QThread, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QDialog, QLabel, QVBoxLayout, QWidget

from atalaia.viewer.api_client import ApiClient, AuthError
from atalaia.viewer.latest_slot import LatestSlot
from atalaia.viewer.local_frames import bgr_to_qimage
from atalaia.viewer.threads import keep_until_finished

CLIP_WAIT = 120.0  # seconds: an alert lasts while its object stays, then post-roll
CLIP_SIZE = QSize(800, 600)  # frames are scaled in the worker, the dialog only paints them


class ClipWorker(QThread):
    """Downloads the clip once, then plays it in a loop until stopped."""

    frame_ready = Signal()
    failed = Signal(str)

    def __init__(self, url: str, token: str, alert_id: str) -> None:
        super().__init__()
        self.url, self._token, self.alert_id = url, token, alert_id
        self.slot: LatestSlot[QImage] = LatestSlot()
        self._stop = threading.Event()

    def stop(self) -> None:
        self._stop.set()

    def run(self) -> None:
        data = self._download()
        if data is None:
            return
        with tempfile.TemporaryDirectory(prefix="atalaia-clip-") as folder:
            path = Path(folder) / "clip.mp4"
            path.write_bytes(data)
            self._play(path)

    def _download(self) -> bytes | None:
        """The clip; an alert still going on has none yet, so ask again for a while."""
        client = ApiClient(self.url, self._token)
        deadline = time.monotonic() + CLIP_WAIT
        try:
            while not self._stop.is_set():
                try:
                    data = client.media(self.alert_id, "clip.mp4")
                except (httpx.HTTPError, AuthError) as exc:
                    self.failed.emit(f"clip unavailable ({type(exc).__name__})")
                    return None
                if data:
                    return data
                if time.monotonic() > deadline:
                    self.failed.emit("this alert has no clip")
                    return None
                self.failed.emit("waiting for the clip: it is written once the alert ends")
                self._stop.wait(1.0)
            return None
        finally:
            client.close()

    def _play(self, path: Path) -> None:
        while not self._stop.is_set():
            capture = cv2.VideoCapture(str(path))
            fps = capture.get(cv2.CAP_PROP_FPS) or 10.0
            frames = 0
            while not self._stop.is_set():
                ok, frame = capture.read()
                if not ok:
                    break
                frames += 1
                if self.slot.put(bgr_to_qimage(frame, CLIP_SIZE)):
                    self.frame_ready.emit()
                self._stop.wait(1.0 / max(1.0, fps))
            capture.release()
            if frames == 0:
                self.failed.emit("the clip could not be decoded")
                return


class ClipPlayer(QDialog):
    """A window playing one alert's clip; closing it stops the worker."""

    def __init__(self, url: str, token: str, alert_id: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Alert {alert_id}")
        self.picture = QLabel("loading clip…")
        self.picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.picture.setMinimumSize(480, 360)
        layout = QVBoxLayout(self)
        layout.addWidget(self.picture)
        self.frames_shown = 0
        self.worker = ClipWorker(url, token, alert_id)
        self.worker.frame_ready.connect(self._paint)
        self.worker.failed.connect(self.picture.setText)
        keep_until_finished(self.worker)
        self.worker.start()

    def _paint(self) -> None:
        image = self.worker.slot.take()
        if image is not None:
            self.picture.setPixmap(QPixmap.fromImage(image))
            self.frames_shown += 1

    def done(self, result: int) -> None:
        self.worker.stop()
        super().done(result)
