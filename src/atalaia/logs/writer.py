"""The consumer side: one thread in the main process that writes what every process logged.

All processes put `LogEntry` items on one bounded queue; only this thread formats, masks
secrets and touches the file or the console, so the disk's speed never reaches a camera loop
and lines from different processes never interleave mid-line.
"""

from __future__ import annotations

import atexit
import queue
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal, Protocol

from atalaia.logs.entry import LogEntry, pipeline_notice
from atalaia.logs.levels import parse_level
from atalaia.logs.line_format import JsonLineFormatter, LineFormatter, TextLineFormatter, mask_entry
from atalaia.logs.log_file import ReopeningLogFile
from atalaia.logs.log_queue import LogQueue
from atalaia.logs.process_setup import SUPERVISOR_TAG

DEFAULT_QUEUE_SIZE = 10_000
# Entries taken per write: large enough to amortise the flush, small enough to keep the file
# close behind a burst.
MAX_BATCH = 512
# How often an idle listener looks up from the queue to notice a stop that could not be queued.
IDLE_POLL_S = 0.25
# Idle this long with places in the queue still taken: those records are not coming.
STUCK_AFTER_S = 5.0


class _Output(Protocol):
    def write(self, text: str, /) -> Any: ...

    def flush(self) -> None: ...


class LogWriter:
    """Owns the queue every process logs into and the thread that empties it.

    Created (and started) once in the main process. Hand `queue` to each child process and
    call `configure_process_logging(queue, tag, level)` there, and in this process with tag
    `SUPERVISOR`. `stop()` writes everything already queued and closes the file; it is also
    registered to run at interpreter exit.
    """

    def __init__(
        self,
        level: str = "INFO",
        fmt: Literal["text", "json"] = "text",
        file: Path | None = None,
        console: bool = True,
        queue_size: int = DEFAULT_QUEUE_SIZE,
        known_secrets: Sequence[str] = (),
    ) -> None:
        if queue_size < 1:
            raise ValueError(f"queue_size must be at least 1, got {queue_size}")
        self._level = parse_level(level)
        self.level = level.strip().upper()
        """The level name, for handing to `configure_process_logging` in child processes."""
        self._formatter = self._make_formatter(fmt)
        # Longest first: a secret that contains a shorter one must be masked whole.
        self._known_secrets = tuple(sorted({s for s in known_secrets if s}, key=len, reverse=True))
        self._queue_size = queue_size
        self.queue = LogQueue(queue_size)
        """Pass this to child processes; it carries the shared drop counter with it."""
        self._outputs: list[tuple[str, _Output]] = []
        if file is not None:
            self._outputs.append((str(file), ReopeningLogFile(Path(file))))
        if console and sys.stderr is not None:
            self._outputs.append(("stderr", sys.stderr))
        self._failing: set[str] = set()
        self._stuck_since: float | None = None  # idle with places taken, since when
        self._stuck_reported = 0
        self._stop_requested = threading.Event()
        self._stop_lock = threading.Lock()
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="atalaia-log-writer", daemon=True)
        self._thread.start()
        atexit.register(self.stop)

    def dropped_total(self) -> int:
        """Records dropped so far by every process logging into this writer's queue.

        A process adds its drops without waiting, so a figure may lag by the drops that found
        the counter busy; each process's exact count is `dropped_count()` there.
        """
        return self.queue.drop_counter.value

    def stop(self, timeout: float = 5.0) -> bool:
        """Write everything queued so far, close the file, and end the thread.

        Entries this process queued before the call are written; so are entries child
        processes had already handed to the queue (stop the children first). Returns False
        when the writer was still stuck in a write after about `timeout` seconds; it then
        writes what is queued and closes on its own as soon as the write returns.
        """
        deadline = time.monotonic() + timeout
        with self._stop_lock:
            if not self._stopped:
                self._stopped = True
                atexit.unregister(self.stop)
                try:
                    # Queued behind this process's entries, so they are all written before it.
                    self.queue.put(None, timeout=timeout)
                except queue.Full:
                    self._stop_requested.set()
        self._thread.join(max(0.0, deadline - time.monotonic()))
        if self._thread.is_alive():
            # The marker has not come through: the writer is stuck in a write, or a killed
            # process holds the queue's write lock. End at the first empty poll instead.
            self._stop_requested.set()
            self._thread.join(2 * IDLE_POLL_S)
        # Entries logged here after the writer stopped have no reader; do not let the
        # interpreter's exit wait for them to reach the pipe.
        self.queue.cancel_join_thread()
        return not self._thread.is_alive()

    def __enter__(self) -> LogWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @staticmethod
    def _make_formatter(fmt: str) -> LineFormatter:
        if fmt == "text":
            return TextLineFormatter()
        if fmt == "json":
            return JsonLineFormatter()
        raise ValueError(f"unknown log format {fmt!r}; expected 'text' or 'json'")

    def _run(self) -> None:
        try:
            while True:
                try:
                    first = self.queue.get(timeout=IDLE_POLL_S)
                except queue.Empty:
                    if self._stop_requested.is_set():
                        return
                    self._check_for_stuck_places()
                    continue
                self._stuck_since = None
                batch, stopping = self._take_batch(first)
                self._write(batch)
                if stopping:
                    # Entries children put just before the stop are already in the pipe.
                    self._write(self._take_available())
                    return
        except Exception as exc:
            self._report(f"log writer stopped by an unexpected error: {exc!r}")
        finally:
            self._close_outputs()

    def _take_batch(self, first: object) -> tuple[list[object], bool]:
        """`first` plus whatever is already waiting, up to the stop marker (None)."""
        batch = [first]
        stopping = first is None
        while not stopping and len(batch) < MAX_BATCH:
            try:
                item = self.queue.get_nowait()
            except queue.Empty:
                break
            batch.append(item)
            stopping = item is None
        return batch, stopping

    def _take_available(self) -> list[object]:
        items: list[object] = []
        while len(items) < self._queue_size:  # at most one queue's worth
            try:
                items.append(self.queue.get_nowait())
            except queue.Empty:
                break
        return items

    def _write(self, batch: list[object]) -> None:
        lines: list[str] = []
        for item in batch:
            if not isinstance(item, LogEntry):
                if item is not None:
                    self._report(f"log writer ignored an item that is not a LogEntry: {item!r}")
                continue
            if item.level < self._level:
                continue
            try:
                lines.append(self._formatter.format(mask_entry(item, self._known_secrets)))
            except Exception as exc:
                self._report(f"log writer could not format a record from {item.tag}: {exc!r}")
        if not lines:
            return
        text = "".join(lines)
        for name, output in self._outputs:
            try:
                output.write(text)
                output.flush()
            except Exception as exc:
                if name not in self._failing:
                    self._failing.add(name)
                    self._report(f"log writer cannot write to {name}: {exc!r}")
            else:
                if name in self._failing:
                    self._failing.discard(name)
                    self._report(f"log writer is writing to {name} again")

    def _check_for_stuck_places(self) -> None:
        """Say so when places in the queue are taken by records that will never arrive.

        A process puts a record by taking a place in the queue, and its own background thread
        sends it on later. A process killed (by the supervisor, the OOM killer) before sending
        takes those places with it, and `multiprocessing` never gives them back; killed while
        it held the queue's write lock, it stops every other process's records too. Neither
        can be repaired from here, but an idle writer facing a queue that is not empty is the
        sign, and it goes into the log itself.
        """
        try:
            held = self.queue.qsize()
        except NotImplementedError:  # macOS cannot read a semaphore's value
            return
        if held == 0:
            self._stuck_since = None
            self._stuck_reported = 0
            return
        # A record put a moment ago arrives long before this: only a lasting gap counts.
        now = time.monotonic()
        if self._stuck_since is None:
            self._stuck_since = now
        if now - self._stuck_since < STUCK_AFTER_S or held <= self._stuck_reported:
            return
        self._stuck_reported = held
        message = (
            f"{held} of {self._queue_size} places in the log queue are held by records that"
            " never arrived (a process killed while it still had records to send?);"
            " they stay unusable until the service restarts"
        )
        entry = pipeline_notice(SUPERVISOR_TAG, message)
        self._write([entry])

    def _close_outputs(self) -> None:
        for name, output in self._outputs:
            try:
                if isinstance(output, ReopeningLogFile):
                    output.close()
                else:
                    output.flush()
            except Exception as exc:
                self._report(f"log writer could not close {name}: {exc!r}")

    @staticmethod
    def _report(message: str) -> None:
        """Say what went wrong with logging itself on the real stderr, never through logging."""
        stream = sys.__stderr__
        if stream is None:
            return
        try:
            stream.write(message + "\n")
            stream.flush()
        except Exception:
            return
