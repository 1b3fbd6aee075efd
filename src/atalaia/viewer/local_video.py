"""Local video (note 000's VideoTab): a file or camera device sent to the service for detection.

Three parts, none on the UI thread:

- a reader thread decodes the source at its own pace into a `DropOldestBuffer` (never waits);
- an asyncio loop in this `QThread` runs the Socket.IO client: it takes frames from the buffer
  while fewer than `max_in_flight` are unanswered and the service's announced rate allows,
  sends each as JPEG with a `frame_id`, and keeps the frame until its answer comes;
- an answer's detections are drawn on the very frame they belong to (answers may come out of
  order), converted and scaled, and left in a `LatestSlot` for the UI to paint.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import threading
import time
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import socketio
from PySide6.QtCore import QSize, QThread, Signal
from PySide6.QtGui import QImage

from atalaia.viewer.frame_buffer import DropOldestBuffer
from atalaia.viewer.latest_slot import LatestSlot
from atalaia.viewer.local_frames import bgr_to_qimage, draw_detections, fit_within

ANSWER_TIMEOUT = 15.0  # a frame unanswered this long is forgotten (the service answers all)


@dataclass(frozen=True)
class SenderStats:
    read: int
    dropped: int
    sent: int
    answered: int
    errors: int
    in_flight: int
    connected: bool


def open_source(source: str) -> cv2.VideoCapture:
    """A file path, or a camera device: `0`, `/dev/video0`."""
    return cv2.VideoCapture(int(source)) if source.isdigit() else cv2.VideoCapture(source)


class LocalVideoSender(QThread):
    """Sends `source` to the service at `url`; `frame_ready` means `slot` has an annotated frame."""

    frame_ready = Signal()
    state_changed = Signal(str)

    def __init__(
        self,
        url: str,
        token: str,
        source: str,
        buffer_size: int = 2,
        max_in_flight: int = 2,
        loop: bool = True,
        min_score: float | None = None,
    ) -> None:
        super().__init__()
        self.url, self._token, self.source, self.loop = url.rstrip("/"), token, source, loop
        self.buffer: DropOldestBuffer[np.ndarray] = DropOldestBuffer(buffer_size)
        self.max_in_flight = max_in_flight
        self.min_score = min_score
        self.slot: LatestSlot[QImage] = LatestSlot()
        self._stop = threading.Event()
        self._size = QSize(640, 480)
        self._size_lock = threading.Lock()
        self._pending: dict[int, tuple[np.ndarray, float]] = {}
        self._ids = itertools.count(1)
        self._interval = 0.0  # from the service's `connected` limits
        self._server_max_in_flight = max_in_flight
        self.sent = self.answered = self.errors = 0
        self.connected = False
        self.setObjectName("local-video")

    def stats(self) -> SenderStats:
        return SenderStats(
            read=self.buffer.put_count,
            dropped=self.buffer.dropped,
            sent=self.sent,
            answered=self.answered,
            errors=self.errors,
            in_flight=len(self._pending),
            connected=self.connected,
        )

    def set_target_size(self, size: QSize) -> None:
        with self._size_lock:
            self._size = QSize(size)

    def stop(self) -> None:
        self._stop.set()

    def run(self) -> None:
        reader = threading.Thread(target=self._read, name="local-video-read", daemon=True)
        reader.start()
        try:
            asyncio.run(self._main())
        finally:
            self._stop.set()
            reader.join(5)

    # ---- the reader thread ------------------------------------------------------------------

    def _read(self) -> None:
        capture = open_source(self.source)
        if not capture.isOpened():
            self.state_changed.emit(f"cannot open {self.source}")
            self._stop.set()
            return
        fps = capture.get(cv2.CAP_PROP_FPS)
        period = 1.0 / fps if 1.0 <= fps <= 120.0 else 1.0 / 25.0
        is_file = not self.source.isdigit() and not self.source.startswith("/dev/")
        next_at = time.monotonic()
        try:
            while not self._stop.is_set():
                ok, frame = capture.read()
                if not ok:
                    if is_file and self.loop:
                        capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
                        continue
                    self.state_changed.emit("end of video")
                    return
                self.buffer.put(fit_within(frame))
                if is_file:  # a device paces itself; a file is played at its own rate
                    next_at += period
                    self._stop.wait(max(0.0, next_at - time.monotonic()))
        finally:
            capture.release()

    # ---- the Socket.IO loop -----------------------------------------------------------------

    async def _main(self) -> None:
        client = socketio.AsyncClient(
            reconnection=True, reconnection_delay=0.5, reconnection_delay_max=4
        )
        answered = asyncio.Event()

        @client.on("connected")
        async def on_connected(body: dict[str, Any]) -> None:
            limits = body.get("limits") or {}
            burst = max(1, int(limits.get("frame_burst", 1)))
            # a little under the service's rate: its clock and ours differ by network jitter
            self._interval = 1.1 * float(limits.get("min_frame_interval", 0.0)) / burst
            self._server_max_in_flight = int(limits.get("max_in_flight", self.max_in_flight))
            self.connected = True
            self.state_changed.emit("connected")

        @client.on("disconnect")
        async def on_disconnect(*_: Any) -> None:
            self.connected = False
            self._pending.clear()  # their answers are lost with the connection
            answered.set()
            self.state_changed.emit("disconnected: reconnecting")

        @client.on("detection_results")
        async def on_results(body: dict[str, Any]) -> None:
            found = self._pending.pop(_frame_id(body), None)
            answered.set()
            if found is None:
                return
            self.answered += 1
            await asyncio.to_thread(self._show, found[0], list(body.get("detections") or []))

        @client.on("detection_error")
        async def on_error(body: dict[str, Any]) -> None:
            self._pending.pop(_frame_id(body), None)
            self.errors += 1
            if body.get("code") == "rate_limited":
                await asyncio.sleep(float(body.get("retry_after") or 0.5))
            answered.set()

        await self._connect(client)
        try:
            await self._send_loop(client, answered)
        finally:
            await client.disconnect()

    async def _connect(self, client: socketio.AsyncClient) -> None:
        delay = 0.5
        while not self._stop.is_set():
            try:
                await client.connect(
                    self.url, auth={"token": self._token}, transports=["websocket"], wait_timeout=5
                )
                return
            except socketio.exceptions.ConnectionError as exc:
                self.state_changed.emit(f"cannot connect: {exc}")
                await asyncio.sleep(delay)
                delay = min(4.0, delay * 2)

    async def _send_loop(self, client: socketio.AsyncClient, answered: asyncio.Event) -> None:
        last_sent = 0.0
        while not self._stop.is_set():
            self._expire()
            limit = min(self.max_in_flight, self._server_max_in_flight)
            wait_rate = last_sent + self._interval - time.monotonic()
            if not self.connected or len(self._pending) >= limit or wait_rate > 0:
                answered.clear()
                timeout = wait_rate if wait_rate > 0 and self.connected else 0.05
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(answered.wait(), timeout=max(0.005, timeout))
                continue
            frame = self.buffer.take()
            if frame is None:
                await asyncio.sleep(0.005)
                continue
            ok, jpeg = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 80])
            if not ok:
                continue
            frame_id = next(self._ids)
            options: dict[str, Any] = {"frame_id": frame_id}
            if self.min_score is not None:
                options["min_score"] = self.min_score
            self._pending[frame_id] = (frame, time.monotonic())
            last_sent = time.monotonic()
            try:
                await client.emit("process_frame", (jpeg.tobytes(), options))
                self.sent += 1
            except socketio.exceptions.BadNamespaceError:
                self._pending.pop(frame_id, None)

    def _expire(self) -> None:
        now = time.monotonic()
        for frame_id, (_, sent_at) in list(self._pending.items()):
            if now - sent_at > ANSWER_TIMEOUT:
                self._pending.pop(frame_id, None)

    def _show(self, frame: np.ndarray, detections: list[dict[str, Any]]) -> None:
        with self._size_lock:
            size = QSize(self._size)
        if self.slot.put(bgr_to_qimage(draw_detections(frame, detections), size)):
            self.frame_ready.emit()


def _frame_id(body: dict[str, Any]) -> int:
    try:
        return int(body.get("frame_id", -1))
    except (TypeError, ValueError):
        return -1
