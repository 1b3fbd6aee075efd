"""BoardAlerts: hands the alerts the cameras commit to the serial board, on one thread.

A camera process commits an alert and tells the service its id (`AlertCommitted`, received on
the supervisor's thread). Which board command it triggers depends on the alert (camera, label,
rule, zone), so the alert is read back from the database first: a round trip that must not
run on the supervisor's thread (it also reads every child's heartbeats), and that once ran on
a new thread per alert, unbounded under a burst and never joined. Here one worker thread
takes the ids from a bounded queue, reads each alert and gives it to
`SerialMonitor.on_alert`, which matches the commands and queues them for the port without
blocking.

When the queue is full (the database is slow or away while alerts keep coming) the OLDEST
waiting alert is dropped, counted in `dropped` and logged: the board drives sirens and lights,
and a command for an alert from minutes ago is worse than none (the serial monitor drops a
command it cannot write within `command_max_age` for the same reason), while the newest alert
is the one someone should react to now. Alerts offered before `start()` wait for it; `stop()`
drops what still waits (the board's own queue is cancelled at the same stop), joins the
thread, and refuses offers until the next `start()`.
"""

from __future__ import annotations

import logging
import threading
from collections import deque

from atalaia.events.types import AlertEvent
from atalaia.monitors.serial_monitor import SerialMonitor
from atalaia.storage.db import Database

log = logging.getLogger(__name__)

STOP_TIMEOUT_S = 10.0


class BoardAlerts:
    """See the module docstring. `queue_size` alerts wait at most."""

    def __init__(self, database: Database, serial: SerialMonitor, queue_size: int) -> None:
        if queue_size < 1:
            raise ValueError(f"queue_size must be at least 1, got {queue_size}")
        self.database = database
        self.serial = serial
        self.queue_size = queue_size
        self.passed = 0  # alerts handed to the board (it decides whether a command matches)
        self.failed = 0  # alerts that could not be read or handed over
        self.dropped = 0  # alerts dropped from a full queue
        self._pending: deque[str] = deque()
        self._ready = threading.Condition()
        self._stopping = False
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        with self._ready:
            if self._thread is not None:
                return
            self._stopping = False
            self._thread = threading.Thread(
                target=self._run, name="atalaia-board-alerts", daemon=True
            )
            self._thread.start()

    def offer(self, event_id: str) -> None:
        """Queue a committed alert for the board (any thread; never blocks)."""
        with self._ready:
            if self._stopping:
                return
            dropped = self._pending.popleft() if len(self._pending) >= self.queue_size else None
            if dropped is not None:
                self.dropped += 1
            self._pending.append(event_id)
            self._ready.notify()
            total = self.dropped
        if dropped is not None:
            log.warning(
                "serial board: %d alerts waiting, alert %s dropped for a newer one (%d so far)",
                self.queue_size,
                dropped,
                total,
            )

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> bool:
        """Drop what waits, end the worker and join it; False when it is still alive after
        `timeout` (a database read that ignores its own timeout)."""
        with self._ready:
            thread, self._thread = self._thread, None
            self._stopping = True
            left = len(self._pending)
            self._pending.clear()
            self._ready.notify_all()
        if left:
            log.info("serial board: %d alerts not handed over (service stopping)", left)
        if thread is None:
            return True
        thread.join(timeout)
        if thread.is_alive():
            log.warning("serial board: alert worker still running after %.1f s", timeout)
            return False
        return True

    def _run(self) -> None:
        while True:
            with self._ready:
                while not self._pending and not self._stopping:
                    self._ready.wait()
                if self._stopping:
                    return
                event_id = self._pending.popleft()
            self._pass(event_id)

    def _pass(self, event_id: str) -> None:
        """Give the board the committed event (it decides if a command matches)."""
        from atalaia.storage.models import AlertEvent as AlertEventRow

        try:
            with self.database.session() as session:
                row = session.query(AlertEventRow).filter_by(id=event_id).one_or_none()
                payload = dict(row.payload) if row is not None else None
            if payload is None:
                log.warning("serial board: alert event %s not found", event_id)
                return
            self.serial.on_alert(AlertEvent.from_payload(payload))
        except Exception:
            self.failed += 1
            log.exception("could not pass alert %s to the serial board", event_id)
            return
        self.passed += 1
