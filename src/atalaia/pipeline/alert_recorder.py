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
database is down, so a killed process loses nothing. What is still unwritten when the camera
stops goes to the spool too and is written first by the camera's next recorder; only what
cannot even be put on disk counts as `lost_at_shutdown`. A retry after a commit whose
acknowledgement was lost may record an event twice; its payload keeps the event's stable id,
so sinks drop the duplicate.

This class is the coordinator; each job has its own module:

- `alert_queue.PendingQueue`: the bounded queue, its trimming and the snapshot frame budget;
- `alert_snapshots`: drawing and writing a snapshot;
- `alert_committer.BatchCommitter`: batch commit, per-event fallback, schema check, fencing;
- `alert_spill.SpoolKeeper` (over `alert_spool.AlertSpool`): spill, replay, keep at close;
- `alert_stats`: the counters and the frozen `RecorderSnapshot` that leaves the recorder;
- `alert_mode`: the mode (`RecorderMode`) and the moves it may make, checked.

All of them share one lock (`self._lock`, a condition the writer waits on), so a snapshot of
the stats is one instant, and every counter changes under it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict
from typing import Any

from atalaia.cluster.fencing import Fence
from atalaia.events.types import AlertEvent
from atalaia.pipeline.alert_committer import BatchCommitter, CommitOutcome
from atalaia.pipeline.alert_mode import ENDING, IllegalTransition, ModeMachine, RecorderMode
from atalaia.pipeline.alert_queue import Pending, PendingQueue
from atalaia.pipeline.alert_snapshots import SnapshotJob, write_snapshot
from atalaia.pipeline.alert_spill import SpoolKeeper
from atalaia.pipeline.alert_spool import AlertSpool
from atalaia.pipeline.alert_stats import RecorderSnapshot, RecorderStats
from atalaia.storage import Database

__all__ = ["AlertRecorder", "RecorderMode", "RecorderSnapshot", "RecorderStats", "SnapshotJob"]

log = logging.getLogger(__name__)

