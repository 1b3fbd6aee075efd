"""Requests to the monitor thread, the only thread that changes a child.

A caller's `add`, `remove`, `restart`, `send` or `stop` becomes a command in the `Mailbox`
plus one byte on the wake pipe the monitor already waits on with the children's pipes and
sentinels, so a command is seen at once. Each command carries a `Future` the monitor settles
when the command has taken effect (a removed child's process gone, a restarted one's new
process started); the caller waits on it, which keeps the blocking calls of old, while no
caller ever touches a child or holds a lock the monitor needs. As in Frigate's `watchdog.py`,
one loop owns the processes: nothing else starts, joins or kills them.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import threading
from concurrent.futures import Future
from dataclasses import dataclass, field
from multiprocessing.connection import Connection

from atalaia.supervisor.state import ChildSpec

_CTX = mp.get_context("spawn")


@dataclass(frozen=True, slots=True)
class Add:
    """Start a new child now; fails (ValueError) if the name is taken."""

    spec: ChildSpec
    done: Future[None] = field(default_factory=Future)


@dataclass(frozen=True, slots=True)
class Remove:
    """Stop a child for good; done once its process is gone."""

    name: str
    timeout: float | None
    done: Future[None] = field(default_factory=Future)


@dataclass(frozen=True, slots=True)
class Restart:
    """Stop a child and start it again (with `spec`, if given); done once the new process is
    started, or once a later remove or stop has overtaken it. KeyError if unknown."""

    name: str
    spec: ChildSpec | None
    done: Future[None] = field(default_factory=Future)


@dataclass(frozen=True, slots=True)
class Send:
    """Send `message` to a running child; the result says whether it went."""

    name: str
    message: object
    done: Future[bool] = field(default_factory=Future)


@dataclass(frozen=True, slots=True)
class Shutdown:
    """Stop every child, cameras first, within `timeout`; then the monitor ends."""

    timeout: float | None
    done: Future[None] = field(default_factory=Future)


Command = Add | Remove | Restart | Send | Shutdown


class Mailbox:
    """The command queue and its wake pipe.

    Open between `open()` and `close()`: `post` refuses a command outside that time, so none
    is left waiting for a monitor that is not there. The lock guards only the list (never held
    while spawning, joining or killing, nor while writing the wake byte)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: list[Command] = []
        self._open = False
        self.wake_r: Connection
        self._wake_w: Connection
        self.wake_r, self._wake_w = _CTX.Pipe(duplex=False)

    def open(self) -> None:
        with self._lock:
            self._open = True

    def post(self, command: Command) -> bool:
        """Queue `command` and wake the monitor; False if the monitor does not run."""
        with self._lock:
            if not self._open:
                return False
            wake = not self._items  # one byte per batch: the monitor takes them all at once
            self._items.append(command)
        if wake:
            self.wake()
        return True

    def wake(self) -> None:
        with contextlib.suppress(OSError):
            self._wake_w.send_bytes(b"w")

    def take(self) -> list[Command]:
        """Every queued command, oldest first (the monitor's side)."""
        while self.wake_r.poll():
            self.wake_r.recv_bytes()
        with self._lock:
            items, self._items = self._items, []
        return items

    def close(self) -> list[Command]:
        """Refuse further commands; return those still queued, for the monitor to refuse."""
        with self._lock:
            self._open = False
            items, self._items = self._items, []
        return items
