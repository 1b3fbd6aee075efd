"""What runs inside every supervised process: logging, heartbeats, stop requests.

Each child talks to the supervisor over its own pipe, created for that process alone. Nothing is
shared with siblings (no `multiprocessing.Queue`, whose cross-process lock a `kill -9` in the
middle of a write leaves held for everyone), so killing one process cannot wedge another.

A heartbeat carries the time the worker's loop last made progress, not just "the process is
alive": a camera stuck in a blocked read still has a live heartbeat thread, and the supervisor
must see it as hung.
"""

from __future__ import annotations

import gc
import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

from atalaia.supervisor.messages import Heartbeat, Stop

log = logging.getLogger(__name__)

Stats = object
"""What a child's stats function returns: opaque here, carried by each `Heartbeat` and shown
unchanged in the supervisor's status (the pipeline's workers send their own snapshots)."""


@dataclass
class ChildContext:
    """Everything a child needs from its parent; picklable for the spawn start method."""

    name: str
    tag: str
    conn: Connection
    log_level: str
    log_queue_size: int
    heartbeat_interval: float
    payload: object = None  # the target's typed start message (see ChildSpec)
    nice: int = 0  # CPU priority increment (SupervisorConfig.nice)
    stop_event: threading.Event = field(default_factory=threading.Event, init=False, repr=False)
    _progress: float = field(default=0.0, init=False, repr=False)
    _stats: Callable[[], Stats] | None = field(default=None, init=False, repr=False)
    _send_lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def __getstate__(self) -> dict[str, Any]:
        state = {
            k: v
            for k, v in self.__dict__.items()
            if k not in ("stop_event", "_send_lock", "_stats")
        }
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.stop_event = threading.Event()
        self._send_lock = threading.Lock()
        self._stats = None

    def progress(self, at: float | None = None) -> None:
        """Called by the worker's loop each time round: the heartbeat reports it.

        `at`: the monotonic time the work last moved, when that is earlier than now (a loop
        that hands its work to threads reports when the oldest unfinished piece started)."""
        self._progress = time.monotonic() if at is None else at

    def stats_from(self, fn: Callable[[], Stats]) -> None:
        """Register the function whose result travels with each heartbeat."""
        self._stats = fn

    def send(self, message: object) -> bool:
        """Send to the supervisor; False (and stop) when the supervisor is gone."""
        try:
            with self._send_lock:
                self.conn.send(message)
            return True
        except (BrokenPipeError, ConnectionResetError, EOFError, OSError):
            self.stop_event.set()
            return False

    @property
    def stopping(self) -> bool:
        return self.stop_event.is_set()


def _heartbeats(ctx: ChildContext) -> None:
    while not ctx.stop_event.wait(ctx.heartbeat_interval):
        try:
            stats = ctx._stats() if ctx._stats is not None else {}
        except Exception as exc:  # a stats bug must not stop the heartbeat
            stats = {"stats_error": repr(exc)}
        if not ctx.send(Heartbeat(ctx._progress, stats)):
            log.warning("supervisor gone; stopping")
            return


def _commands(ctx: ChildContext) -> None:
    """Read the supervisor's commands; EOF means the parent died, so this child ends too."""
    while not ctx.stop_event.is_set():
        try:
            if not ctx.conn.poll(0.5):
                continue
            message = ctx.conn.recv()
        except (EOFError, OSError):
            ctx.stop_event.set()
            return
        if isinstance(message, Stop):
            ctx.stop_event.set()


def tune_gc() -> None:
    """Design note 001: no collector pauses on the per-frame path.

    Everything built during start-up (modules, the model, configuration) is moved to a
    permanent generation with `gc.freeze()`, so no later collection walks it, and automatic
    collection is turned off: `idle_collect()` runs the collections at a moment the loop
    chooses, between frames.
    """
    gc.collect()
    gc.freeze()
    gc.disable()


_last_full = [0.0]


def idle_collect(last: float, every: float = 1.0, full_every: float = 60.0) -> float:
    """Collect the young generations if `every` seconds passed, and everything (cheap once
    the start-up heap is frozen) every `full_every`; call it where a pause is harmless."""
    now = time.monotonic()
    if now - last < every:
        return last
    if now - _last_full[0] >= full_every:
        gc.collect()
        _last_full[0] = now
    else:
        gc.collect(1)
    return now


def lower_priority(increment: int) -> None:
    """Run this process `increment` nice levels below its parent: frame work yields the CPU
    to interactive programs on the same machine (the desktop viewer's UI thread, eight cameras
    on two cores: 140-383 stalls over 50 ms a minute at the service's priority, 1-87 at +10;
    docs/viewer.md). Lowering a priority needs no privilege."""
    if increment <= 0 or not hasattr(os, "nice"):  # Windows has no nice levels
        return
    try:
        os.nice(increment)
    except OSError as exc:  # the service runs; only its priority is not lowered
        log.warning("cannot lower the CPU priority by %d: %s", increment, exc)


def child_main(target: Callable[[ChildContext], None], ctx: ChildContext) -> None:
    """Entry point of every supervised process."""
    from atalaia.logs import configure_process_logging
    from atalaia.supervisor.logpipe import PipeLogQueue

    log_queue = PipeLogQueue(ctx, ctx.log_queue_size)
    configure_process_logging(log_queue, tag=ctx.tag, level=ctx.log_level)
    signal.signal(signal.SIGTERM, lambda *_: ctx.stop_event.set())
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the supervisor decides the shutdown order
    lower_priority(ctx.nice)
    # No progress reported here: until the worker's loop reports its first, the child is
    # loading (a detector opening its models) and is judged by `start_timeout`.
    threading.Thread(target=_heartbeats, args=(ctx,), name="heartbeat", daemon=True).start()
    threading.Thread(target=_commands, args=(ctx,), name="commands", daemon=True).start()
    log.info("%s started (pid %d)", ctx.name, os.getpid())
    try:
        target(ctx)
    except Exception:
        log.exception("%s crashed", ctx.name)
        raise SystemExit(1) from None
    finally:
        ctx.stop_event.set()
        log.info("%s stopped", ctx.name)
        logging.shutdown()
        log_queue.flush()