DOWN_LOG_EVERY_S = 30.0
_GIVEN_UP = (RecorderMode.GIVEN_UP, RecorderMode.CLOSED)


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
        self.on_committed = on_committed
        self.snapshot_quality = snapshot_quality
        self.batch_size = batch_size
        self.retry_initial = retry_initial
        self.retry_max = retry_max
        self.spool = spool
        self.fence = fence
        self.stats_ = RecorderStats()
        self._lock = threading.Condition()  # re-entrant: the parts take it themselves too
        self._mode = ModeMachine(self._lock)
        self._queue = PendingQueue(
            self._lock,
            self.stats_,
            max_pending=max_pending,
            max_snapshot_frames=max_snapshot_frames,
        )
        self._committer = BatchCommitter(database, list(dict.fromkeys(sinks)), fence)
        self._keeper = SpoolKeeper(spool, self._lock, self.stats_)
        self._last_down_log = 0.0
        self._thread = threading.Thread(target=self._run, name="alert-recorder", daemon=True)

    @property
    def sinks(self) -> list[str]:
        return self._committer.sinks

    @property
    def max_pending(self) -> int:
        return self._queue.max_pending

    @property
    def max_snapshot_frames(self) -> int:
        return self._queue.max_snapshot_frames

    @property
    def database(self) -> Database:
        """The database (opened on first use when given as a URL)."""
        return self._committer.database

    @property
    def mode(self) -> RecorderMode:
        return self._mode.mode

    @property
    def mode_history(self) -> tuple[RecorderMode, ...]:
        """The last modes entered, oldest first."""
        return self._mode.history

    # ---- the callers' side: never blocks -------------------------------------------------

    def start(self) -> AlertRecorder:
        """Start the writer thread. Allowed in NOT_STARTED only (-> NORMAL; the writer then
        moves to REPLAYING if the spool holds a previous run's events); anything else raises
        `IllegalTransition` (a `RuntimeError`, as starting a thread twice does)."""
        with self._lock:
            if not self._mode.is_(RecorderMode.NOT_STARTED):
                raise IllegalTransition(f"alert recorder cannot start when {self.mode.name}")
            self._mode.move(RecorderMode.NORMAL)
        self._thread.start()
        return self

    def submit(self, event: AlertEvent, snapshot: SnapshotJob | None = None) -> None:
        """Queue an event (and its snapshot) for writing; returns at once. Allowed in every
        mode: before `start` it waits for the writer; after `close` it can only be kept by
        another `close` (logged, a caller's bug)."""
        if self._mode.is_(RecorderMode.CLOSED):
            log.error("alert event %s submitted after the recorder was closed", event.id)
        self._queue.put(event, snapshot)

    def snapshot(self) -> RecorderSnapshot:
        """The counters and what is pending, one consistent frozen copy. Any mode."""
        with self._lock:
            return self.stats_.snapshot(self._queue.pending() + self._keeper.backlog)

    def stats(self) -> dict[str, Any]:
        """`snapshot()` as a dict (the form the camera's stats carry). Any mode."""
        return asdict(self.snapshot())

    def close(self, timeout: float = 5.0) -> None:
        """Write what is queued, for at most `timeout` seconds; keep the rest in the spool and
        count what cannot even be kept. Allowed in every mode: -> CLOSING, -> GIVEN_UP when the
        writer is still busy after `timeout`, -> CLOSED; closing again keeps only what was
        submitted since."""
        with self._lock:
            if not self._mode.is_(RecorderMode.CLOSED):
                self._mode.move(RecorderMode.CLOSING)
        if self._thread.is_alive():
            self._thread.join(timeout)
        if self._thread.is_alive():
            with self._lock:
                if self._mode.is_(RecorderMode.CLOSING):
                    self._mode.move(RecorderMode.GIVEN_UP)  # the writer's wait returns
            self._thread.join(2.0)
        with self._lock:
            # A writer still stuck in a commit may yet finish it: its batch is kept as well,
            # and the next recorder skips what did get stored.
            stuck = self._queue.in_flight() if self._thread.is_alive() else []
            left = [p.event for p in stuck] + [p.event for p in self._queue.drain()]
        lost = self._keeper.keep(left)
        with self._lock:
            self.stats_.lost_at_shutdown += lost
            self._mode.move(RecorderMode.CLOSED)
        if lost:
            log.error("%d alert events could not be written before the camera stopped", lost)
        self._committer.dispose()

    # ---- the writer thread -------------------------------------------------------------------

    def _closing(self) -> bool:
        return self._mode.is_(*ENDING)

    def _given_up(self) -> bool:
        return self._mode.is_(*_GIVEN_UP)

    def _run(self) -> None:
        """Memory first; while the database is down, the spool.

        The spool's events (a previous run's, or those spilled during an outage) are written
        back, oldest first, before anything queued after them; only then does the queue go on.
        After a failed write, with a spool, every queued event moves to the file, and so does
        every event submitted while the database stays down (see `_wait`).
        """
        self._keeper.count_waiting()  # a previous run's events come before any new one
        delay = self.retry_initial
        while True:
            if self._keeper.backlog:
                self._mode.writer_moves(RecorderMode.REPLAYING)
                error, retried = self._replay()
            else:
                batch = self._queue.take(self.batch_size, stop=self._closing)
                if not batch:
                    return  # closing, and nothing left
                error, retried = self._write(batch)
            if error is None:
                delay = self.retry_initial
                self._recovered()
                continue
            self._failed(retried, error)
            self._keeper.spill(self._queue, self._write_snapshots)
            spilling = self._keeper.backlog > 0
            self._mode.writer_moves(RecorderMode.SPILLING if spilling else RecorderMode.DOWN)
            if self._wait(delay, spilling=spilling):
                return
            delay = min(delay * 2, self.retry_max)

    def _wait(self, delay: float, *, spilling: bool) -> bool:
        """Back off for `delay` s; while spilling, events submitted meanwhile go to the spool
        at once. True when close() has given up on the writer."""
        deadline = time.monotonic() + delay
        while not self._given_up():
            if spilling:
                self._keeper.spill(self._queue, self._write_snapshots)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            with self._lock:
                if not (spilling and len(self._queue)) and not self._given_up():
                    self._lock.wait(remaining)
        return True

    def _write(self, batch: list[Pending]) -> tuple[BaseException | None, int]:
        """Snapshots, then the batch; its unwritten tail goes back to the head of the queue.
        Returns the transient error, if any, and how many are to be retried."""
        self._write_snapshots(batch)
        outcome = self._committer.write(batch)
        with self._lock:
            self._count(outcome)
            self._queue.settle(outcome.retry)
        self._announce(outcome.written)
        return outcome.error, len(outcome.retry)

    def _replay(self) -> tuple[BaseException | None, int]:
        """Commit the spool's events in order (ids already stored are skipped); once all are
        stored the file is removed, unless close() has given up and may be appending to it."""
        outcome = self._committer.write(self._keeper.load())
        with self._lock:
            self._count(outcome, replayed=True)
        self._announce(outcome.written)
        if outcome.error is None:
            self._keeper.clear(unless=self._given_up)
        self._keeper.replayed(len(outcome.retry))
        return outcome.error, len(outcome.retry)

    def _count(self, outcome: CommitOutcome, *, replayed: bool = False) -> None:
        with self._lock:
            self.stats_.committed += len(outcome.written)
            self.stats_.rejected += outcome.rejected
            self.stats_.fenced += outcome.fenced
            if replayed:
                self.stats_.replayed += len(outcome.written)

    def _write_snapshots(self, items: list[Pending]) -> None:
        """Write the items' snapshots (drawing and disk outside the lock, counting inside)."""
        for item in items:
            if item.snapshot is None:
                continue
            written = write_snapshot(item.snapshot, self.snapshot_quality)
            item.snapshot = None  # the frame can go
            with self._lock:
                if written:
                    self.stats_.snapshots_written += 1
                else:
                    self.stats_.snapshots_failed += 1
                self._queue.frame_released()

    def _announce(self, events: list[AlertEvent]) -> None:
        if self.on_committed is None:
            return
        for event in events:
            try:
                self.on_committed(event)
            except Exception:
                log.exception("announcing alert event %s failed", event.id)

    def _failed(self, retried: int, exc: BaseException) -> None:
        with self._lock:
            self.stats_.db_errors += 1
            self.stats_.last_error = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
            first = self.stats_.down_since is None
            if first:
                self.stats_.down_since = time.monotonic()
            pending = len(self._queue)
            last_error = self.stats_.last_error
        if first or time.monotonic() - self._last_down_log >= DOWN_LOG_EVERY_S:
            self._last_down_log = time.monotonic()
            log.error(
                "cannot write alert events (%s); %d kept in memory and retried",
                last_error,
                max(pending, retried),
            )

    def _recovered(self) -> None:
        with self._lock:
            down_since, self.stats_.down_since = self.stats_.down_since, None
        self._mode.writer_moves(RecorderMode.NORMAL)
        if down_since is not None:
            log.warning(
                "database back after %.1f s; writing the alert events kept meanwhile",
                time.monotonic() - down_since,
            )
