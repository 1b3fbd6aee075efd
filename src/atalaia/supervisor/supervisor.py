"""Supervisor: starts the camera and detector processes, watches them, restarts what dies.

A child that dies or stops making progress for `heartbeat_timeout` is restarted after a
growing delay; more than `max_restarts` within `restart_window` stops its restarts, and its
status says why.

One thread owns every child (`monitor.Monitor`). The methods here run on the callers' threads
and never touch a child: `add`, `remove`, `restart`, `send` and `stop` post a command and wait
for the monitor to carry it out; `status` and `child` read the snapshot the monitor published
last. So a status request never waits behind a spawn or a kill, and a remove racing a
restart, or a crash, is settled in one place, in the order the commands arrived.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any, TypeVar

from atalaia.supervisor.commands import Add, Command, Mailbox, Remove, Restart, Send, Shutdown
from atalaia.supervisor.monitor import Monitor
from atalaia.supervisor.state import SHUTDOWN_ORDER, ChildSpec, ChildStatus, Kind, State

if TYPE_CHECKING:  # the configuration models are heavy to import; a child needs none
    from atalaia.config import SupervisorConfig

__all__ = ["SHUTDOWN_ORDER", "ChildSpec", "ChildStatus", "Kind", "State", "Supervisor"]

_T = TypeVar("_T")


class Supervisor:
    """Owns the child processes of one pipeline."""

    def __init__(
        self,
        config: SupervisorConfig,
        log_queue: Any,
        log_level: str = "INFO",
        log_queue_size: int = 10000,
        on_message: Callable[[str, object], None] | None = None,
    ) -> None:
        """`on_message` receives, on the monitor thread, every message a child sends other
        than heartbeats and log records, unchanged, with the child's name."""
        self.config = config
        self._mailbox = Mailbox()
        self._monitor = Monitor(
            config, self._mailbox, log_queue, log_level, log_queue_size, on_message
        )
        self._thread: threading.Thread | None = None

    # ---- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        self._mailbox.open()
        self._thread = threading.Thread(target=self._monitor.run, name="supervisor", daemon=True)
        self._thread.start()

    def add(self, spec: ChildSpec) -> None:
        """Start a new child now; ValueError if one of that name is supervised."""
        self._call(Add(spec), RuntimeError("the supervisor is not running"))

    def remove(self, name: str, timeout: float | None = None) -> None:
        """Stop a child for good (a camera deleted or disabled); returns once its process is
        gone: asked to stop, terminated after `timeout` (default: the configured shutdown
        timeout), killed 2 s later. The child leaves the status at once."""
        self._call(Remove(name, timeout), None)

    def restart(self, name: str, spec: ChildSpec | None = None) -> None:
        """Stop and start a child again, e.g. with a changed configuration; not counted
        against its restart budget, since nothing failed. Returns once the new process is
        started (or a remove or stop overtook the restart); KeyError if `name` is unknown."""
        self._call(Restart(name, spec), RuntimeError("the supervisor is not running"))

    def stop(self, timeout: float | None = None) -> None:
        """Shut everything down in order (cameras, then detectors) within a bounded time."""
        self._call(Shutdown(timeout), None)
        if self._thread is not None:
            self._thread.join(5)

    # ---- state -----------------------------------------------------------------------------

    def status(self) -> dict[str, dict[str, Any]]:
        now = time.monotonic()
        return {name: s.as_dict(now) for name, s in self._monitor.published.items()}

    def child(self, name: str) -> ChildStatus | None:
        """The child as last published (an immutable snapshot), or None."""
        return self._monitor.published.get(name)

    def send(self, name: str, message: object) -> bool:
        """Send a command to a child; False if it is not running."""
        return self._call(Send(name, message), False)

    # ---- internals -------------------------------------------------------------------------

    def _call(self, command: Command, refused: _T | BaseException) -> Any:
        """Post `command` and wait for the monitor to carry it out; `refused` is the answer
        (or the error) when no monitor runs (before `start`, after `stop`)."""
        if not self._mailbox.post(command):
            if isinstance(refused, BaseException):
                raise refused
            return refused
        done: Future[Any] = command.done
        return done.result()
