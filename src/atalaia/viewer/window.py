"""The viewer's main window: banner, processing controls and host figures, cameras, alerts.

Every slot here only updates widgets from data a worker already fetched and decoded; anything
that touches the network is queued to a worker (`ServicePoller.control`, the stream workers).
"""

from __future__ import annotations

import gc
import sys
import threading
import time
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QCloseEvent, QKeyEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QPushButton,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from atalaia.viewer import token_store
from atalaia.viewer.alerts_panel import AlertsPanel
from atalaia.viewer.camera_grid import CameraGrid, CameraTile
from atalaia.viewer.clip_player import ClipPlayer
from atalaia.viewer.live_stream import LiveStreamWorker
from atalaia.viewer.local_video_tab import LocalVideoTab
from atalaia.viewer.service_poller import AlertItem, ServicePoller
from atalaia.viewer.threads import keep_until_finished, wait_all

# The UI thread shares the GIL with a worker per camera; by default a thread waiting for it may
# wait 5 ms per hand-over, and a slot that re-takes it a few times stalls the window. Measured
# with eight cameras and a local video (tests/viewer/stall_scenario.py, 2 loaded cores): about
# 100 stalls over 50 ms a minute at the default, 0-2 at 1 ms.
GIL_SWITCH_INTERVAL = 0.001

BANNER_STYLE = "background: #b71c1c; color: white; padding: 6px; font-weight: bold;"


def host_text(stats: dict[str, Any]) -> str:
    """CPU, memory, disk, temperature and load from the host monitor's latest sample."""
    sample = ((stats.get("monitors") or {}).get("host") or {}).get("sample") or {}
    if not sample:
        return "host: no reading yet"
    parts = [
        f"CPU {sample.get('cpu_percent', 0):.0f}%",
        f"memory {sample.get('memory_percent', 0):.0f}%",
        f"disk {sample.get('disk_percent', 0):.0f}%",
    ]
    if sample.get("temperature_c") is not None:
        parts.append(f"{sample['temperature_c']:.0f} °C")
    if sample.get("load_average"):
        parts.append("load " + " ".join(f"{v:.2f}" for v in sample["load_average"]))
    return "host: " + " · ".join(parts)


def processing_text(stats: dict[str, Any]) -> str:
    status = stats.get("status") or {}
    processing = status.get("alert_processing") or {}
    return (
        f"alert processing: {processing.get('status', '?')}"
        f" · {processing.get('cameras_processing', 0)} cameras"
        f" · {processing.get('total_alerts_processed', 0)} alerts"
    )


