"""The alert recorder's in-memory queue: bounded, trimmed by importance, and never blocking.

The detection thread puts events here and returns at once; the writer thread takes them in
batches. When the database is down and there is no spool (or the disk refuses it), the queue
is all there is, so it is bounded (`max_pending`): beyond that the oldest `update` events go
first (a later update or the end carries the same alert forward), then the oldest events,
every drop counted and logged at ERROR. Snapshot frames are the only large items: at most
`max_snapshot_frames` wait at once, beyond that an event goes without its snapshot (counted).

Every method takes the recorder's lock (a `threading.Condition` over a re-entrant lock, shared
with the counters and the mode), so the stats read one consistent picture.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from atalaia.events.types import AlertEvent
from atalaia.pipeline.alert_snapshots import SnapshotJob
from atalaia.pipeline.alert_stats import RecorderStats

log = logging.getLogger(__name__)

LOUD_EVERY_S = 5.0


@dataclass(slots=True)
class Pending:
    """An event on its way to the database."""

    event: AlertEvent
    snapshot: SnapshotJob | None = None  # dropped (set to None) once written
    from_spool: bool = False  # may already be stored (a commit whose ack was lost)


class PendingQueue:
    def __init__(
        self,
        lock: threading.Condition,
        stats: RecorderStats,
        *,
        max_pending: int,
        max_snapshot_frames: int,
    ) -> None:
        self.max_pending = max_pending
        self.max_snapshot_frames = max_snapshot_frames
        self._lock = lock
        self._stats = stats
        self._items: deque[Pending] = deque()
        self._in_flight: list[Pending] = []  # taken by the writer, not yet settled
        self._frames_held = 0
        self._last_loud = 0.0

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def pending(self) -> int:
        """Queued plus being committed."""
        with self._lock:
            return len(self._items) + len(self._in_flight)

    def put(self, event: AlertEvent, snapshot: SnapshotJob | None) -> None:
        """Queue an event (its snapshot only if the frame budget allows); wakes the writer."""
        with self._lock:
            if snapshot is not None and self._frames_held >= self.max_snapshot_frames:
                self._stats.snapshots_skipped += 1
                snapshot = None
            if snapshot is not None:
                self._frames_held += 1
            self._items.append(Pending(event, snapshot))
            self._trim()
            self._lock.notify_all()

    def take(self, size: int, *, stop: Callable[[], bool]) -> list[Pending]:
        """Wait for events and take up to `size`, oldest first, as the batch in flight. Returns
        [] once `stop()` holds (checked under the lock) and nothing is queued."""
        with self._lock:
            while not self._items and not stop():
                self._lock.wait()
            batch = [self._items.popleft() for _ in range(min(size, len(self._items)))]
            self._in_flight = batch
            return batch

    def settle(self, left: list[Pending]) -> None:
        """The batch in flight is done; `left` (its unwritten tail) goes back to the head, in
        order, to be retried first."""
        with self._lock:
            self._in_flight = []
            self.push_front(left)

    def push_front(self, items: Iterable[Pending]) -> None:
        """Put `items` back ahead of everything queued, in their order (then trim)."""
        with self._lock:
            self._items.extendleft(reversed(list(items)))
            self._trim()

    def drain(self) -> list[Pending]:
        """Take everything queued (not the batch in flight)."""
        with self._lock:
            items = list(self._items)
            self._items.clear()
            return items

    def in_flight(self) -> list[Pending]:
        """The batch the writer holds (close() keeps it when the writer is stuck in a commit)."""
        with self._lock:
            return list(self._in_flight)

    def frame_released(self) -> None:
        """A snapshot frame was written (or failed): room for another."""
        with self._lock:
            self._frames_held -= 1

    def _trim(self) -> None:
        """Drop beyond `max_pending` (lock held): oldest updates first, then oldest events."""
        dropped = 0
        while len(self._items) > self.max_pending:
            victim = next((p for p in self._items if p.event.type == "update"), None)
            if victim is not None:
                self._items.remove(victim)
                self._stats.dropped_updates += 1
            else:
                victim = self._items.popleft()
                self._stats.dropped += 1
            if victim.snapshot is not None:
                self._frames_held -= 1
            dropped += 1
        if dropped and time.monotonic() - self._last_loud >= LOUD_EVERY_S:
            self._last_loud = time.monotonic()
            log.error(
                "alert events DROPPED: the database has not taken them (%s); dropped so far: "
                "%d events and %d updates; %d waiting",
                self._stats.last_error or "writer behind",
                self._stats.dropped,
                self._stats.dropped_updates,
                len(self._items),
            )
