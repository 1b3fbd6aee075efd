"""AlertRecorder: every alert event is committed to the outbox before anything else sees it.

Rules run on the detection thread, which must never wait for a database. So events go into
a bounded in-memory queue and one writer thread, per camera process:

1. writes the snapshot that comes with an event (JPEG, atomic rename), so the file exists
   before any sink hears of the alert;
2. commits a batch of events with `events.recorder.record_alert_event` (the alert row, the
   event, one pending delivery per sink, via `storage.outbox.record_event`) in one transaction;
3. only then calls `on_committed` for each (the camera tells the supervisor, whose
   dispatchers wake up).

If the database is down (connection refused, locked, cut), the batch goes back to the head
of the queue and is retried with capped backoff, in order; events keep queueing meanwhile.
With a spool (the camera process always has one) the queue is moved to disk while the
database is down, so a killed process loses nothing; see `_run`. The in-memory queue is
bounded (`max_pending`): when full, the oldest `update` events go first (a later update or the
end carries the same alert forward), then the oldest events, every drop counted in the stats
and logged at ERROR. What is still unwritten when the camera stops goes to the spool too and
is written first by the camera's next recorder; only what cannot even be put on disk counts as
`lost_at_shutdown`. A retry after a commit whose acknowledgement was lost may record an event
twice; its payload keeps the event's stable id, so sinks drop the duplicate.

Snapshot frames are the only large items; at most `max_snapshot_frames` wait at once (the
thread writes them even while the database is down), beyond that a snapshot is skipped and
counted.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import inspect, select
from sqlalchemy.exc import (
    DBAPIError,
    DisconnectionError,
    InterfaceError,
    OperationalError,
    SQLAlchemyError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeout

from atalaia.cluster.fencing import Fence, LeaseLost, check_fence
from atalaia.events.recorder import record_alert_event
from atalaia.events.types import AlertEvent
from atalaia.media.jpeg import MediaError, encode_jpeg, write_atomic
from atalaia.media.overlay import draw_alert
from atalaia.pipeline.alert_spool import AlertSpool
from atalaia.storage import Database, StorageError
from atalaia.storage.models import AlertEvent as AlertEventRow

log = logging.getLogger(__name__)

LOUD_EVERY_S = 5.0


@dataclass(slots=True)
class SnapshotJob:
    """A frame to save as the alert's snapshot (the box is x, y, w, h)."""

    frame: NDArray[np.uint8]
    box: tuple[float, float, float, float]
    caption: str
    path: Path


@dataclass(slots=True)
class _Pending:
    event: AlertEvent
    snapshot: SnapshotJob | None = None
    from_spool: bool = False  # may already be stored (a commit whose ack was lost)


@dataclass
class RecorderStats:
    committed: int = 0
    dropped: int = 0
    dropped_updates: int = 0
    rejected: int = 0
    db_errors: int = 0
    snapshots_written: int = 0
    snapshots_failed: int = 0
    snapshots_skipped: int = 0
    lost_at_shutdown: int = 0
    fenced: int = 0  # refused: the camera's cluster lease moved to another node
    spooled: int = 0
    replayed: int = 0
    last_error: str | None = None
    down_since: float | None = field(default=None)


def _transient(exc: BaseException) -> bool:
    """Errors a later retry can fix: the database is down, unreachable, locked or restarting."""
    if isinstance(exc, OperationalError | InterfaceError | DisconnectionError | PoolTimeout):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, StorageError)  # from the schema check, itself a failed connection


