"""The grid of live cameras: one tile per camera with its picture and status line.

A tile paints whatever image its stream worker left in the slot; scaling happened in the worker
at the size the tile reported. The grid repaints all its tiles together on one timer
(`PAINT_INTERVAL`) instead of once per arriving frame: every repaint ends in a flush to the X
server, and on a loaded machine one flush per frame per camera stalled the UI thread for
50-200 ms (measured with the stall probe); one per tick for all tiles does not.

Double-clicking a tile shows it alone at full size; again, or Escape, goes back to the grid.
"""

from __future__ import annotations

import math
import time
from typing import Any

from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QMouseEvent, QPixmap, QResizeEvent
from PySide6.QtWidgets import QGridLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from atalaia.viewer.live_stream import LiveStreamWorker

PAINT_INTERVAL_MS = 40  # 25 repaints a second at most: above any camera's live rate here


def status_text(camera: dict[str, Any], child: dict[str, Any] | None, view_fps: float) -> str:
    """`Online · 9.8 fps · 120 ms · 0 restarts`, from /api/stats's entry for the camera."""
    child = child or {}
    stats = child.get("stats") or {}
    reader = (stats.get("reader") or {}).get("state")
    state = child.get("state", "stopped")
    words = [str(reader or state or "offline") if state == "running" else str(state)]
    captured = stats.get("fps_captured")
    words.append(f"{view_fps:.1f} fps shown" + (f" / {captured:.1f} captured" if captured else ""))
    latency = stats.get("latency_ms") or {}
    p50 = latency.get("p50") if isinstance(latency, dict) else None
    if p50 is not None:
        words.append(f"{p50:.0f} ms")
    words.append(f"{child.get('restarts') or 0} restarts")
    return " · ".join(words)


class CameraTile(QWidget):
    """One camera: picture (from its worker) and a status line."""

    double_clicked = Signal(str)

    def __init__(self, camera: dict[str, Any], worker: LiveStreamWorker) -> None:
        super().__init__()
        self.camera_id = str(camera["id"])
        self.camera = camera
        self.worker = worker
        self.frames_shown = 0
        self.shown_times: list[float] = []
        self.title = QLabel(f"<b>{camera.get('name') or self.camera_id}</b>")
        self.picture = QLabel("connecting…")
        self.picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.picture.setMinimumSize(160, 120)
        self.picture.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self.picture.setStyleSheet("background: #111; color: #bbb;")
        self.status = QLabel("…")
        self.status.setObjectName(f"status-{self.camera_id}")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.title)
        layout.addWidget(self.picture, 1)
        layout.addWidget(self.status)
        worker.stream_state.connect(self._stream_state)
        self._child: dict[str, Any] | None = None

    def paint_latest(self) -> None:
        """Show the newest frame, if one came since the last tick."""
        image = self.worker.slot.take()
        if image is None or not self.isVisible():
            return
        self.picture.setPixmap(QPixmap.fromImage(image))
        self.frames_shown += 1
        self.shown_times.append(time.monotonic())
        del self.shown_times[:-200]

    def _stream_state(self, state: str) -> None:
        if state != "live":
            self.picture.setText(state)

    def update_status(self, child: dict[str, Any] | None) -> None:
        self._child = child
        self.status.setText(status_text(self.camera, child, self.shown_fps()))

    def shown_fps(self, window: float = 2.0) -> float:
        now = time.monotonic()
        recent = [t for t in self.shown_times if now - t <= window]
        if len(recent) < 2:
            return 0.0
        return (len(recent) - 1) / max(1e-6, recent[-1] - recent[0])

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.worker.set_target_size(self.picture.size())

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        self.double_clicked.emit(self.camera_id)


class CameraGrid(QWidget):
    """Tiles in a near-square grid; `focus` shows one alone."""

    def __init__(self) -> None:
        super().__init__()
        self.tiles: dict[str, CameraTile] = {}
        self.focused: str | None = None
        self._layout = QGridLayout(self)
        self._layout.setSpacing(4)
        self._paint_timer = QTimer(self, interval=PAINT_INTERVAL_MS)
        self._paint_timer.timeout.connect(self._paint_all)
        self._paint_timer.start()

    def _paint_all(self) -> None:
        for tile in self.tiles.values():
            tile.paint_latest()

    def add(self, tile: CameraTile) -> None:
        self.tiles[tile.camera_id] = tile
        tile.double_clicked.connect(self.toggle_focus)
        self._relayout()

    def remove(self, camera_id: str) -> CameraTile | None:
        tile = self.tiles.pop(camera_id, None)
        if tile is not None:
            self._layout.removeWidget(tile)
            tile.setParent(None)
            if self.focused == camera_id:
                self.focused = None
            self._relayout()
        return tile

    def toggle_focus(self, camera_id: str) -> None:
        self.focused = None if self.focused == camera_id else camera_id
        self._relayout()

    def _relayout(self) -> None:
        for tile in self.tiles.values():
            self._layout.removeWidget(tile)
        shown = [self.tiles[self.focused]] if self.focused in self.tiles else []
        shown = shown or list(self.tiles.values())
        columns = max(1, math.ceil(math.sqrt(len(shown))))
        for index, tile in enumerate(shown):
            self._layout.addWidget(tile, index // columns, index % columns)
            tile.show()
        for tile in self.tiles.values():
            if tile not in shown:
                tile.hide()

    def sizeHint(self) -> QSize:
        return QSize(960, 720)
