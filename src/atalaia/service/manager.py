"""BackgroundManager: what runs beside the HTTP API for as long as the service lives.

Design note 002 starts the background system with the web application and stops it with
it; the app's lifespan calls `startup()` and `shutdown()`. Two parts, controlled separately:

- the basic monitors (host, serial board, camera reachability) always run;
- alert processing (camera and detector processes, the reconciler that keeps them in line
  with the database, the delivery dispatchers, client detection), owned by one
  `AlertProcessing` with an explicit state, can be stopped, started and restarted through the
  API while the monitors keep running, as the note describes.

Every thread started here (the monitors', the serial board's alert worker, media retention,
those of alert processing) is joined by `shutdown()`; tests/service/test_threads.py checks it.

The API only reads state through this object. `atalaia supervisor` (design note 003) runs the same
object without the API: there the configuration file, not the database, says which cameras
run (`cameras_from="config"`), because no API exists to change them and the user expects the
file they pass to be what runs.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any

from sqlalchemy import text

from atalaia.config import AtalaiaConfig, CameraConfig
from atalaia.demo import DEMO_URL, ensure_demo_video
from atalaia.events import topics
from atalaia.events.bus import EventBus
from atalaia.monitors.group import BasicMonitors
from atalaia.pipeline.camera_messages import AlertCommitted
from atalaia.redact import mask_secrets, mask_url
from atalaia.service import camera_store
from atalaia.service.board_alerts import BoardAlerts
from atalaia.service.processing import (
    AlertProcessing,
    CameraSource,
    ProcessingState,
    ProcessingUnavailable,
)
from atalaia.service.retention_loop import RetentionLoop
from atalaia.storage.db import Database

if TYPE_CHECKING:
    from atalaia.events.service import OutboxService
    from atalaia.pipeline.client_frames import ClientDetection
    from atalaia.pipeline.runner import Pipeline
    from atalaia.service.reconciler import CameraReconciler

__all__ = ["BackgroundManager", "CameraSource", "ProcessingState", "ProcessingUnavailable"]

log = logging.getLogger(__name__)


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
        self.startup_completed = False
        self.started_at: float | None = None
        self.startup_error: str | None = None
        # Camera status and system events for in-process subscribers (alerts go by the outbox).
        self.bus = EventBus()
        self.monitors: BasicMonitors | None = None
        # Committed alerts to the serial board's commands (None: no board configured).
        self.board_alerts: BoardAlerts | None = None
        self.retention = RetentionLoop(config)
        self.processing = AlertProcessing(
            config,
            self.database,
            log_queue,
            on_message=self._on_child_message,
            cameras_from=cameras_from,
            reconcile_interval=reconcile_interval,
        )
        self._loop: asyncio.AbstractEventLoop | None = None

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
        self.retention.start()
        if self.processing.available:
            await self.start_processing()

    async def shutdown(self) -> None:
        """Stop alert processing first (no alert arrives after it), then the service's own
        threads, joining each; then the event bus and the database pool."""
        await self.stop_processing()
        await asyncio.to_thread(self._stop_threads)
        await self.bus.stop()
        await asyncio.to_thread(self.database.dispose)
        log.info("background stopped")

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
        if self.monitors.serial.enabled:
            serial = self.monitors.serial
            self.board_alerts = BoardAlerts(self.database, serial, serial.config.queue_size)
            self.board_alerts.start()

    def _stop_threads(self) -> None:
        self.retention.stop()
        if self.board_alerts is not None:
            self.board_alerts.stop()
        if self.monitors is not None:
            self.monitors.stop(10.0)

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
        """Start camera and detector processes, the reconciler, deliveries and client
        detection; False if already running or a part failed (`processing_error`)."""
        return await self.processing.start()

    async def stop_processing(self) -> bool:
        """Stop alert processing; the monitors keep running. False if it was not running."""
        return await self.processing.stop()

    async def restart_processing(self) -> bool:
        return await self.processing.restart()

    def cluster_status(self) -> dict[str, Any] | None:
        """This node's view of its leases; None when the cluster is off or not running."""
        reconciler = self.reconciler
        if reconciler is None or reconciler.cluster is None:
            return None
        return reconciler.cluster.status()

    def cameras_changed(self) -> None:
        """Called by the API after a camera was created, changed or deleted."""
        reconciler = self.reconciler
        if reconciler is not None:
            reconciler.wake()
        if self.monitors is not None:
            self.monitors.camera.set_cameras(self._enabled_cameras())

    def deliveries_changed(self) -> None:
        """Called by the API after a dead delivery was put back in the queue."""
        outbox = self.outbox
        if outbox is not None:
            outbox.wake()

    def _on_child_message(self, child: str, message: object) -> None:
        """Messages from camera and detector processes other than heartbeats and logs (on the
        supervisor's thread: nothing here may block)."""
        if isinstance(message, AlertCommitted):
            self.processing.alert_committed()  # counted, and delivered now
            board_alerts = self.board_alerts
            if board_alerts is not None:
                board_alerts.offer(message.event_id)

    # ---- alert processing, as the API and the status read it -------------------------------

    @property
    def processing_state(self) -> str:
        """`stopped`, `starting`, `running`, `stopping` or `error` (a start failed)."""
        return self.processing.state.value

    @property
    def processing_error(self) -> str | None:
        return self.processing.error

    @property
    def total_alerts_processed(self) -> int:
        return self.processing.alerts_committed

    @property
    def pipeline(self) -> Pipeline | None:
        parts = self.processing.parts
        return parts.pipeline if parts is not None else None

    @property
    def reconciler(self) -> CameraReconciler | None:
        parts = self.processing.parts
        return parts.reconciler if parts is not None else None

    @property
    def outbox(self) -> OutboxService | None:
        parts = self.processing.parts
        return parts.outbox if parts is not None else None

    @property
    def client_detection(self) -> ClientDetection | None:
        """Socket.IO frames, detected by the cameras' detector process (None: not running)."""
        parts = self.processing.parts
        return parts.client_detection if parts is not None else None

    @property
    def last_cleanup(self) -> dict[str, Any] | None:
        return self.retention.last_cleanup

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
