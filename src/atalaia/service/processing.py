"""AlertProcessing: the part of the service that turns frames into delivered alerts.

Four parts run together or not at all: the camera and detector processes (`Pipeline`), the
reconciler that keeps the cameras in line with the database (none when the configuration file
says which cameras run), the outbox that delivers committed alerts to the sinks, and the
detection of frames sent by browsers (`ClientDetection`, through the detector processes). The
API stops, starts and restarts them while the monitors keep running (design note 002).

One object owns them, and its state is an explicit `ProcessingState`:

    STOPPED --start--> STARTING --all parts run--> RUNNING --stop--> STOPPING --> STOPPED
                       STARTING --a part failed--> FAILED  --start--> STARTING

`TRANSITIONS` lists exactly these moves and `_move` refuses any other, so a new operation that
forgets a state fails loudly instead of leaving processing half on. The state changes only
under one asyncio lock, on the event loop, so start, stop and restart never overlap.

The running parts are one frozen `ProcessingParts`, published once all four run and taken
away as a stop begins: a reader on any thread (a status request, the realtime handler, the
supervisor thread waking the outbox) sees all of them or none. A start that fails stops what
it had already started (processes, threads, the outbox's tasks) before it reports FAILED, so a
failed start leaves nothing running and the next start begins from nothing.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Literal

from atalaia.config import AtalaiaConfig
from atalaia.events.service import OutboxService
from atalaia.pipeline.client_frames import ClientDetection
from atalaia.pipeline.runner import Pipeline
from atalaia.redact import mask_secrets
from atalaia.service.reconciler import CameraReconciler
from atalaia.storage.db import Database

if TYPE_CHECKING:
    from atalaia.cluster import ClusterCoordinator

log = logging.getLogger(__name__)

# Where the cameras to run come from: the database (the service; the YAML seeds it once) or the
# configuration file itself, every start (`atalaia supervisor`).
CameraSource = Literal["database", "config"]
ChildMessageHandler = Callable[[str, object], None]
OUTBOX_STOP_S = 10.0


class ProcessingUnavailable(RuntimeError):
    """Alert processing cannot run in this process (it was built without a log writer)."""


class ProcessingState(StrEnum):
    """Where alert processing stands; the values are what `/background/status` shows."""

    STOPPED = "stopped"
    STARTING = "starting"
    RUNNING = "running"
    STOPPING = "stopping"
    # A start failed and what it had started was stopped again; `error` says why. Shown as
    # "error", the word design note 002's status document uses.
    FAILED = "error"


TRANSITIONS: dict[ProcessingState, frozenset[ProcessingState]] = {
    ProcessingState.STOPPED: frozenset({ProcessingState.STARTING}),
    ProcessingState.FAILED: frozenset({ProcessingState.STARTING}),
    ProcessingState.STARTING: frozenset({ProcessingState.RUNNING, ProcessingState.FAILED}),
    ProcessingState.RUNNING: frozenset({ProcessingState.STOPPING}),
    ProcessingState.STOPPING: frozenset({ProcessingState.STOPPED}),
}


class InvalidTransition(RuntimeError):
    """A move `TRANSITIONS` does not allow: a bug in the caller, never a runtime condition."""


@dataclass(frozen=True)
class ProcessingParts:
    """What runs while processing is RUNNING, started together and stopped together."""

    pipeline: Pipeline
    outbox: OutboxService
    # None when `realtime.detector` names no configured detector (logged at start).
    client_detection: ClientDetection | None
    reconciler: CameraReconciler | None  # None: the configuration file's cameras, as written


class AlertProcessing:
    """Starts, stops and owns the four parts; see the module docstring."""

    def __init__(
        self,
        config: AtalaiaConfig,
        database: Database,
        log_queue: Any,
        on_message: ChildMessageHandler,
        cameras_from: CameraSource = "database",
        reconcile_interval: float = 3.0,
    ) -> None:
        self.config = config
        self.database = database
        self.log_queue = log_queue
        self.on_message = on_message
        self.cameras_from = cameras_from
        self.reconcile_interval = reconcile_interval
        self.error: str | None = None  # why the last start failed (secrets masked)
        self._state = ProcessingState.STOPPED
        self._parts: ProcessingParts | None = None
        self._control = asyncio.Lock()  # one start, stop or restart at a time
        # Alerts committed by the cameras since the service started; counted on the
        # supervisor's thread, read by status requests.
        self._committed = 0
        self._committed_lock = threading.Lock()

    @property
    def state(self) -> ProcessingState:
        return self._state

    @property
    def parts(self) -> ProcessingParts | None:
        """The running parts; None unless RUNNING."""
        return self._parts

    @property
    def available(self) -> bool:
        """False when this process has no log writer to give the child processes."""
        return self.log_queue is not None

    @property
    def alerts_committed(self) -> int:
        return self._committed

    def alert_committed(self) -> None:
        """A camera committed an alert (any thread): count it and deliver it now."""
        with self._committed_lock:
            self._committed += 1
        parts = self._parts
        if parts is not None:
            parts.outbox.wake()

    def _move(self, to: ProcessingState) -> None:
        if to not in TRANSITIONS[self._state]:
            raise InvalidTransition(f"alert processing: {self._state.name} -> {to.name}")
        log.debug("alert processing: %s -> %s", self._state.name, to.name)
        self._state = to

    # ---- control (event loop) --------------------------------------------------------------

    async def start(self) -> bool:
        """From STOPPED or FAILED, start every part: True when RUNNING after it; False when it
        was running already or a part failed (state FAILED, `error` says why). Raises
        ProcessingUnavailable without a log writer."""
        async with self._control:
            return await self._start()

    async def stop(self) -> bool:
        """From RUNNING, stop every part (STOPPING, then STOPPED); False when none ran."""
        async with self._control:
            return await self._stop()

    async def restart(self) -> bool:
        """Stop (if running), then start, with no other start or stop in between; the result
        is the start's."""
        async with self._control:
            await self._stop()
            return await self._start()

    async def _start(self) -> bool:
        if self._state is ProcessingState.RUNNING:
            return False
        if not self.available:
            raise ProcessingUnavailable(
                "alert processing is not available: this service instance has no log writer"
            )
        self._move(ProcessingState.STARTING)
        self.error = None
        outbox: OutboxService | None = None
        try:
            outbox = OutboxService.from_config(self.config, self.database)
            await outbox.start()
            parts = await asyncio.to_thread(self._start_children, outbox)
        except Exception as exc:
            self.error = mask_secrets(f"{type(exc).__name__}: {exc}")
            log.exception("alert processing failed to start")
            if outbox is not None:
                await _stop_outbox(outbox)
            self._move(ProcessingState.FAILED)
            return False
        self._parts = parts
        self._move(ProcessingState.RUNNING)
        return True

    async def _stop(self) -> bool:
        parts = self._parts
        if parts is None:
            return False
        self._move(ProcessingState.STOPPING)
        self._parts = None
        await asyncio.to_thread(
            _stop_children, parts.client_detection, parts.reconciler, parts.pipeline
        )
        log.info("alert processing stopped")
        await _stop_outbox(parts.outbox)
        self._move(ProcessingState.STOPPED)
        return True

    # ---- the children (a worker thread) ----------------------------------------------------

    def _start_children(self, outbox: OutboxService) -> ProcessingParts:
        """Detector and camera processes, the reconciler, client detection; on a failure,
        whatever of them started is stopped again before the error goes on."""
        pipeline = Pipeline(self.config, self.log_queue, on_message=self.on_message)
        reconciler: CameraReconciler | None = None
        client_detection: ClientDetection | None = None
        try:
            if self.cameras_from == "config":
                if self.config.cluster.enabled:
                    log.warning(
                        "cluster.enabled is ignored here: this runs the file's cameras as "
                        "written, without leases; use `atalaia run` for a cluster node"
                    )
                pipeline.start()  # the file's cameras, as they are; nothing to reconcile with
            else:
                pipeline.start(with_cameras=False)
                cluster = self._cluster_coordinator()
                interval = cluster.config.renew_interval_s if cluster else self.reconcile_interval
                reconciler = CameraReconciler(self.database, pipeline, interval, cluster=cluster)
                reconciler.reconcile()
                reconciler.start()
            client_detection = ClientDetection.for_pipeline(pipeline)
        except BaseException:
            _stop_children(client_detection, reconciler, pipeline)
            raise
        log.info("alert processing running: %d camera(s)", len(pipeline.cameras))
        return ProcessingParts(pipeline, outbox, client_detection, reconciler)

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


def _stop_children(
    client_detection: ClientDetection | None,
    reconciler: CameraReconciler | None,
    pipeline: Pipeline,
) -> None:
    """Stop in order, each step even when an earlier one failed: a part left running would
    hold processes, threads or shared memory with nothing left to stop it."""
    if client_detection is not None:
        _attempt("closing client detection", client_detection.close)
    if reconciler is not None:
        _attempt("stopping the reconciler", reconciler.stop)
        cluster = reconciler.cluster
        if cluster is not None:
            # Cameras first, then their leases at once: other nodes need not wait them out.
            _attempt("stopping the cameras", reconciler.stop_all_cameras)
            _attempt("stopping lease renewal", cluster.close)
            _attempt("leaving the cluster", cluster.leave)
    _attempt("stopping the pipeline", pipeline.stop)


def _attempt(what: str, step: Callable[[], object]) -> None:
    try:
        step()
    except Exception:
        log.exception("alert processing: %s failed", what)


async def _stop_outbox(outbox: OutboxService) -> None:
    try:
        await outbox.stop(timeout=OUTBOX_STOP_S)
    except Exception:
        log.exception("alert processing: stopping the outbox failed")
