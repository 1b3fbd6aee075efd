"""The producer side: a `logging.Handler` whose `emit` hands the record over and never waits.

Camera and detector loops log from their hot path; a handler that formats, takes a file lock
or writes to disk would make a frame wait on the disk. This one does the least work that must
happen on the caller's thread (merge the arguments, render the traceback, reduce the record to
plain values) and offers the result to a bounded queue. When the queue is full the record is
dropped and counted; the next record that gets through is preceded by a WARNING saying how
many were lost, so a gap in the log is never silent.
"""

from __future__ import annotations

import logging
import queue
from typing import Any, Protocol

from atalaia.logs.drop_counter import SharedDropCounter
from atalaia.logs.entry import LogEntry, entry_from_record, pipeline_notice


class EntryQueue(Protocol):
    """What the handler needs from a queue: `put_nowait` raising `queue.Full` when full, and
    `full()` as a cheap hint (a `multiprocessing` queue reads its semaphore, no system call)."""

    def put_nowait(self, obj: Any, /) -> None: ...

    def full(self) -> bool: ...


class NonBlockingQueueHandler(logging.Handler):
    """Puts each record on `queue` with `put_nowait`; drops and counts it when the queue is full.

    `tag` names the process in every line (`SUPERVISOR`, a camera id, `DETECTOR:<name>`);
    a record's `extra={"camera_id": ...}` overrides it. When `drop_counter` is given, drops are
    also added to it so the main process can read one total for all processes.
    """

    def __init__(
        self,
        queue: EntryQueue,
        tag: str,
        *,
        drop_counter: SharedDropCounter | None = None,
        level: int = logging.NOTSET,
    ) -> None:
        super().__init__(level)
        self.tag = tag
        self._queue = queue
        self._shared_drops = drop_counter
        self._dropped_total = 0
        self._unreported = 0  # drops not yet announced by a WARNING entry
        self._unpublished = 0  # drops not yet added to the shared counter

    @property
    def dropped_total(self) -> int:
        """Records this handler has dropped because the queue was full."""
        return self._dropped_total

    def emit(self, record: logging.LogRecord) -> None:
        """Hand the record over without waiting; `Handler.handle` holds `self.lock` around this."""
        try:
            if self._queue.full():
                # Known lost: skip merging the message and rendering the traceback.
                self._count_drop()
                return
            entry = entry_from_record(record, self.tag)
            if self._unreported and not self._put_drop_report():
                self._count_drop()
            elif self._offer(entry):
                if self._unpublished:
                    self._publish_drops()
            else:
                self._count_drop()
        except RecursionError:
            raise
        except Exception:
            self.handleError(record)

    def close(self) -> None:
        """Publish and announce outstanding drops, if the queue has room, before closing."""
        self.acquire()
        try:
            self._publish_drops()
            if self._unreported:
                self._put_drop_report()
        finally:
            self.release()
        super().close()

    def _offer(self, item: LogEntry) -> bool:
        try:
            self._queue.put_nowait(item)
        except queue.Full:
            return False
        return True

    def _count_drop(self) -> None:
        self._dropped_total += 1
        self._unreported += 1
        self._unpublished += 1
        self._publish_drops()

    def _publish_drops(self) -> None:
        shared = self._shared_drops
        if shared is not None and self._unpublished and shared.try_add(self._unpublished):
            self._unpublished = 0

    def _put_drop_report(self) -> bool:
        """Enqueue `N log records dropped (queue full)`; it goes before the record that follows
        the gap, so the file reads in the order things happened."""
        report = pipeline_notice(self.tag, f"{self._unreported} log records dropped (queue full)")
        if not self._offer(report):
            return False
        self._unreported = 0
        return True
