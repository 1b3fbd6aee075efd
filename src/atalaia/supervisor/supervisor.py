"""Supervisor: starts the camera and detector processes, watches them, restarts what dies.

One monitor thread waits on every child's pipe and process sentinel at once, so a death is
seen the moment it happens and a missed heartbeat within a poll interval. A child that dies or
stops making progress for `heartbeat_timeout` is restarted after a growing delay; more than
`max_restarts` within `restart_window` stops its restarts, and its status says why.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing as mp
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import Any, Literal

from atalaia.config import SupervisorConfig
from atalaia.supervisor.child import ChildContext, child_main
from atalaia.supervisor.logpipe import forward_entry
from atalaia.supervisor.policy import RestartPolicy

log = logging.getLogger(__name__)

Kind = Literal["detector", "camera"]
State = Literal["starting", "running", "restarting", "failed", "stopped"]
# Shutdown order: cameras first (they feed the detectors), then detectors.
SHUTDOWN_ORDER: tuple[Kind, ...] = ("camera", "detector")
_CTX = mp.get_context("spawn")


@dataclass
class ChildSpec:
    """What to run: a module-level function taking a ChildContext, and what it starts with.

    `payload` is the target's own frozen start message (e.g. the pipeline's `CameraSpec`),
    pickled into the child once at spawn."""

    name: str
    kind: Kind
    tag: str
    target: Callable[[ChildContext], None]
    payload: object = None


@dataclass
class Child:
    spec: ChildSpec
    policy: RestartPolicy
    state: State = "starting"
    process: BaseProcess | None = None
    conn: Connection | None = None
    started_at: float = 0.0
    progress_at: float = 0.0
    heartbeat_at: float = 0.0
    restarts: int = 0
    restart_due: float | None = None
    reason: str | None = None
    # The latest heartbeat's stats and the process that sent them: a snapshot belongs to one
    # process, so a restarted child never shows its predecessor's counters under its own pid.
    stats: dict[str, Any] = field(default_factory=dict)
    stats_pid: int | None = None

    def status(self, now: float) -> dict[str, Any]:
        pid = self.process.pid if self.process is not None else None
        return {
            "name": self.spec.name,
            "kind": self.spec.kind,
            "state": self.state,
            "pid": pid,
            "restarts": self.restarts,
            "restarts_in_window": self.policy.recent(now),
            "last_heartbeat_age_s": round(now - self.heartbeat_at, 3)
            if self.heartbeat_at
            else None,
            "reason": self.reason,
            "stats": self.stats if pid is not None and self.stats_pid == pid else {},
        }


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
        self.config = config
        self.log_queue = log_queue
        self.log_level = log_level
        self.log_queue_size = log_queue_size
        self.on_message = on_message
        self._children: dict[str, Child] = {}
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._wake_r, self._wake_w = _CTX.Pipe(duplex=False)
        self._thread: threading.Thread | None = None

    # ---- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._monitor, name="supervisor", daemon=True)
        self._thread.start()

    def add(self, spec: ChildSpec) -> None:
        """Start a new child now."""
        with self._lock:
            if spec.name in self._children:
                raise ValueError(f"{spec.name} is already supervised")
            child = Child(spec, RestartPolicy(self.config.max_restarts, self.config.restart_window))
            self._children[spec.name] = child
            self._spawn(child)
        self._wake()

    def remove(self, name: str, timeout: float | None = None) -> None:
        """Stop a child for good (a camera deleted or disabled)."""
        with self._lock:
            child = self._children.pop(name, None)
        if child is not None:
            self._stop_children([child], timeout or self.config.shutdown_timeout)
            child.state = "stopped"
        self._wake()

    def restart(self, name: str, spec: ChildSpec | None = None) -> None:
        """Stop and start a child again, e.g. with a changed configuration; not counted
        against its restart budget, since nothing failed."""
        with self._lock:
            child = self._children[name]
            # Out of the monitor's hands until it runs again: otherwise the monitor sees the
            # exit it asked for as a crash, counts it and schedules a second process.
            child.state, child.restart_due = "restarting", None
        self._stop_children([child], self.config.shutdown_timeout)
        with self._lock:
            if spec is not None:
                child.spec = spec
            child.reason = None
            self._spawn(child)
        self._wake()

    def stop(self, timeout: float | None = None) -> None:
        """Shut everything down in order within a bounded time."""
        self._stop.set()
        self._wake()
        if self._thread is not None:
            self._thread.join(5)
        budget = timeout or self.config.shutdown_timeout
        deadline = time.monotonic() + budget
        for kind in SHUTDOWN_ORDER:
            with self._lock:
                group = [c for c in self._children.values() if c.spec.kind == kind]
            self._stop_children(group, max(0.5, (deadline - time.monotonic()) / 2))
            for child in group:
                child.state = "stopped"

    # ---- state -----------------------------------------------------------------------------

    def status(self) -> dict[str, dict[str, Any]]:
        now = time.monotonic()
        with self._lock:
            return {name: c.status(now) for name, c in self._children.items()}

    def child(self, name: str) -> Child | None:
        with self._lock:
            return self._children.get(name)

    def send(self, name: str, message: tuple[Any, ...]) -> bool:
        """Send a command to a child; False if it is not running."""
        with self._lock:
            child = self._children.get(name)
            conn = child.conn if child is not None and child.state == "running" else None
        if conn is None:
            return False
        try:
            conn.send(message)
            return True
        except OSError:
            return False

    # ---- internals -------------------------------------------------------------------------

    def _wake(self) -> None:
        with contextlib.suppress(OSError):
            self._wake_w.send_bytes(b"w")

    def _spawn(self, child: Child) -> None:
        parent_conn, child_conn = _CTX.Pipe(duplex=True)
        spec = child.spec
        ctx = ChildContext(
            name=spec.name,
            tag=spec.tag,
            conn=child_conn,
            log_level=self.log_level,
            log_queue_size=self.log_queue_size,
            heartbeat_interval=self.config.heartbeat_interval,
            payload=spec.payload,
        )
        process = _CTX.Process(
            target=child_main, args=(spec.target, ctx), name=spec.name, daemon=False
        )
        process.start()
        child_conn.close()  # only the child holds its end: EOF tells us it is gone
        now = time.monotonic()
        child.process, child.conn = process, parent_conn
        child.stats, child.stats_pid = {}, process.pid
        child.state, child.started_at = "running", now
        child.progress_at = child.heartbeat_at = now
        child.restart_due = None
        log.info("started %s (pid %s)", spec.name, process.pid)

    def _stop_children(self, children: list[Child], timeout: float) -> None:
        live = [c for c in children if c.process is not None and c.process.is_alive()]
        for c in live:
            try:
                assert c.conn is not None
                c.conn.send(("stop",))
            except (OSError, AssertionError):
                pass
        deadline = time.monotonic() + timeout
        for c in live:
            assert c.process is not None
            c.process.join(max(0.0, deadline - time.monotonic()))
        for c in live:
            assert c.process is not None
            if c.process.is_alive():
                log.warning("%s did not stop in %.1fs; terminating", c.spec.name, timeout)
                c.process.terminate()
                c.process.join(2)
            if c.process.is_alive():
                c.process.kill()
                c.process.join(2)
        for c in children:
            if c.conn is not None:
                self._receive(c)  # last words: a crash traceback, final stats
                c.conn.close()
                c.conn = None
            if c.process is not None:
                c.process.close() if not c.process.is_alive() else None
                c.process = None

    def _monitor(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                children = list(self._children.values())
            waitables: list[Any] = [self._wake_r]
            for c in children:
                if c.state == "running" and c.conn is not None and c.process is not None:
                    waitables += [c.conn, c.process.sentinel]
            for ready in wait(waitables, timeout=0.5):
                if ready is self._wake_r:
                    self._wake_r.recv_bytes()
                    continue
                for c in children:
                    if c.conn is ready:
                        self._receive(c)
            if self._stop.is_set():
                return
            self._check(time.monotonic())

    def _receive(self, child: Child) -> None:
        with self._lock:
            conn = child.conn
            pid = child.process.pid if child.process is not None else None
        if conn is None:  # closed meanwhile by a stop on another thread
            return
        try:
            while conn.poll():
                message = conn.recv()
                if message[0] == "heartbeat":
                    _, progress, stats = message
                    with self._lock:
                        if child.conn is not conn:
                            continue  # a heartbeat of a process replaced meanwhile
                        child.heartbeat_at = time.monotonic()
                        child.progress_at = max(child.progress_at, progress)
                        child.stats, child.stats_pid = stats, pid
                elif message[0] == "log":
                    forward_entry(self.log_queue, message[1])
                elif self.on_message is not None:
                    self.on_message(child.spec.name, message)
        except (EOFError, OSError):
            pass  # the process is going; its sentinel reports the death
        except Exception:
            log.exception("bad message from %s", child.spec.name)

    def _check(self, now: float) -> None:
        with self._lock:
            for child in list(self._children.values()):
                if child.state == "restarting" and child.restart_due is not None:
                    if now >= child.restart_due:
                        self._spawn(child)
                    continue
                if child.state != "running" or child.process is None:
                    continue
                exitcode = child.process.exitcode
                if exitcode is not None:
                    self._failed(child, now, f"exited with code {exitcode}")
                elif now - child.progress_at > self.config.heartbeat_timeout:
                    self._failed(
                        child,
                        now,
                        f"no heartbeat progress for {now - child.progress_at:.1f}s "
                        f"(timeout {self.config.heartbeat_timeout}s)",
                    )

    def _failed(self, child: Child, now: float, why: str) -> None:
        name = child.spec.name
        if child.process is not None and child.process.is_alive():
            child.process.kill()
            child.process.join(2)
        self._stop_children([child], 0.1)
        if child.policy.allow(now):
            child.restarts += 1
            delay = child.policy.backoff(now)
            child.state, child.restart_due = "restarting", now + delay
            child.reason = f"{why}; restart {child.restarts} in {delay:.1f}s"
            log.warning("%s %s; restarting in %.1fs", name, why, delay)
        else:
            child.state = "failed"
            child.reason = (
                f"{why}; not restarted: more than {self.config.max_restarts} restarts within "
                f"{self.config.restart_window:.0f}s"
            )
            log.error(
                "%s %s; giving up: %d restarts within %.0fs",
                name,
                why,
                child.policy.recent(now),
                self.config.restart_window,
            )
