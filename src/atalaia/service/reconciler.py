"""CameraReconciler: makes the running camera processes match the cameras in the database.

Note 002's CameraAlertProcessor: every few seconds (and at once when the API changes a
camera) it reads the enabled cameras and starts new ones, restarts changed ones and stops
removed or disabled ones. Each change touches only its own camera's process; the others keep
capturing. Reading the table every few seconds also picks up changes made by another node or
directly in the database.
"""

from __future__ import annotations

import logging
import threading
from typing import Protocol

from atalaia.config import CameraConfig
from atalaia.service import camera_store
from atalaia.storage.db import Database

log = logging.getLogger(__name__)


class CameraRunner(Protocol):
    cameras: dict[str, CameraConfig]

    def add_camera(self, camera: CameraConfig) -> None: ...
    def update_camera(self, camera: CameraConfig) -> None: ...
    def remove_camera(self, camera_id: str) -> None: ...


class CameraReconciler:
    def __init__(self, database: Database, runner: CameraRunner, interval: float = 3.0) -> None:
        self.database = database
        self.runner = runner
        self.interval = interval
        self.passes = 0
        self.last_error: str | None = None
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="reconciler", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def wake(self) -> None:
        """Reconcile now (the API calls this after a change)."""
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.reconcile()
                self.last_error = None
            except Exception as exc:  # the database may be briefly away; try again next pass
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.warning("camera reconciliation failed: %s", exc)
            self._wake.wait(self.interval)
            self._wake.clear()

    def reconcile(self) -> None:
        wanted = {c.id: c for c in camera_store.load_all(self.database, enabled_only=True)}
        running = dict(self.runner.cameras)
        for camera_id in running.keys() - wanted.keys():
            log.info("stopping camera %s (removed or disabled)", camera_id)
            self.runner.remove_camera(camera_id)
        for camera_id, camera in wanted.items():
            current = running.get(camera_id)
            if current is None:
                log.info("starting camera %s", camera_id)
                self.runner.add_camera(camera)
            elif current != camera:
                log.info("restarting camera %s (configuration changed)", camera_id)
                self.runner.update_camera(camera)
        self.passes += 1
