"""The alert recorder's counters, and the immutable snapshot of them that leaves the recorder.

`RecorderStats` is mutable and lives inside the recorder, changed only under the recorder's
one lock (every part of the recorder is handed that lock). `RecorderSnapshot` is what anyone
else sees: a frozen copy taken under that lock, so its numbers agree with each other (an event
is never counted both as pending and as committed). It is small and picklable, so a camera
process can send it to the main process as it is.
"""

from __future__ import annotations

import time
from dataclasses import dataclass


@dataclass(slots=True)
class RecorderStats:
    """Running totals since the recorder was made (mutated under the recorder's lock only)."""

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
    down_since: float | None = None  # time.monotonic() of the first failure of this outage

    def snapshot(self, pending: int) -> RecorderSnapshot:
        """A frozen copy; `pending` is what is queued, in flight or in the spool (the caller
        counts it under the same lock)."""
        down_s = round(time.monotonic() - self.down_since, 1) if self.down_since else 0.0
        return RecorderSnapshot(
            committed=self.committed,
            pending=pending,
            dropped=self.dropped,
            dropped_updates=self.dropped_updates,
            rejected=self.rejected,
            db_errors=self.db_errors,
            db_down_s=down_s,
            last_error=self.last_error,
            snapshots_written=self.snapshots_written,
            snapshots_failed=self.snapshots_failed,
            snapshots_skipped=self.snapshots_skipped,
            lost_at_shutdown=self.lost_at_shutdown,
            fenced=self.fenced,
            spooled=self.spooled,
            replayed=self.replayed,
        )


@dataclass(frozen=True, slots=True)
class RecorderSnapshot:
    """The recorder's state at one instant. Field order and names are those of the
    `AlertRecorder.stats()` dict (which is `dataclasses.asdict` of this)."""

    committed: int = 0
    pending: int = 0  # queued in memory + being committed + kept in the spool
    dropped: int = 0  # the queue was full: the oldest events dropped
    dropped_updates: int = 0  # the queue was full: `update` events dropped first
    rejected: int = 0  # the database (or the spool) refused the event itself
    db_errors: int = 0  # failed writes a retry may fix (the database down, locked, cut)
    db_down_s: float = 0.0  # how long the current outage has lasted; 0.0 when up
    last_error: str | None = None
    snapshots_written: int = 0
    snapshots_failed: int = 0
    snapshots_skipped: int = 0  # too many frames already waiting: no snapshot for this one
    lost_at_shutdown: int = 0  # neither in the database nor in the spool at close
    fenced: int = 0  # refused: the camera's cluster lease moved to another node
    spooled: int = 0  # put in the spool (while the database was down, or at close)
    replayed: int = 0  # written back from the spool
