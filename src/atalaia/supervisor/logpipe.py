"""Log records from a supervised child travel over that child's own pipe.

The shared `multiprocessing` log queue is fine for the main process, but a child killed with
`kill -9` while its feeder thread holds that queue's cross-process write lock would silence
every other process's logging. So a child puts records on a bounded in-process queue (the
caller never waits; a full queue drops and counts), and a sender thread forwards them over the
pipe the supervisor already reads. The supervisor hands them to the one writer.
"""

from __future__ import annotations

import queue
import threading
import time
from typing import Any, Protocol

from atalaia.supervisor.messages import Log


class _Sender(Protocol):
    def send(self, message: object) -> bool: ...


class PipeLogQueue:
    """The child's side: `put_nowait` for the logging handler, a thread that sends."""

    def __init__(self, sender: _Sender, maxsize: int) -> None:
        self._queue: queue.Queue[Any] = queue.Queue(maxsize)
        self._sender = sender
        self._thread = threading.Thread(target=self._run, name="log-forwarder", daemon=True)
        self._thread.start()

    def put_nowait(self, item: Any, /) -> None:
        self._queue.put_nowait(item)

    def full(self) -> bool:
        return self._queue.full()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is None or not self._sender.send(Log(item)):
                    return
            finally:
                self._queue.task_done()

    def flush(self, timeout: float = 2.0) -> None:
        """Wait (bounded) until queued records are sent; called as the process ends."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.01)


def forward_entry(writer_queue: Any, entry: Any) -> bool:
    """The supervisor's side: hand a child's record to the writer without ever waiting."""
    try:
        writer_queue.put_nowait(entry)
        return True
    except queue.Full:
        counter = getattr(writer_queue, "drop_counter", None)
        if counter is not None:
            counter.try_add(1)
        return False
