"""CameraReconciler: makes the running camera processes match the cameras in the database.

Note 002's CameraAlertProcessor: every few seconds (and at once when the API changes a
camera) it reads the enabled cameras and starts new ones, restarts changed ones and stops
removed or disabled ones. Each change touches only its own camera's process; the others keep
capturing. Reading the table every few seconds also picks up changes made by another node or
directly in the database.

With a cluster (`cluster.enabled`) the node runs only the cameras whose lease it holds: each
pass first asks the `ClusterCoordinator`, which renews, releases (stopping the camera first)
and claims leases. Every start and stop is logged with the lease generation ("cluster:
running camera x (generation n)" before the process starts, "cluster: stopped camera x" after
it is gone), so the logs of all nodes together show that no camera ran on two at once.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Protocol

from atalaia.config import CameraConfig
from atalaia.service import camera_store
from atalaia.storage.db import Database

if TYPE_CHECKING:
    from atalaia.cluster import ClusterCoordinator

log = logging.getLogger(__name__)

# How long a camera stopped by the lease watchdog gets before it is killed.
FENCED_STOP_S = 1.0


class CameraRunner(Protocol):
    cameras: dict[str, CameraConfig]
    leases: dict[str, tuple[str, int]]

    def add_camera(self, camera: CameraConfig) -> None: ...
    def update_camera(self, camera: CameraConfig) -> None: ...
    def remove_camera(self, camera_id: str, timeout: float | None = None) -> None: ...


class CameraReconciler:
    def __init__(
        self,
        database: Database,
        runner: CameraRunner,
        interval: float = 3.0,
        cluster: ClusterCoordinator | None = None,
    ) -> None:
        self.database = database
        self.runner = runner
        self.interval = interval
        self.cluster = cluster
        # Starts and stops of cameras: the pass and the lease watchdog both stop cameras.
        self._runner_lock = threading.RLock()
        self.passes = 0
        self.last_error: str | None = None
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self.cluster is not None:
            self.cluster.start(lambda: self.stop_all_cameras(fenced=True), self.wake)
        self._thread = threading.Thread(target=self._run, name="reconciler", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> bool:
        """End the loop and join its thread; False (and a warning) when a pass is still
        running after `timeout` (a camera start or a database call that ignores its own)."""
        self._stop.set()
        self._wake.set()
        thread, self._thread = self._thread, None
        if thread is None:
            return True
        thread.join(timeout)
        if thread.is_alive():
            log.warning("camera reconciler still running after %.1f s", timeout)
            return False
        return True

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
        generations: dict[str, int] = {}
        if self.cluster is not None:
            view = self.cluster.assign(wanted, self._running, self.stop_camera)
            generations = view.held
            wanted = {cid: c for cid, c in wanted.items() if cid in generations}
        running = dict(self.runner.cameras)
        for camera_id in running.keys() - wanted.keys():
            log.info("stopping camera %s (removed, disabled or not held)", camera_id)
            self.stop_camera(camera_id)
        for camera_id, camera in wanted.items():
            # One camera at a time under the lock, so the lease watchdog never waits long.
            with self._runner_lock:
                if self.cluster is not None and not self.cluster.may_run():
                    return  # the leases may lapse: start nothing more
                if self.cluster is not None and not self.cluster.holds(camera_id):
                    continue  # lost since the pass began
                current = self.runner.cameras.get(camera_id)
                if current is None:
                    if self.cluster is not None:
                        log.info(
                            "cluster: running camera %s (generation %d)",
                            camera_id,
                            generations[camera_id],
                        )
                        self.runner.leases[camera_id] = (
                            self.cluster.node_id,
                            generations[camera_id],
                        )
                    else:
                        log.info("starting camera %s", camera_id)
                    self.runner.add_camera(camera)
                elif current != camera:
                    log.info("restarting camera %s (configuration changed)", camera_id)
                    self.runner.update_camera(camera)
        self.passes += 1

    def _running(self) -> set[str]:
        return set(self.runner.cameras)

    def stop_camera(self, camera_id: str, timeout: float | None = None) -> None:
        """Stop one camera if it runs here; returns once its process is gone."""
        with self._runner_lock:
            if camera_id not in self.runner.cameras:
                return
            self.runner.remove_camera(camera_id, timeout)
            if self.cluster is not None:
                log.info("cluster: stopped camera %s", camera_id)

    def stop_all_cameras(self, fenced: bool = False) -> None:
        """Stop every camera. `fenced`: the leases may lapse, so all are stopped at once, in
        parallel, and one that does not stop within a second is terminated (then killed)."""
        if not fenced:
            for camera_id in list(self.runner.cameras):
                self.stop_camera(camera_id)
            return
        # Held throughout: a start under way finishes first, and none can begin meanwhile.
        with self._runner_lock:
            threads = [
                threading.Thread(target=self._fenced_stop, args=(cid,), name=f"fence-{cid}")
                for cid in list(self.runner.cameras)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()

    def _fenced_stop(self, camera_id: str) -> None:
        try:
            self.runner.remove_camera(camera_id, FENCED_STOP_S)
            log.info("cluster: stopped camera %s", camera_id)
        except Exception:
            log.exception("cluster: stopping camera %s failed", camera_id)
