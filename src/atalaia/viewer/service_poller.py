"""The service's state, polled in a worker thread: connection, cameras, status, host, alerts.

There is no push channel for alerts, so the poller asks for alerts newer than the last one it
saw every `alert_interval` seconds (0.25 s: an alert shows within a fraction of a second of its
row) and for the status every `status_interval`. A failed request flips the window to
"disconnected" at once and retries with capped backoff; controls (start/stop/restart) are queued
to this thread so a click never waits on the network.
"""

from __future__ import annotations

import queue
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from PySide6.QtCore import QSize, QThread, Signal
from PySide6.QtGui import QImage

from atalaia.viewer.api_client import ApiClient, AuthError
from atalaia.viewer.backoff import Backoff
from atalaia.viewer.local_frames import decode_jpeg

SINCE_MARGIN = timedelta(minutes=10)
SNAPSHOT_SIZE = QSize(160, 120)


@dataclass(frozen=True)
class AlertItem:
    """One alert as the window shows it; `snapshot` is decoded off the UI thread."""

    id: str
    camera: str
    rule: str
    zone: str | None
    label: str
    start_time: datetime
    has_clip: bool
    snapshot: QImage | None
    received_at: float  # time.time() when the viewer got it


def _start_time(body: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(str(body["start_time"]))


class ServicePoller(QThread):
    """Emits what changed; `control(action)` queues a start/stop/restart."""

    connection_changed = Signal(bool, str)  # connected, reason when not
    cameras_changed = Signal(object)  # list[dict]: the cameras as the API lists them
    stats_changed = Signal(object)  # dict: /api/stats
    alerts_arrived = Signal(object)  # list[AlertItem], oldest first
    control_done = Signal(str, str)  # action, "ok" or why not
    token_accepted = Signal()

    def __init__(
        self,
        url: str,
        token: str,
        alert_interval: float = 0.25,
        status_interval: float = 1.0,
        cameras_interval: float = 5.0,
    ) -> None:
        super().__init__()
        self.url, self._token = url, token
        self.alert_interval = alert_interval
        self.status_interval = status_interval
        self.cameras_interval = cameras_interval
        self._commands: queue.Queue[str | None] = queue.Queue()
        self._seen: set[str] = set()
        self._since: datetime | None = None
        self._connected: bool | None = None
        self.setObjectName("service-poller")

    def control(self, action: str) -> None:
        self._commands.put(action)

    def stop(self) -> None:
        self._commands.put(None)

    def run(self) -> None:
        client = ApiClient(self.url, self._token)
        backoff = Backoff()
        next_status = next_cameras = 0.0
        try:
            while True:
                try:
                    now = time.monotonic()
                    if now >= next_cameras:
                        self.cameras_changed.emit(client.cameras())
                        next_cameras = now + self.cameras_interval
                    if now >= next_status:
                        self.stats_changed.emit(client.stats())
                        next_status = now + self.status_interval
                    self._poll_alerts(client)
                    self._set_connected(True, "")
                    backoff.reset()
                    wait = self.alert_interval
                except AuthError as exc:
                    self._set_connected(False, str(exc))
                    wait = backoff.next_delay()
                except (httpx.HTTPError, ValueError, KeyError) as exc:
                    self._set_connected(False, f"service unreachable ({type(exc).__name__})")
                    next_status = next_cameras = 0.0  # refresh everything once it is back
                    wait = backoff.next_delay()
                if not self._wait_or_command(client, wait):
                    return
        finally:
            client.close()

    def _wait_or_command(self, client: ApiClient, wait: float) -> bool:
        """Sleep `wait` seconds unless a command comes; False when asked to stop."""
        deadline = time.monotonic() + wait
        while True:
            try:
                action = self._commands.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                return True
            if action is None:
                return False
            try:
                client.control(action)
                self.control_done.emit(action, "ok")
                self.stats_changed.emit(client.stats())
            except (httpx.HTTPError, AuthError, ValueError) as exc:
                self.control_done.emit(action, f"failed ({type(exc).__name__})")

    def _set_connected(self, connected: bool, reason: str) -> None:
        if connected and self._connected is not True:
            self.token_accepted.emit()
        if connected != self._connected or not connected:
            self.connection_changed.emit(connected, reason)
        self._connected = connected

    def _poll_alerts(self, client: ApiClient) -> None:
        bodies = client.alerts_since(self._since, limit=100)
        fresh = [b for b in reversed(bodies) if b["id"] not in self._seen]
        if not fresh:
            return
        received = time.time()
        items: list[AlertItem] = []
        for body in fresh:
            self._seen.add(str(body["id"]))
            items.append(self._item(client, body, received))
        # An alert is committed after its start (rules that need a duration, clips): ask again
        # for a margin before the newest start seen, and drop the ones already shown.
        latest = max(_start_time(b) for b in bodies) - SINCE_MARGIN
        self._since = latest if self._since is None else max(self._since, latest)
        self.alerts_arrived.emit(items)

    def _item(self, client: ApiClient, body: dict[str, Any], received: float) -> AlertItem:
        snapshot = None
        if body.get("has_snapshot"):
            data = client.media(str(body["id"]), "snapshot.jpg")
            snapshot = decode_jpeg(data, SNAPSHOT_SIZE) if data else None
        return AlertItem(
            id=str(body["id"]),
            camera=str(body["camera"]),
            rule=str(body["rule"]),
            zone=body.get("zone"),
            label=str(body.get("label", "")),
            start_time=_start_time(body),
            has_clip=bool(body.get("has_clip")),
            snapshot=snapshot,
            received_at=received,
        )