class MainWindow(QMainWindow):
    """Connects to one service; owns its poller and one stream worker per camera."""

    def __init__(self, url: str, token: str, fps: float = 15.0, remember_token: bool = True):
        super().__init__()
        sys.setswitchinterval(min(sys.getswitchinterval(), GIL_SWITCH_INTERVAL))
        # Everything alive now (Qt bindings, numpy, whatever the hosting process loaded) is
        # never garbage: moved out of the collector's reach, a full collection on the UI
        # thread walks only what the window allocates. Measured: a full collection over the
        # ~400k objects of a test session took 274-333 ms, the size of the UI stalls it caused.
        gc.freeze()
        self.url, self._token, self.fps = url.rstrip("/"), token, fps
        self._remember = remember_token
        self.setWindowTitle(f"atalaia viewer · {self.url}")
        self.connected: bool | None = None
        self.disconnected_at: float | None = None
        self.clip_player: ClipPlayer | None = None

        self.banner = QLabel("")
        self.banner.setObjectName("banner")
        self.banner.setStyleSheet(BANNER_STYLE)
        self.banner.hide()
        self.processing = QLabel("alert processing: …")
        self.host = QLabel("host: …")
        self.buttons: dict[str, QPushButton] = {}
        controls = QHBoxLayout()
        for action in ("start", "stop", "restart"):
            button = QPushButton(action.capitalize())
            button.setObjectName(f"control-{action}")
            button.clicked.connect(lambda _=False, a=action: self.control(a))
            self.buttons[action] = button
            controls.addWidget(button)
        controls.addWidget(self.processing, 1)
        controls.addWidget(self.host)

        self.grid = CameraGrid()
        self.local_video = LocalVideoTab(self.url, token)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.grid, "Cameras")
        self.tabs.addTab(self.local_video, "Local video")
        self.alerts = AlertsPanel()
        self.alerts.clip_requested.connect(self.play_clip)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.tabs)
        splitter.addWidget(self.alerts)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)

        central = QWidget()
        layout = QVBoxLayout(central)
        layout.addWidget(self.banner)
        layout.addLayout(controls)
        layout.addWidget(splitter, 1)
        self.setCentralWidget(central)
        self.resize(1400, 860)

        self.poller = ServicePoller(self.url, token)
        self.poller.connection_changed.connect(self._connection)
        self.poller.cameras_changed.connect(self._cameras)
        self.poller.stats_changed.connect(self._stats)
        self.poller.alerts_arrived.connect(self._alerts)
        self.poller.control_done.connect(self._control_done)
        self.poller.token_accepted.connect(self._token_accepted)
        keep_until_finished(self.poller)
        self.poller.start()

    # ---- from the poller ----------------------------------------------------------------------

    def _connection(self, connected: bool, reason: str) -> None:
        if not connected:
            if self.disconnected_at is None:
                self.disconnected_at = time.monotonic()
            self.banner.setText(f"Disconnected from {self.url}: {reason}. Reconnecting…")
            self.banner.show()
        else:
            self.disconnected_at = None
            self.banner.hide()
        self.connected = connected

    def _cameras(self, cameras: list[dict[str, Any]]) -> None:
        wanted = {str(c["id"]): c for c in cameras if c.get("enabled", True)}
        for camera_id in list(self.grid.tiles):
            if camera_id not in wanted:
                tile = self.grid.remove(camera_id)
                if tile is not None:
                    tile.worker.stop()
        for camera_id, camera in wanted.items():
            if camera_id not in self.grid.tiles:
                worker = LiveStreamWorker(self.url, self._token, camera_id, self.fps)
                keep_until_finished(worker)
                self.grid.add(CameraTile(camera, worker))
                worker.start()

    def _stats(self, stats: dict[str, Any]) -> None:
        children = (stats.get("pipeline") or {}).get("cameras") or {}
        for camera_id, tile in self.grid.tiles.items():
            tile.update_status(children.get(camera_id))
        self.processing.setText(processing_text(stats))
        self.host.setText(host_text(stats))

    def _alerts(self, alerts: list[AlertItem]) -> None:
        self.alerts.add_alerts(alerts, time.time())

    def _control_done(self, action: str, result: str) -> None:
        self.buttons[action].setEnabled(True)
        self.statusBar().showMessage(f"{action}: {result}", 5000)

    def _token_accepted(self) -> None:
        if self._remember:  # a keyring may talk D-Bus: never on the UI thread
            threading.Thread(
                target=token_store.remember, args=(self.url, self._token), daemon=True
            ).start()
            self._remember = False

    # ---- user actions ---------------------------------------------------------------------------

    def control(self, action: str) -> None:
        self.buttons[action].setEnabled(False)
        self.statusBar().showMessage(f"{action}: asked…")
        self.poller.control(action)

    def play_clip(self, alert: AlertItem) -> ClipPlayer:
        player = ClipPlayer(self.url, self._token, alert.id, self)
        player.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        player.show()
        self.clip_player = player
        return player

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape and self.grid.focused is not None:
            self.grid.toggle_focus(self.grid.focused)
            return
        super().keyPressEvent(event)

    def shutdown(self, wait_ms: int = 5000) -> None:
        """Stop every worker; waits (at exit only) so no thread outlives the application."""
        self.poller.stop()
        self.local_video.stop()
        for tile in self.grid.tiles.values():
            tile.worker.stop()
        wait_all(wait_ms)

    def closeEvent(self, event: QCloseEvent) -> None:
        self.shutdown()
        super().closeEvent(event)
