"""Moving alert events to the spool while the database is down, and reading them back.

`AlertSpool` is the file; `SpoolKeeper` is the recorder's use of it:

- **spill**: after a failed write, every queued event (its snapshot written first, since the
  file must exist before any sink hears of the alert) is appended to the spool, and so is
  every event submitted while the database stays down, so a camera process killed meanwhile
  loses nothing that reached the writer thread. If the disk refuses, they stay in memory.
- **replay**: when the database may be back (and at start, for a previous run's events), the
  spool is committed oldest first, before anything queued in memory; only once all of it is
  stored is the file removed, and never after `close()` has given up on the writer and may be
  appending its own leftovers (the `unless` check, under the file lock).
- **keep**: at close, whatever is still unwritten is appended for the camera's next start.

`backlog` (events in the file, not yet in the database) counts towards the recorder's
`pending`, read under the recorder's lock like every other counter. The file itself has its
own lock, taken before (never inside) the recorder's: the writer thread and `close()` may
both append.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from atalaia.events.types import AlertEvent
from atalaia.pipeline.alert_queue import Pending, PendingQueue
from atalaia.pipeline.alert_spool import AlertSpool
from atalaia.pipeline.alert_stats import RecorderStats

log = logging.getLogger(__name__)


class SpoolKeeper:
    def __init__(
        self, spool: AlertSpool | None, lock: threading.Condition, stats: RecorderStats
    ) -> None:
        self.spool = spool
        self._lock = lock
        self._stats = stats
        self._file_lock = threading.Lock()
        self._backlog = 0
        self._warned = False  # "kept in the spool until the database is back" said once

    @property
    def backlog(self) -> int:
        """Events in the file not yet in the database (as last known)."""
        with self._lock:
            return self._backlog

    def count_waiting(self) -> int:
        """How many events a previous run left (read from the file)."""
        waiting = len(self.spool.load()) if self.spool is not None else 0
        with self._lock:
            self._backlog = waiting
        return waiting

    def spill(self, queue: PendingQueue, write_snapshots: Callable[[list[Pending]], None]) -> bool:
        """Move everything queued to the spool (snapshots written first); True when the spool
        now holds events to write back. On a disk failure they go back to the queue, in order."""
        if self.spool is None:
            return False
        items = queue.drain()
        if not items:
            return False
        write_snapshots(items)
        refused = self.save([item.event for item in items])
        if refused is None:  # kept in memory instead
            queue.push_front(items)
            return False
        kept = len(items) - refused
        with self._lock:
            self._stats.rejected += refused
            self._backlog += kept
            first, self._warned = not self._warned, True
        if first:
            log.warning("alert events are kept in %s until the database is back", self.spool.path)
        return kept > 0

    def load(self) -> list[Pending]:
        """The spool's events, oldest first, marked as possibly stored already."""
        if self.spool is None:
            return []
        events = self.spool.load()
        if events:
            log.warning("writing %d alert events kept in %s", len(events), self.spool.path)
        return [Pending(event, from_spool=True) for event in events]

    def replayed(self, left: int) -> None:
        """A replay ended with `left` events still unwritten (0: all stored)."""
        with self._lock:
            self._backlog = left
            if not left:
                self._warned = False

    def clear(self, *, unless: Callable[[], bool]) -> None:
        """Remove the file (every event in it is stored), unless `unless()` holds when the file
        lock is taken: then close() may have appended events the replay did not read."""
        if self.spool is None:
            return
        with self._file_lock:
            if not unless():
                self.spool.clear()

    def save(self, events: list[AlertEvent]) -> int | None:
        """Append `events`; how many the spool refused (unserialisable, counted by the caller),
        or None when the disk refused them all (logged)."""
        assert self.spool is not None
        try:
            with self._file_lock:
                refused = len(self.spool.save(events))
        except OSError as exc:
            log.error("cannot keep alert events in %s: %s", self.spool.path, exc)
            return None
        with self._lock:
            self._stats.spooled += len(events) - refused
        return refused

    def keep(self, events: list[AlertEvent]) -> int:
        """At close: put the unwritten events in the spool; how many could not be kept."""
        if not events:
            return 0
        if self.spool is None:
            return len(events)
        refused = self.save(events)
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
