"""One sink's delivery loop over the durable outbox.

The loop claims the sink's due deliveries (at most one per camera at a time, oldest first, so
each camera's events reach the sink in order), hands each event to the sink with a deadline,
and records the outcome: delivered, or failed with capped exponential backoff from the sink's
settings, and dead after `max_attempts` (kept, visible, retryable by hand). Deliveries to
different cameras run concurrently. Every database call runs in a worker thread, so the event
loop (the API, the other sinks) never waits on the database.

Work is found two ways: `wake()` (a new alert was committed, cheap, callable from any thread)
and a poll every `poll_interval` (retries coming due, leftovers of a restart, other nodes).
A claim is a lease: if this process dies mid-delivery, the rows become due again when the lease
runs out and are sent again (at least once; events keep their ids so consumers can drop the
repeat). Each sink has its own dispatcher, so a sink that is down or hangs holds up only its
own deliveries.

While deliveries wait out a backoff, a `RecoveryProbe` checks the sink's destination every
`probe_interval` seconds and makes them due at once when it answers again, so a sink drains
within seconds of its broker's return rather than at its next scheduled retry.

Everything a dispatcher runs (its loop, the sink's start, deliveries, probes and close, the
client library's tasks and worker threads started from them) logs under the tag
`sink:<name>` (`atalaia.logs.context_tag`), not the main process's `SUPERVISOR`.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import dataclasses
import logging
import threading
import time
from collections.abc import Coroutine
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Any, TypeVar

from sqlalchemy import func, select, update

from atalaia.config.sinks import OutboxConfig, SinkBase
from atalaia.events.recovery import DEFAULT_PROBE_INTERVAL, RecoveryProbe
from atalaia.events.stats import DeliveryStats
from atalaia.events.types import AlertEvent
from atalaia.logs.context_tag import tagged_context
from atalaia.redact import mask_secrets
from atalaia.sinks.base import PermanentDeliveryError, Sink
from atalaia.sinks.masking import describe_error
from atalaia.sinks.probe import can_probe, probe_sink
from atalaia.storage.db import Database
from atalaia.storage.models import Delivery, DeliveryStatus
from atalaia.storage.outbox import (
    RetryPolicy,
    backed_off_count,
    due_deliveries,
    make_backed_off_due,
    mark_failed,
)
from atalaia.storage.types import utcnow

log = logging.getLogger(__name__)

T = TypeVar("T")

# A delivery may take several network calls (MQTT: event, count, snapshot), each bounded by the
# sink's `timeout`; the whole of it is bounded by this many timeouts.
CALLS_PER_DELIVERY = 3


class DispatcherState(StrEnum):
    """Whether the delivery loop runs; the value is what status pages show."""

    STOPPED = "stopped"
    RUNNING = "running"


@dataclass(frozen=True, slots=True)
class DispatchSettings:
    """The outbox settings a dispatcher needs (see `OutboxConfig`)."""

    poll_interval: float = 1.0
    batch_size: int = 100
    lease: float = 60.0
    stats_interval: float = 5.0
    probe_interval: float = DEFAULT_PROBE_INTERVAL
    # The cluster node id written on claimed rows (None outside a cluster): when this node
    # dies the others make its claims due at once (`atalaia.cluster.leases`).
    claimer: str | None = None

    @classmethod
    def from_config(cls, config: OutboxConfig, claimer: str | None = None) -> DispatchSettings:
        return cls(
            claimer=claimer,
            poll_interval=config.poll_interval,
            batch_size=config.batch_size,
            lease=config.lease,
            stats_interval=config.stats_interval,
            probe_interval=config.probe_interval,
        )


def retry_policy(config: SinkBase) -> RetryPolicy:
    """The sink's backoff: `backoff_initial` doubling up to `backoff_max`, dead after
    `max_attempts` failed attempts."""
    return RetryPolicy(
        first_delay=timedelta(seconds=config.backoff_initial),
        factor=2.0,
        max_delay=timedelta(seconds=max(config.backoff_max, config.backoff_initial)),
        max_attempts=config.max_attempts,
    )


@dataclass(frozen=True, slots=True)
class Claimed:
    """A claimed delivery with its event, or the reason its event cannot be read."""

    delivery_id: int
    event: AlertEvent | None
    problem: str | None = None


@dataclass(frozen=True, slots=True)
class Outcome:
    delivery_id: int
    ok: bool
    latency_s: float = 0.0
    error: str | None = None
    permanent: bool = False


def event_of(delivery: Delivery) -> Claimed:
    """The `AlertEvent` a claimed delivery carries.

    The id sinks see is the one in the payload (the producer's), or the row's when the payload
    has none; `created_at` falls back to the row's, so latency is measured from the commit.
    """
    row = delivery.event
    try:
        event = AlertEvent.from_payload(dict(row.payload))
    except (KeyError, TypeError, ValueError) as exc:
        problem = f"unreadable event payload ({type(exc).__name__}: {exc})"
        return Claimed(delivery.id, None, problem)
    if not event.id:
        event = dataclasses.replace(event, id=row.id)
    if not event.created_at:
        event = dataclasses.replace(event, created_at=row.created_at.timestamp())
    return Claimed(delivery.id, event)


class OutboxDispatcher:
    """Delivers one sink's outbox rows; `start()`, `wake()`, `stop()`, `status()`."""

    def __init__(
        self,
        database: Database,
        sink: Sink,
        config: SinkBase,
        settings: DispatchSettings | None = None,
        *,
        secrets: list[str] | None = None,
    ) -> None:
        self.database = database
        self.sink = sink
        self.config = config
        self.name = sink.name
        self.log_tag = f"sink:{self.name}"
        self.type = getattr(config, "type", type(sink).__name__)
        self.settings = settings or DispatchSettings()
        self.policy = retry_policy(config)
        self.deliver_timeout = config.timeout * CALLS_PER_DELIVERY
        # A lease shorter than a delivery could hand the same row to a second claimer while
        # the first is still sending it.
        self.lease = timedelta(seconds=max(self.settings.lease, 2 * self.deliver_timeout))
        self.stats = DeliveryStats()
        self._secrets = secrets or []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._failing = False
        self._counts_at = 0.0
        self._in_flight: set[int] = set()
        self._context: contextvars.Context | None = None
        self._probe_task: asyncio.Task[None] | None = None
        self.recovery: RecoveryProbe | None = None
        if can_probe(sink, config):
            self.recovery = RecoveryProbe(
                self.name,
                probe=lambda: probe_sink(self.sink, self.config),
                count_backed_off=self._count_backed_off,
                make_due=self._make_backed_off_due,
                wake=self.wake,
                describe=lambda exc: describe_error(exc, self._secrets),
                interval=self.settings.probe_interval,
                timeout=self.deliver_timeout,
            )
        self.state = DispatcherState.STOPPED

    # -- lifecycle ----------------------------------------------------------------------

    async def start(self) -> None:
        """Start the sink (bounded by its timeout; a sink that cannot connect yet still
        starts, and reports through its deliveries) and the delivery loop."""
        if self._task is not None:
            return
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self._wake = asyncio.Event()
        self._stopping = False
        self._context = tagged_context(self.log_tag)
        try:
            await asyncio.wait_for(self._tagged(self.sink.start()), self.deliver_timeout)
        except Exception as exc:
            self._note_error(f"start: {describe_error(exc, self._secrets)}")
        self.state = DispatcherState.RUNNING
        self._task = self._tagged(self._run(), name=f"outbox:{self.name}")
        if self.recovery is not None:
            self._probe_task = self._tagged(self.recovery.run(), name=f"outbox-probe:{self.name}")

    def _tagged(self, coro: Coroutine[Any, Any, T], name: str | None = None) -> asyncio.Task[T]:
        """A task that logs under this sink's tag, as do the tasks and threads it starts."""
        return asyncio.create_task(coro, name=name, context=self._context)

    async def stop(self, timeout: float = 10.0) -> None:
        """Finish the deliveries in flight (up to `timeout`), stop, and close the sink.

        Deliveries cut short by the timeout are released for the next claimer at once rather
        than left to wait out their lease.
        """
        task, self._task = self._task, None
        self._stopping = True
        self.wake()
        probe_task, self._probe_task = self._probe_task, None
        if probe_task is not None:
            probe_task.cancel()
            await asyncio.gather(probe_task, return_exceptions=True)
        if task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(task), timeout)
            except TimeoutError:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        if self._in_flight:
            ids, self._in_flight = list(self._in_flight), set()
            try:
                await asyncio.to_thread(self._release, ids)
            except Exception:
                log.exception(
                    "sink %s: could not release %d claim(s)",
                    self.name,
                    len(ids),
                    extra={"camera_id": self.log_tag},
                )
        try:
            await asyncio.wait_for(self._tagged(self.sink.close()), self.deliver_timeout)
        except Exception as exc:
            log.warning(
                "sink %s: close failed: %s",
                self.name,
                describe_error(exc, self._secrets),
                extra={"camera_id": self.log_tag},
            )
        self.state = DispatcherState.STOPPED

    def wake(self) -> None:
        """Look for due deliveries now. Cheap and safe from any thread (the supervisor's
        message hook calls it for every committed alert)."""
        loop, wake = self._loop, self._wake
        if loop is None or wake is None or loop.is_closed():
            return
        if threading.get_ident() == self._loop_thread:
            wake.set()
        else:
            loop.call_soon_threadsafe(wake.set)

    # -- the loop -----------------------------------------------------------------------

    async def _run(self) -> None:
        assert self._wake is not None
        while not self._stopping:
            self._wake.clear()
            try:
                worked = await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                # The database itself failed (down, locked too long): wait and try again.
                worked = 0
                self._note_error(f"outbox: {describe_error(exc, self._secrets)}")
                log.warning("sink %s: outbox query failed: %s", self.name, self.stats.last_error)
            await self._maybe_refresh_counts()
            if worked or self._stopping:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.settings.poll_interval)

    async def run_once(self) -> int:
        """Claim one batch, deliver it, record the outcomes; returns how many were claimed."""
        claimed = await asyncio.to_thread(self._claim)
        if not claimed:
            return 0
        self._in_flight.update(c.delivery_id for c in claimed)
        outcomes = await asyncio.gather(*(self._attempt(c) for c in claimed))
        dead = await asyncio.to_thread(self._record, outcomes)
        self._in_flight.difference_update(o.delivery_id for o in outcomes)
        now = time.time()
        for outcome in outcomes:
            if outcome.ok:
                self.stats.record_delivered(outcome.latency_s, now)
            else:
                is_dead = outcome.delivery_id in dead
                self.stats.record_failed(outcome.error or "", dead=is_dead, now=now)
                if not is_dead and self.recovery is not None:
                    self.recovery.backed_off()
                if is_dead:
                    log.error(
                        "sink %s: delivery %d is dead: %s",
                        self.name,
                        outcome.delivery_id,
                        outcome.error,
                    )
        self._log_transition(outcomes)
        return len(claimed)

    async def _attempt(self, claimed: Claimed) -> Outcome:
        if claimed.event is None:
            return Outcome(claimed.delivery_id, False, error=claimed.problem, permanent=True)
        event = claimed.event
        try:
            await asyncio.wait_for(self.sink.deliver(event), self.deliver_timeout)
        except TimeoutError:
            error = f"no acknowledgement within {self.deliver_timeout:g}s"
            return Outcome(claimed.delivery_id, False, error=error)
        except PermanentDeliveryError as exc:
            error = describe_error(exc, self._secrets)
            return Outcome(claimed.delivery_id, False, error=error, permanent=True)
        except Exception as exc:
            return Outcome(claimed.delivery_id, False, error=describe_error(exc, self._secrets))
        return Outcome(claimed.delivery_id, True, latency_s=time.time() - event.created_at)

    # -- database work (worker threads) -------------------------------------------------

    def _claim(self) -> list[Claimed]:
        with self.database.session() as session:
            rows = due_deliveries(
                session,
                self.name,
                utcnow(),
                self.settings.batch_size,
                lease=self.lease,
                claimer=self.settings.claimer,
            )
            return [event_of(row) for row in rows]

    def _record(self, outcomes: list[Outcome]) -> set[int]:
        """Write every outcome in one transaction; returns the ids that went dead."""
        dead: set[int] = set()
        now = utcnow()
        delivered = [o.delivery_id for o in outcomes if o.ok]
        with self.database.session() as session:
            if delivered:
                # `mark_delivered` for the whole batch in one statement: a row marked dead
                # meanwhile becomes delivered too, and an earlier acknowledgement keeps its time.
                session.execute(
                    update(Delivery)
                    .where(
                        Delivery.id.in_(delivered),
                        Delivery.status != DeliveryStatus.DELIVERED,
                    )
                    .values(status=DeliveryStatus.DELIVERED, delivered_at=now, claimed_by=None)
                    .execution_options(synchronize_session=False)
                )
            for outcome in outcomes:
                if outcome.ok:
                    continue
                row = mark_failed(
                    session,
                    outcome.delivery_id,
                    outcome.error or "failed",
                    now=now,
                    policy=self.policy,
                    permanent=outcome.permanent,
                )
                if row is not None and row.status is DeliveryStatus.DEAD:
                    dead.add(outcome.delivery_id)
        return dead

    def _release(self, delivery_ids: list[int]) -> None:
        with self.database.session() as session:
            session.execute(
                update(Delivery)
                .where(Delivery.id.in_(delivery_ids), Delivery.status == DeliveryStatus.PENDING)
                .values(next_attempt_at=utcnow(), claimed_by=None)
                .execution_options(synchronize_session=False)
            )

    def _in_flight_snapshot(self) -> list[int]:
        return list(self._in_flight)

    async def _count_backed_off(self) -> int:
        exclude = self._in_flight_snapshot()

        def run() -> int:
            with self.database.session() as session:
                return backed_off_count(session, self.name, exclude=exclude)

        return await asyncio.to_thread(run)

    async def _make_backed_off_due(self) -> int:
        exclude = self._in_flight_snapshot()

        def run() -> int:
            with self.database.session() as session:
                return make_backed_off_due(session, self.name, exclude=exclude)

        return await asyncio.to_thread(run)

    def _counts(self) -> dict[str, int]:
        query = (
            select(Delivery.status, func.count())
            .where(
                Delivery.sink == self.name,
                Delivery.status.in_([DeliveryStatus.PENDING, DeliveryStatus.DEAD]),
            )
            .group_by(Delivery.status)
        )
        with self.database.engine.connect() as connection:
            return {str(status): int(n) for status, n in connection.execute(query).all()}

    async def refresh_counts(self) -> None:
        """Read how many deliveries are pending and dead for this sink now."""
        counts = await asyncio.to_thread(self._counts)
        self.stats.pending = counts.get(DeliveryStatus.PENDING.value, 0)
        self.stats.dead = counts.get(DeliveryStatus.DEAD.value, 0)
        self._counts_at = time.monotonic()

    async def _maybe_refresh_counts(self) -> None:
        if time.monotonic() - self._counts_at < self.settings.stats_interval:
            return
        try:
            await self.refresh_counts()
        except Exception as exc:
            self._note_error(f"counts: {describe_error(exc, self._secrets)}")

    # -- reporting ----------------------------------------------------------------------

    def _note_error(self, error: str) -> None:
        self.stats.last_error = mask_secrets(error, self._secrets)
        self.stats.last_error_at = time.time()

    def _log_transition(self, outcomes: list[Outcome]) -> None:
        """Log when the sink starts failing and when it recovers, not every failed attempt
        (an outage would otherwise log once per event per retry)."""
        failed = [o for o in outcomes if not o.ok]
        if failed and not self._failing:
            self._failing = True
            log.warning("sink %s is failing: %s", self.name, failed[0].error)
        elif not failed and self._failing:
            self._failing = False
            log.info("sink %s delivers again", self.name)

    @property
    def healthy(self) -> bool:
        return self.state is DispatcherState.RUNNING and not self._failing

    def status(self) -> dict[str, Any]:
        """Secret-free state for `/background/status` and metrics."""
        try:
            health = self.sink.health()
        except Exception as exc:
            health = {"error": describe_error(exc, self._secrets)}
        return {
            "type": self.type,
            "state": self.state.value,
            "healthy": self.healthy,
            "in_flight": len(self._in_flight),
            **self.stats.as_dict(),
            "recovery": None if self.recovery is None else self.recovery.status(),
            "sink": health,
        }
