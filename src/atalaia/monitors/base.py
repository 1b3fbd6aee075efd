"""What the three basic monitors share: `start()`, `stop(timeout)`, `running`, `snapshot()`.

The BackgroundManager starts them with the app and keeps them running while alert processing
is stopped (design note 002), so each one is a set of daemon threads that it owns: a thread never
outlives `stop()` unless a call inside it ignores its own timeout, and `stop()` then says so by
returning False instead of hanging the shutdown.
"""

from __future__ import annotations

import logging
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, Literal, Protocol

log = logging.getLogger(__name__)

MonitorState = Literal["running", "stopped", "disabled"]
Worker = Callable[[threading.Event], None]
RESTART_WAIT = 10.0  # how long start() waits for the threads of a stop that timed out


class MonitorSnapshot(Protocol):
    """A monitor's state at one moment: immutable, free of secrets, JSON-ready via `as_dict()`."""

    def as_dict(self) -> dict[str, Any]: ...


class Monitor(Protocol):
    """The interface the BackgroundManager, `/background/status` and `/api/stats` rely on."""

    name: str

    @property
    def running(self) -> bool: ...

    def start(self) -> None: ...

    def stop(self, timeout: float = 5.0) -> bool: ...

    def snapshot(self) -> MonitorSnapshot: ...


class ThreadedMonitor(ABC):
    """Runs the monitor's workers on daemon threads between `start()` and `stop()`.

    Each worker gets the stop event of its own run, so a worker left over from a stop that
    timed out cannot be revived by a later `start()`. `_pause()` sleeps until the next round,
    a `_nudge()` (new settings) or a stop, whichever comes first.
    """

    name: str = "monitor"

    def __init__(self) -> None:
        self._lifecycle = threading.Lock()
        self._stop_event = threading.Event()
        self._stop_event.set()
        self._wake = threading.Event()
        self._threads: list[threading.Thread] = []
        self.started_at: float | None = None

    @property
    def enabled(self) -> bool:
        """False when configuration turns the monitor off: `start()` then does nothing."""
        return True

    @property
    def running(self) -> bool:
        """Started, not asked to stop, and every worker alive (a crashed one shows here)."""
        threads = self._threads
        return (
            not self._stop_event.is_set() and bool(threads) and all(t.is_alive() for t in threads)
        )

    @property
    def state(self) -> MonitorState:
        if not self.enabled:
            return "disabled"
        return "running" if self.running else "stopped"

    @abstractmethod
    def _workers(self) -> list[tuple[str, Worker]]:
        """The (name, function) pairs to run, each on its own thread."""

    def _before_start(self) -> None:  # noqa: B027 - an optional hook
        """Prepare per-run resources (called with the lifecycle lock held)."""

    def _after_stop(self) -> None:  # noqa: B027 - an optional hook
        """Release per-run resources once the workers were asked to stop and joined."""

    def start(self) -> None:
        """Start the workers; a no-op when already running or disabled.

        After a `stop()` that timed out, this first waits (up to `RESTART_WAIT` seconds) for the
        old threads to end, and raises RuntimeError if they do not.
        """
        with self._lifecycle:
            if not self.enabled or self.running:
                return
            if not self._stop_event.is_set():
                self.request_stop()  # a run with a crashed worker: end the rest of it first
            self._await_previous_run()
            stop = threading.Event()
            self._stop_event = stop
            self._wake.clear()
            self._before_start()
            self._threads = [
                threading.Thread(
                    target=self._guarded,
                    args=(part, worker, stop),
                    name=f"atalaia-{self.name}-{part}",
                    daemon=True,
                )
                for part, worker in self._workers()
            ]
            self.started_at = time.time()
            for thread in self._threads:
                thread.start()

    def _await_previous_run(self) -> None:
        """Let threads of a stop that timed out finish before new ones start: two readers
        of one port, or two writers of one state, must never overlap."""
        deadline = time.monotonic() + RESTART_WAIT
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        alive = [t.name for t in self._threads if t.is_alive()]
        if alive:
            raise RuntimeError(f"{self.name}: the previous run has not ended yet ({alive})")
        self._threads = []

    def request_stop(self) -> None:
        """Ask the workers to stop without waiting (`stop()` then joins them); lets a caller
        stopping several monitors wait for them all at once."""
        self._stop_event.set()
        self._wake.set()
        self._on_stop_requested()

    def _on_stop_requested(self) -> None:  # noqa: B027 - an optional hook
        """Wake workers blocked on something other than the stop event."""

    def stop(self, timeout: float = 5.0) -> bool:
        """Stop and join the workers; True when none is left alive after `timeout` seconds."""
        with self._lifecycle:
            self.request_stop()
            deadline = time.monotonic() + timeout
            for thread in self._threads:
                thread.join(max(0.0, deadline - time.monotonic()))
            alive = [t.name for t in self._threads if t.is_alive()]
            self._after_stop()
            if alive:
                log.warning("%s: threads still running after %.1f s: %s", self.name, timeout, alive)
                return False
            self._threads = []
            return True

    def _nudge(self) -> None:
        """Cut the current pause short (e.g. after new settings)."""
        self._wake.set()

    def _pause(self, stop: threading.Event, seconds: float) -> bool:
        """Sleep up to `seconds`; True when the monitor is stopping."""
        if stop.is_set():
            return True
        self._wake.wait(max(0.0, seconds))
        if stop.is_set():
            return True  # left set, so that every other worker sees the stop as well
        self._wake.clear()
        return False

    def _guarded(self, part: str, worker: Worker, stop: threading.Event) -> None:
        try:
            worker(stop)
        except Exception:
            # Workers handle their own errors per round; reaching this is a bug. The thread ends
            # rather than spinning on it, and `running` turns False so the status shows it.
            log.exception("%s: worker %s crashed", self.name, part)
