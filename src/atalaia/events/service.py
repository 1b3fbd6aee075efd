"""The outbox side of the main process: every enabled sink's dispatcher, trimming, and the
operations the API needs (retry a dead delivery, list dead ones, count alerts, status).

`BackgroundManager` builds it with `OutboxService.from_config(config, database)`, awaits
`start()` after migrations, hands `wake` to the supervisor's message hook (camera processes
commit each alert, then send `("alert", event_id, camera_id)`), and awaits `stop()` at
shutdown. Pending deliveries need nothing special after a restart: they are still rows.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from atalaia.config.app import AtalaiaConfig
from atalaia.config.sinks import OutboxConfig
from atalaia.events.dispatcher import DispatchSettings, OutboxDispatcher
from atalaia.sinks.alert_counts import AlertCount, alert_counts
from atalaia.sinks.base import SinkContext
from atalaia.sinks.masking import secret_values
from atalaia.sinks.registry import build_sink
from atalaia.storage.db import Database
from atalaia.storage.models import Delivery, DeliveryStatus
from atalaia.storage.outbox import retry_dead, trim_delivered

log = logging.getLogger(__name__)


def enabled_sink_names(config: AtalaiaConfig) -> list[str]:
    """The sinks an alert event gets a delivery for (what `record_event` takes as `sinks`)."""
    return [config.sink_name(sink) for sink in config.sinks if sink.enabled]


def camera_labels(config: AtalaiaConfig) -> dict[str, list[str]]:
    """Each enabled camera's labels, from its rules (for discovery before the first alert)."""
    out: dict[str, list[str]] = {}
    for camera in config.cameras:
        if camera.enabled:
            labels = [label for rule in camera.rules for label in rule.labels]
            out[camera.id] = list(dict.fromkeys(labels))
    return out


@dataclass(frozen=True, slots=True)
class DeadDelivery:
    id: int
    sink: str
    camera: str
    event_id: str
    attempts: int
    last_error: str | None
    created_at: datetime


class OutboxService:
    """Owns one `OutboxDispatcher` per enabled sink plus the periodic trim of delivered rows."""

    def __init__(
        self,
        database: Database,
        dispatchers: Sequence[OutboxDispatcher],
        config: OutboxConfig | None = None,
    ) -> None:
        self.database = database
        self.config = config or OutboxConfig()
        self.dispatchers = {d.name: d for d in dispatchers}
        self._trim_task: asyncio.Task[None] | None = None
        self.trimmed = 0
        self.last_trim_at: float | None = None

    @classmethod
    def from_config(cls, config: AtalaiaConfig, database: Database) -> OutboxService:
        context = SinkContext(database, config.data_dir, camera_labels(config))
        claimer = config.cluster.node_id if config.cluster.enabled else None
        settings = DispatchSettings.from_config(config.outbox, claimer)
        dispatchers = []
        for sink_config in config.sinks:
            if not sink_config.enabled:
                continue
            name = config.sink_name(sink_config)
            sink = build_sink(sink_config, name, context)
            dispatchers.append(
                OutboxDispatcher(
                    database, sink, sink_config, settings, secrets=secret_values(sink_config)
                )
            )
        return cls(database, dispatchers, config.outbox)

    async def start(self) -> None:
        """Start every dispatcher (their sinks connect concurrently) and the trimmer."""
        await asyncio.gather(*(d.start() for d in self.dispatchers.values()))
        if self._trim_task is None:
            self._trim_task = asyncio.create_task(self._trim_loop(), name="outbox:trim")
        log.info(
            "outbox dispatching to %d sink(s): %s",
            len(self.dispatchers),
            ", ".join(self.dispatchers),
        )

    async def stop(self, timeout: float = 10.0) -> None:
        if self._trim_task is not None:
            self._trim_task.cancel()
            await asyncio.gather(self._trim_task, return_exceptions=True)
            self._trim_task = None
        await asyncio.gather(*(d.stop(timeout) for d in self.dispatchers.values()))

    def wake(self, *_: Any) -> None:
        """Dispatch newly committed alerts now; safe from any thread, arguments ignored (so it
        can be hooked to `("alert", event_id, camera_id)` messages as it is)."""
        for dispatcher in self.dispatchers.values():
            dispatcher.wake()

    # -- operations for the API ---------------------------------------------------------

    async def retry_dead(self, delivery_id: int) -> bool:
        """Put a dead delivery back in its sink's queue now; False if it is not dead."""

        def run() -> bool:
            with self.database.session() as session:
                return retry_dead(session, delivery_id)

        retried = await asyncio.to_thread(run)
        if retried:
            self.wake()
        return retried

    async def dead_deliveries(
        self, sink: str | None = None, limit: int = 100
    ) -> list[DeadDelivery]:
        """The oldest dead deliveries (of one sink, or all), for an operator to inspect."""

        def run() -> list[DeadDelivery]:
            query = select(Delivery).where(Delivery.status == DeliveryStatus.DEAD)
            if sink is not None:
                query = query.where(Delivery.sink == sink)
            with self.database.session() as session:
                rows = session.scalars(query.order_by(Delivery.event_seq).limit(limit)).all()
                return [
                    DeadDelivery(
                        r.id,
                        r.sink,
                        r.camera_id,
                        r.event_id,
                        r.attempts,
                        r.last_error,
                        r.created_at,
                    )
                    for r in rows
                ]

        return await asyncio.to_thread(run)

    async def alert_counts(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        camera: str | None = None,
    ) -> list[AlertCount]:
        """Alerts per camera, label and rule (total and still active), from the database."""

        def run() -> list[AlertCount]:
            with self.database.session() as session:
                return alert_counts(session, since=since, until=until, camera=camera)

        return await asyncio.to_thread(run)

    async def trim(self) -> int:
        """Delete delivered rows older than `trim_after`; returns how many went."""

        def run() -> int:
            with self.database.session() as session:
                return trim_delivered(session, timedelta(seconds=self.config.trim_after))

        removed = await asyncio.to_thread(run)
        self.trimmed += removed
        self.last_trim_at = time.time()
        return removed

    async def _trim_loop(self) -> None:
        while True:
            try:
                removed = await self.trim()
                if removed:
                    log.info("outbox: trimmed %d delivered row(s)", removed)
            except Exception as exc:
                log.warning("outbox: trim failed: %s", type(exc).__name__)
            await asyncio.sleep(self.config.trim_interval)

    # -- status -------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """Per sink: state, counts, last error (masked), latency p50/p99, sink health."""
        return {name: d.status() for name, d in self.dispatchers.items()}

    def handlers_status(self) -> dict[str, str]:
        """Note 002's `handlers_status`: `active`, `failing` or `stopped` per sink."""
        out: dict[str, str] = {}
        for name, d in self.dispatchers.items():
            out[name] = (
                "stopped" if d.state != "running" else ("active" if d.healthy else "failing")
            )
        return out