class AlertRecorder:
    def __init__(
        self,
        database: Database | str,
        sinks: Iterable[str],
        on_committed: Callable[[AlertEvent], None] | None = None,
        *,
        max_pending: int = 10_000,
        max_snapshot_frames: int = 16,
        snapshot_quality: int = 85,
        batch_size: int = 64,
        retry_initial: float = 0.5,
        retry_max: float = 10.0,
        spool: AlertSpool | None = None,
        fence: Fence | None = None,
    ) -> None:
        self._database = database
        self.fence = fence
        self.spool = spool
        self.sinks = list(dict.fromkeys(sinks))
        self.on_committed = on_committed
        self.max_pending = max_pending
        self.max_snapshot_frames = max_snapshot_frames
        self.snapshot_quality = snapshot_quality
        self.batch_size = batch_size
        self.retry_initial = retry_initial
        self.retry_max = retry_max
        self.stats_ = RecorderStats()
        self._queue: deque[_Pending] = deque()
        self._in_flight = 0
        self._batch: list[_Pending] = []
        self._backlog = 0  # events in the spool file, not yet in the database
        self._spilling = False
        self._spool_lock = threading.Lock()
        self._frames_held = 0
        self._cond = threading.Condition()
        self._closing = False
        self._give_up = threading.Event()
        self._schema_ready = False
        self._last_loud = 0.0
        self._thread = threading.Thread(target=self._run, name="alert-recorder", daemon=True)

    # ---- the detection thread's side: never blocks ---------------------------------------

    def start(self) -> AlertRecorder:
        self._thread.start()
        return self

    def submit(self, event: AlertEvent, snapshot: SnapshotJob | None = None) -> None:
        """Queue an event (and its snapshot) for writing; returns at once."""
        with self._cond:
            if snapshot is not None and self._frames_held >= self.max_snapshot_frames:
                self.stats_.snapshots_skipped += 1
                snapshot = None
            if snapshot is not None:
                self._frames_held += 1
            self._queue.append(_Pending(event, snapshot))
            self._trim()
            self._cond.notify()

    def _trim(self) -> None:
        """Drop beyond `max_pending` (lock held): oldest updates first, then oldest events."""
        dropped = 0
        while len(self._queue) > self.max_pending:
            victim = next((p for p in self._queue if p.event.type == "update"), None)
            if victim is not None:
                self._queue.remove(victim)
                self.stats_.dropped_updates += 1
            else:
                victim = self._queue.popleft()
                self.stats_.dropped += 1
            if victim.snapshot is not None:
                self._frames_held -= 1
            dropped += 1
        if dropped and time.monotonic() - self._last_loud >= LOUD_EVERY_S:
            self._last_loud = time.monotonic()
            log.error(
                "alert events DROPPED: the database has not taken them (%s); dropped so far: "
                "%d events and %d updates; %d waiting",
                self.stats_.last_error or "writer behind",
                self.stats_.dropped,
                self.stats_.dropped_updates,
                len(self._queue),
            )

    def stats(self) -> dict[str, Any]:
        with self._cond:
            s = self.stats_
            return {
                "committed": s.committed,
                "pending": len(self._queue) + self._in_flight + self._backlog,
                "dropped": s.dropped,
                "dropped_updates": s.dropped_updates,
                "rejected": s.rejected,
                "db_errors": s.db_errors,
                "db_down_s": round(time.monotonic() - s.down_since, 1) if s.down_since else 0.0,
                "last_error": s.last_error,
                "snapshots_written": s.snapshots_written,
                "snapshots_failed": s.snapshots_failed,
                "snapshots_skipped": s.snapshots_skipped,
                "lost_at_shutdown": s.lost_at_shutdown,
                "fenced": s.fenced,
                "spooled": s.spooled,
                "replayed": s.replayed,
            }

    def close(self, timeout: float = 5.0) -> None:
        """Write what is queued, for at most `timeout` seconds; keep the rest in the spool and
        count what cannot even be kept."""
        with self._cond:
            self._closing = True
            self._cond.notify()
        if self._thread.is_alive():
            self._thread.join(timeout)
        if self._thread.is_alive():
            self._give_up.set()
            with self._cond:
                self._cond.notify()
            self._thread.join(2.0)
        with self._cond:
            # A writer still stuck in a commit may yet finish it: its batch is kept as well,
            # and the next recorder skips what did get stored.
            stuck = list(self._batch) if self._thread.is_alive() else []
            left = [p.event for p in stuck] + [p.event for p in self._queue]
            self._queue.clear()
        lost = self._keep(left)
        with self._cond:
            self.stats_.lost_at_shutdown += lost
        if lost:
            log.error("%d alert events could not be written before the camera stopped", lost)
        if isinstance(self._database, Database):
            self._database.dispose()

    def _to_spool(self, events: list[AlertEvent]) -> int | None:
        """Append `events` to the spool; how many it refused (unserialisable), or None when
        the disk refused them all (logged)."""
        assert self.spool is not None
        try:
            with self._spool_lock:
                refused = len(self.spool.save(events))
        except OSError as exc:
            log.error("cannot keep alert events in %s: %s", self.spool.path, exc)
            return None
        with self._cond:
            self.stats_.spooled += len(events) - refused
        return refused

    def _keep(self, events: list[AlertEvent]) -> int:
        """At close: put the unwritten events in the spool; return how many could not be kept."""
        if not events:
            return 0
        if self.spool is None:
            return len(events)
        refused = self._to_spool(events)
        if refused is None:
            return len(events)
        kept = len(events) - refused
        if kept:
            log.warning(
                "%d alert events not yet in the database are kept in %s; the camera's next "
                "start writes them",
                kept,
                self.spool.path,
            )
        return refused

    # ---- the writer thread -------------------------------------------------------------------

    @property
    def database(self) -> Database:
        if isinstance(self._database, str):
            self._database = Database(self._database)
        return self._database

    def _run(self) -> None:
        """Memory first; while the database is down, the spool.

        With a spool, a failed write moves every queued event to the file (snapshots written
        first), and so does every event submitted while the database stays down: a camera
        process killed meanwhile loses nothing that reached this thread. The file is written
        back, oldest first, before anything queued after it; only then does the queue go on.
        """
        backlog = self._spool_waiting() > 0  # a previous run's events come before any new one
        delay = self.retry_initial
        while True:
            if backlog:
                error, retried = self._write_backlog()
                if error is None:
                    backlog = False
            else:
                with self._cond:
                    while not self._queue and not self._closing:
                        self._cond.wait()
                    if not self._queue:
                        return
                    take = min(self.batch_size, len(self._queue))
                    batch = [self._queue.popleft() for _ in range(take)]
                    self._in_flight = len(batch)
                    self._batch = batch
                self._write_snapshots(batch)
                written, left, error = self._write(batch)
                with self._cond:
                    self.stats_.committed += len(written)
                    self._queue.extendleft(reversed(left))  # retried first, in order
                    self._in_flight = 0
                    self._batch = []
                    self._trim()
                for event in written:
                    self._announce(event)
                retried = len(left)
            if error is None:
                delay = self.retry_initial
                self._recovered()
                continue
            self._failed(retried, error)
            backlog = self._spill() or backlog
            if self._wait(delay, spilling=backlog):
                return
            delay = min(delay * 2, self.retry_max)

    def _wait(self, delay: float, *, spilling: bool) -> bool:
        """Back off for `delay` s; while spilling, events submitted meanwhile go to the spool
        at once. True when told to give up."""
        deadline = time.monotonic() + delay
        while not self._give_up.is_set():
            if spilling:
                self._spill()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            with self._cond:
                if not (spilling and self._queue) and not self._give_up.is_set():
                    self._cond.wait(remaining)
        return True

    def _spool_waiting(self) -> int:
        if self.spool is None:
            return 0
        waiting = len(self.spool.load())
        with self._cond:
            self._backlog = waiting
        return waiting

    def _spill(self) -> bool:
        """Move every queued event to the spool (their snapshots written first); True when the
        spool now holds events to write back. On a disk failure they stay queued in memory."""
        if self.spool is None:
            return False
        with self._cond:
            items = list(self._queue)
            self._queue.clear()
        if not items:
            return False
        self._write_snapshots(items)  # the file must exist before any sink hears of the alert
        refused = self._to_spool([item.event for item in items])
        if refused is None:  # kept in memory instead, in order
            with self._cond:
                self._queue.extendleft(reversed(items))
                self._trim()
            return False
        kept = len(items) - refused
        with self._cond:
            self.stats_.rejected += refused
            self._backlog += kept
            first = not self._spilling
            self._spilling = True
        if first:
            log.warning("alert events are kept in %s until the database is back", self.spool.path)
        return kept > 0

    def _write_backlog(self) -> tuple[BaseException | None, int]:
        """Commit the spool's events in order (ids already stored are skipped); on success
        the file is removed. Returns the transient error and how many are left, if any."""
        assert self.spool is not None
        events = self.spool.load()
        if events:
            log.warning("writing %d alert events kept in %s", len(events), self.spool.path)
        items = [_Pending(event, from_spool=True) for event in events]
        written, left, error = self._write(items)
        with self._cond:
            self.stats_.committed += len(written)
            self.stats_.replayed += len(written)
        for event in written:
            self._announce(event)
        if error is not None:
            with self._cond:
                self._backlog = len(left)
            return error, len(left)
        with self._spool_lock:
            # close() may be appending what it could not write: its events are not in `events`.
            if not self._give_up.is_set():
                self.spool.clear()
        with self._cond:
            self._backlog = 0
            self._spilling = False
        return None, 0

    def _write(
        self, batch: list[_Pending]
    ) -> tuple[list[AlertEvent], list[_Pending], BaseException | None]:
        """Commit the batch: (events written, items to retry, the transient error if any).

        One transaction for the whole batch; if the database rejects it for a reason a retry
        cannot fix, event by event, so only the event at fault is dropped (and counted).
        """
        try:
            return self._commit(batch), [], None
        except LeaseLost as exc:
            self._fenced(batch, exc)
            return [], [], None
        except Exception as exc:
            if _transient(exc):
                return [], batch, exc
        written: list[AlertEvent] = []
        for i, item in enumerate(batch):
            try:
                written += self._commit([item])
            except LeaseLost as exc:
                self._fenced(batch[i:], exc)
                return written, [], None
            except Exception as exc:
                if _transient(exc):
                    return written, batch[i:], exc
                with self._cond:
                    self.stats_.rejected += 1
                log.error("alert event %s rejected by the database: %s", item.event.id, exc)
        return written, [], None

    def _fenced(self, batch: list[_Pending], exc: LeaseLost) -> None:
        """Another node runs this camera now: these events are not ours to record (that
        node's camera sees the same scene). Dropped, counted and logged."""
        with self._cond:
            self.stats_.fenced += len(batch)
        log.error("%d alert event(s) not recorded: %s", len(batch), exc)

    def _announce(self, event: AlertEvent) -> None:
        if self.on_committed is None:
            return
        try:
            self.on_committed(event)
        except Exception:
            log.exception("announcing alert event %s failed", event.id)

    def _failed(self, retried: int, exc: BaseException) -> None:
        with self._cond:
            self.stats_.db_errors += 1
            self.stats_.last_error = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
            first = self.stats_.down_since is None
            if first:
                self.stats_.down_since = time.monotonic()
            pending = len(self._queue)
        if first or time.monotonic() - self._last_loud >= 30.0:
            self._last_loud = time.monotonic()
            log.error(
                "cannot write alert events (%s); %d kept in memory and retried",
                self.stats_.last_error,
                max(pending, retried),
            )

    def _recovered(self) -> None:
        with self._cond:
            down_since, self.stats_.down_since = self.stats_.down_since, None
        if down_since is not None:
            log.warning(
                "database back after %.1f s; writing the alert events kept meanwhile",
                time.monotonic() - down_since,
            )

    def _write_snapshots(self, batch: list[_Pending]) -> None:
        for item in batch:
            job = item.snapshot
            if job is None:
                continue
            try:
                image = draw_alert(job.frame, job.box, job.caption)
                write_atomic(job.path, encode_jpeg(image, self.snapshot_quality))
                self.stats_.snapshots_written += 1
            except (OSError, MediaError) as exc:
                self.stats_.snapshots_failed += 1
                log.error("cannot write snapshot %s: %s", job.path, exc)
            item.snapshot = None
            with self._cond:
                self._frames_held -= 1

    def _commit(self, batch: list[_Pending]) -> list[AlertEvent]:
        """Write `batch` in one transaction (each event in its own savepoint)."""
        self._ensure_schema()
        written: list[AlertEvent] = []
        with self.database.session() as session:
            if self.fence is not None and batch:
                check_fence(session, batch[0].event.after.camera, self.fence)
            for item in batch:
                if item.from_spool and session.scalar(
                    select(AlertEventRow.seq).where(AlertEventRow.id == item.event.id)
                ):
                    continue  # stored by the run that kept it; its deliveries exist too
                record_alert_event(session, item.event, self.sinks)
                written.append(item.event)
        return written

    def _ensure_schema(self) -> None:
        """A camera started without the service (`atalaia supervisor`) may find no tables."""
        if self._schema_ready:
            return
        try:
            present = inspect(self.database.engine).has_table("alert_events")
        except SQLAlchemyError as exc:
            raise StorageError(str(exc)) from exc
        if not present:
            self.database.migrate()
        self._schema_ready = True
