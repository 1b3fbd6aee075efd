"""BackgroundManager: what runs beside the HTTP API for as long as the service lives.

Design note 002 starts the background system with the web application and stops it with
it; the app's lifespan calls `startup()` and `shutdown()`. Two parts, controlled separately:

- the basic monitors (host, serial board, camera reachability) always run;
- alert processing (camera and detector processes, the reconciler that keeps them in line
  with the database, the delivery dispatchers) can be stopped, started and restarted through
  the API while the monitors keep running, as the note describes.

The API only reads state through this object. `atalaia supervisor` (design note 003) runs the same
object without the API: there the configuration file, not the database, says which cameras
run (`cameras_from="config"`), because no API exists to change them and the user expects the
file they pass to be what runs.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import text

from atalaia.config import AtalaiaConfig, CameraConfig
from atalaia.demo import DEMO_URL, ensure_demo_video
from atalaia.events import topics
from atalaia.events.bus import EventBus
from atalaia.events.service import OutboxService
from atalaia.events.types import AlertEvent
from atalaia.monitors.group import BasicMonitors
from atalaia.pipeline.camera_messages import AlertCommitted
from atalaia.pipeline.client_frames import ClientDetection
from atalaia.pipeline.runner import Pipeline
from atalaia.redact import mask_secrets, mask_url
from atalaia.service import camera_store
from atalaia.service.reconciler import CameraReconciler
from atalaia.storage.db import Database

if TYPE_CHECKING:
    from atalaia.cluster import ClusterCoordinator

log = logging.getLogger(__name__)


class ProcessingUnavailable(RuntimeError):
    """Alert processing cannot run in this process (it was built without a log writer)."""


ProcessingState = Literal["starting", "running", "stopping", "stopped", "error"]
# Where the cameras to run come from: the database (the service; the YAML seeds it once) or the
# configuration file itself, every start (`atalaia supervisor`).
CameraSource = Literal["database", "config"]


class BackgroundManager:
    """Starts, stops and reports on the background work of one service instance."""

    def __init__(
        self,
        config: AtalaiaConfig,
        database: Database | None = None,
        log_queue: Any = None,
        reconcile_interval: float = 3.0,
        cameras_from: CameraSource = "database",
    ) -> None:
        self.config = config
        self.cameras_from = cameras_from
        self.database = database or Database(config.database_url)
        self.log_queue = log_queue
        self.reconcile_interval = reconcile_interval
        self.startup_completed = False
        self.started_at: float | None = None
        self.startup_error: str | None = None
        self.pipeline: Pipeline | None = None
        self.reconciler: CameraReconciler | None = None
        # Socket.IO frames, detected by the cameras' detector process (None: not running).
        self.client_detection: ClientDetection | None = None
        self.processing_state: ProcessingState = "stopped"
        self.processing_error: str | None = None
        self.total_alerts_processed = 0
        self.monitors: BasicMonitors | None = None
        self.outbox: OutboxService | None = None
        self._stopping = threading.Event()
        # Camera status and system events for in-process subscribers (alerts go by the outbox).
        self.bus = EventBus()
        self._loop: asyncio.AbstractEventLoop | None = None
        self.last_cleanup: dict[str, Any] | None = None
        self._lock = asyncio.Lock()
        self._count_lock = threading.Lock()

    # ---- lifecycle -------------------------------------------------------------------------

    async def startup(self) -> None:
        """Prepare storage and inputs, then start alert processing. A failure is recorded and
        reported by `health()`, so the API still answers and says what went wrong."""
        self.started_at = time.time()
        self._loop = asyncio.get_running_loop()
        self.bus.start()
        self.config.data_dir.mkdir(parents=True, exist_ok=True)
        try:
            await asyncio.to_thread(self.database.migrate)
            if self.cameras_from == "database":
                seeded = await asyncio.to_thread(
                    camera_store.seed_from_config, self.database, self.config
                )
                if seeded:
                    log.info("copied %d camera(s) from the configuration into the database", seeded)
            await asyncio.to_thread(self._prepare_demo)
        except Exception as exc:
            self.startup_error = mask_secrets(f"{type(exc).__name__}: {exc}")
            log.exception("start-up failed: %s", self.startup_error)
            return
        self.startup_completed = True
        log.info("background started; database %s", mask_url(self.config.database_url))
        await asyncio.to_thread(self._start_monitors)
        threading.Thread(target=self._retention, name="media-retention", daemon=True).start()
        if self.log_queue is not None:
            await self.start_processing()

    async def shutdown(self) -> None:
        self._stopping.set()
        await self.stop_processing()
        if self.monitors is not None:
            await asyncio.to_thread(self.monitors.stop, 10.0)
        await self.bus.stop()
        await asyncio.to_thread(self.database.dispose)
        log.info("background stopped")

    def _retention(self) -> None:
        """Apply media retention (age and disk budget) now and then, off the event loop."""
        from atalaia.media.retention import cleanup_for_config

        while not self._stopping.is_set():
            try:
                report = cleanup_for_config(self.config)
                self.last_cleanup = {"at": time.time(), **_plain(report)}
            except Exception:
                log.exception("media retention failed")
            self._stopping.wait(self.config.media.cleanup_interval_s)

    def _start_monitors(self) -> None:
        """The basic monitors run for the whole life of the service (design note 002)."""
        cameras = self._enabled_cameras()
        self.monitors = BasicMonitors(
            self.config.monitors,
            cameras,
            self.config.data_dir,
            on_camera_change=self._camera_reachability,
            on_board_change=self._board_online,
        )
        self.monitors.start()

    def _publish(self, topic: str, data: dict[str, Any], camera: str | None = None) -> None:
        """Publish from any thread (monitors call back on their own threads)."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(lambda: self.bus.publish(topic, data, camera=camera))

    def _camera_reachability(
        self, camera_id: str, reachable: bool | None, reason: str | None
    ) -> None:
        if reachable is not None:
            topic = topics.CAMERA_ONLINE if reachable else topics.CAMERA_OFFLINE
            self._publish(topic, {"camera": camera_id, "reason": reason}, camera=camera_id)
        if reachable is False:
            log.warning(
                "camera %s unreachable: %s", camera_id, reason, extra={"camera_id": camera_id}
            )
        elif reachable:
            log.info("camera %s reachable", camera_id, extra={"camera_id": camera_id})

    def _board_online(self, online: bool, reason: str | None) -> None:
        self._publish(
            topics.SYSTEM, {"serial_board": "online" if online else "offline", "reason": reason}
        )
        log.log(
            logging.INFO if online else logging.WARNING,
            "serial board %s%s",
            "online" if online else "offline",
            f": {reason}" if reason else "",
        )

    def _enabled_cameras(self) -> list[CameraConfig]:
        if self.cameras_from == "config":
            return [c for c in self.config.cameras if c.enabled]
        return camera_store.load_all(self.database, enabled_only=True)

    def _prepare_demo(self) -> None:
        cameras = self._enabled_cameras()
        if any(c.source.url.startswith("demo://") for c in cameras):
            path = ensure_demo_video(self.config.data_dir)
            log.info("demo camera plays %s (%s)", path, DEMO_URL)

    # ---- alert processing ------------------------------------------------------------------

    async def start_processing(self) -> bool:
        """Start camera and detector processes and the reconciler; False if already running."""
        async with self._lock:
            if self.processing_state in ("running", "starting"):
                return False
            if self.log_queue is None:
                raise ProcessingUnavailable(
                    "alert processing is not available: this service instance has no log writer"
                )
            self.processing_state, self.processing_error = "starting", None
            try:
                self.outbox = OutboxService.from_config(self.config, self.database)
                await self.outbox.start()
                await asyncio.to_thread(self._start_processing)
            except Exception as exc:
                self.processing_state = "error"
                self.processing_error = mask_secrets(f"{type(exc).__name__}: {exc}")
                log.exception("alert processing failed to start")
                return False
            self.processing_state = "running"
            return True

    def _start_processing(self) -> None:
        pipeline = Pipeline(self.config, self.log_queue, on_message=self._on_child_message)
        if self.cameras_from == "config":
            if self.config.cluster.enabled:
                log.warning(
                    "cluster.enabled is ignored here: this runs the file's cameras as written, "
                    "without leases; use `atalaia run` for a cluster node"
                )
            pipeline.start()  # the file's cameras, as they are; nothing to reconcile with
            self.pipeline = pipeline
        else:
            pipeline.start(with_cameras=False)
            cluster = self._cluster_coordinator()
            interval = cluster.config.renew_interval_s if cluster else self.reconcile_interval
            reconciler = CameraReconciler(self.database, pipeline, interval, cluster=cluster)
            reconciler.reconcile()
            reconciler.start()
            self.pipeline, self.reconciler = pipeline, reconciler
        self.client_detection = ClientDetection.for_pipeline(pipeline)
        log.info("alert processing running: %d camera(s)", len(pipeline.cameras))

    def _cluster_coordinator(self) -> ClusterCoordinator | None:
        """With `cluster.enabled`, this node runs only the cameras it holds a lease for."""
        if not self.config.cluster.enabled:
            return None
        from atalaia import __version__
        from atalaia.cluster import ClusterCoordinator

        log.info(
            "cluster: node %s joins (lease %.0f s, renewed every %.1f s)",
            self.config.cluster.node_id,
            self.config.cluster.lease_s,
            self.config.cluster.renew_interval_s,
        )
        return ClusterCoordinator(self.config.cluster, self.config.database_url, __version__)

    def cluster_status(self) -> dict[str, Any] | None:
        """This node's view of its leases; None when the cluster is off or not running."""
        reconciler = self.reconciler
        if reconciler is None or reconciler.cluster is None:
            return None
        return reconciler.cluster.status()

    async def stop_processing(self) -> bool:
        """Stop alert processing; the monitors keep running. False if it was not running."""
        async with self._lock:
            if self.pipeline is None:
                return False
            self.processing_state = "stopping"
            await asyncio.to_thread(self._stop_processing)
            if self.outbox is not None:
                await self.outbox.stop(timeout=10)
                self.outbox = None
            self.processing_state = "stopped"
            return True

    def _stop_processing(self) -> None:
        if self.client_detection is not None:
            self.client_detection.close()
            self.client_detection = None
        if self.reconciler is not None:
            self.reconciler.stop()
            cluster = self.reconciler.cluster
            if cluster is not None:
                # Cameras first, then their leases at once: other nodes need not wait them out.
                self.reconciler.stop_all_cameras()
                cluster.close()
                cluster.leave()
        if self.pipeline is not None:
            self.pipeline.stop()
        self.pipeline, self.reconciler = None, None
        log.info("alert processing stopped")

    async def restart_processing(self) -> bool:
        await self.stop_processing()
        return await self.start_processing()

    def cameras_changed(self) -> None:
        """Called by the API after a camera was created, changed or deleted."""
        if self.reconciler is not None:
            self.reconciler.wake()
        if self.monitors is not None:
            self.monitors.camera.set_cameras(self._enabled_cameras())

    def deliveries_changed(self) -> None:
        """Called by the API after a dead delivery was put back in the queue."""
        if self.outbox is not None:
            self.outbox.wake()

    def _on_child_message(self, child: str, message: object) -> None:
        """Messages from camera and detector processes other than heartbeats and logs."""
        if isinstance(message, AlertCommitted):
            with self._count_lock:
                self.total_alerts_processed += 1
            if self.outbox is not None:
                self.outbox.wake()  # committed by the camera: deliver it now
            if self.monitors is not None and self.monitors.serial.enabled:
                threading.Thread(
                    target=self._alert_to_board, args=(message.event_id,), daemon=True
                ).start()

    def _alert_to_board(self, event_id: str) -> None:
        """Give the serial board the committed event (it decides if a command matches)."""
        from atalaia.storage.models import AlertEvent as AlertEventRow

        try:
            with self.database.session() as session:
                row = session.query(AlertEventRow).filter_by(id=event_id).one_or_none()
                payload = dict(row.payload) if row is not None else None
            if payload is not None and self.monitors is not None:
                self.monitors.serial.on_alert(AlertEvent.from_payload(payload))
        except Exception:
            log.exception("could not pass alert %s to the serial board", event_id)

    # ---- state -----------------------------------------------------------------------------

    def _database_check(self) -> str:
        try:
            with self.database.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception as exc:
            return mask_secrets(f"error: {type(exc).__name__}: {exc}")
        return "ok"

    async def health(self) -> dict[str, Any]:
        """A cheap liveness and readiness answer for load balancers and monitors."""
        database = await asyncio.to_thread(self._database_check)
        healthy = self.startup_completed and database == "ok"
        return {
            "status": "ok" if healthy else "degraded",
            "is_running": self.processing_state == "running",
            "startup_completed": self.startup_completed,
            "startup_error": self.startup_error,
            "uptime_s": round(time.time() - self.started_at, 3) if self.started_at else 0.0,
            "checks": {"database": database, "alert_processing": self.processing_state},
            "pipeline": self.pipeline_status(),
        }

    def pipeline_status(self) -> dict[str, Any]:
        """Per camera and detector: state, restarts, reason, and the latest heartbeat stats."""
        if self.pipeline is None:
            return {"running": False, "cameras": {}, "detectors": {}}
        return {"running": True, **self.pipeline.status()}

    def handlers_status(self) -> dict[str, str]:
        """One entry per configured sink: active, failing or stopped."""
        live = self.outbox.handlers_status() if self.outbox is not None else {}
        return {
            self.config.sink_name(s): live.get(self.config.sink_name(s), "stopped")
            for s in self.config.sinks
        }

    def status(self) -> dict[str, Any]:
        """The shape of design note 002's `GET /background/status`, key for key."""
        running = self.processing_state == "running"
        cameras = len(self.pipeline.cameras) if self.pipeline is not None else 0
        monitors = self.monitor_flags()
        return {
            "status": "running"
            if self.startup_completed and running
            else ("error" if self.startup_error or self.processing_state == "error" else "stopped"),
            "is_running": running,
            "startup_completed": self.startup_completed,
            "basic_monitors": {
                **monitors,
                "status": self.monitors.summary()["status"] if self.monitors else "stopped",
            },
            "alert_processing": {
                "status": self.processing_state,
                "cameras_processing": cameras,
                "total_alerts_processed": self.total_alerts_processed,
                "handlers_status": self.handlers_status(),
            },
        }

    def monitor_flags(self) -> dict[str, bool]:
        if self.monitors is None:
            return {"host_monitor": False, "serial_monitor": False, "camera_monitor": False}
        summary = self.monitors.summary()
        return {k: bool(summary[k]) for k in ("host_monitor", "serial_monitor", "camera_monitor")}

    def monitor_snapshots(self) -> dict[str, Any]:
        """The monitors' latest readings, by monitor."""
        if self.monitors is None:
            return {}
        return {name: m.snapshot().as_dict() for name, m in self.monitors.monitors.items()}

    def sink_stats(self) -> dict[str, dict[str, Any]]:
        """Per sink: delivered, failed, pending, dead, last error, latency."""
        if self.outbox is None:
            return {}
        status: dict[str, dict[str, Any]] = self.outbox.status()
        return status


def _plain(report: object) -> dict[str, Any]:
    from dataclasses import asdict, is_dataclass

    return asdict(report) if is_dataclass(report) and not isinstance(report, type) else {}
