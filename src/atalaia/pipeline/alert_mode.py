"""The alert recorder's mode: one named state instead of five flags, and the moves it may make.

Why a state machine: the recorder's behaviour depends on whether the database answers, whether
the spool holds events that must go first, and whether the camera is stopping. Spread over
separate flags, which move was legal was nowhere written down (the spool must not be cleared
once close() has given up and appended to it); here every change goes through
`ModeMachine.move`, which checks it against `TRANSITIONS`, under the recorder's one lock.

    NOT_STARTED  start()                                        -> NORMAL
    NORMAL       the spool holds a previous run's events        -> REPLAYING
    NORMAL       a commit fails, the queue moved to the spool   -> SPILLING
    NORMAL       a commit fails, no spool (or the disk refused) -> DOWN
    DOWN         a retry succeeds                               -> NORMAL
    DOWN         a retry fails, the queue moved to the spool    -> SPILLING
    SPILLING     backoff over: write the spool back first       -> REPLAYING
    REPLAYING    every kept event written, the file removed     -> NORMAL
    REPLAYING    fails again                                    -> SPILLING
    any of those close()                                        -> CLOSING
    CLOSING      the writer has ended                           -> CLOSED
    CLOSING      close()'s timeout passed, the writer busy      -> GIVEN_UP
    GIVEN_UP     the rest spooled or counted                    -> CLOSED

Once closing, the writer goes on writing (or spilling) what it can, but its own moves no longer
change the mode: a stop outranks the state of the database (`ModeMachine.writer_moves`).
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Mapping
from enum import Enum

log = logging.getLogger(__name__)


class RecorderMode(Enum):
    NOT_STARTED = "not_started"
    """Made, writer not running: `submit` queues (nothing is written until `start`)."""
    NORMAL = "normal"
    """The writer commits queued events as they come, in batches."""
    REPLAYING = "replaying"
    """The writer is committing the spool's events (a previous run's, or those spilled during
    an outage), oldest first, before anything queued in memory."""
    DOWN = "down"
    """The last commit failed for a reason a retry can fix; events wait in memory (no spool, or
    the disk refused them) and are retried with capped backoff."""
    SPILLING = "spilling"
    """Down, and the spool holds events: everything queued goes to disk as it arrives, so a
    killed process loses nothing; each retry replays the spool first."""
    CLOSING = "closing"
    """`close()` was called: the writer writes what is queued (database permitting) and ends."""
    GIVEN_UP = "given_up"
    """`close()`'s time ran out: the writer stops at its next wait; what is left goes to the
    spool, and the writer must no longer clear the spool."""
    CLOSED = "closed"
    """The writer has ended (or is abandoned in a commit) and the rest was spooled or counted."""


_WRITING = frozenset(
    {RecorderMode.NORMAL, RecorderMode.REPLAYING, RecorderMode.DOWN, RecorderMode.SPILLING}
)
ENDING = frozenset({RecorderMode.CLOSING, RecorderMode.GIVEN_UP, RecorderMode.CLOSED})

TRANSITIONS: Mapping[RecorderMode, frozenset[RecorderMode]] = {
    RecorderMode.NOT_STARTED: frozenset({RecorderMode.NORMAL, RecorderMode.CLOSING}),
    RecorderMode.NORMAL: frozenset(
        {RecorderMode.REPLAYING, RecorderMode.DOWN, RecorderMode.SPILLING, RecorderMode.CLOSING}
    ),
    RecorderMode.REPLAYING: frozenset(
        {RecorderMode.NORMAL, RecorderMode.SPILLING, RecorderMode.CLOSING}
    ),
    RecorderMode.DOWN: frozenset(
        {RecorderMode.NORMAL, RecorderMode.SPILLING, RecorderMode.CLOSING}
    ),
    RecorderMode.SPILLING: frozenset({RecorderMode.REPLAYING, RecorderMode.CLOSING}),
    RecorderMode.CLOSING: frozenset({RecorderMode.GIVEN_UP, RecorderMode.CLOSED}),
    RecorderMode.GIVEN_UP: frozenset({RecorderMode.CLOSED}),
    RecorderMode.CLOSED: frozenset(),
}
"""Where each mode may go next. Staying in the same mode is always allowed (a no-op)."""


class IllegalTransition(RuntimeError):
    """A move `TRANSITIONS` does not allow: a bug in the recorder, or a misuse such as
    starting it twice or after `close()`."""


class ModeMachine:
    """The current mode, changed only through `move` while holding `lock` (the recorder's one
    lock, so a stats snapshot sees the mode and the counters of the same instant)."""

    HISTORY = 32

    def __init__(self, lock: threading.Condition) -> None:
        self._lock = lock
        self._mode = RecorderMode.NOT_STARTED
        self._history: deque[RecorderMode] = deque([self._mode], maxlen=self.HISTORY)

    @property
    def mode(self) -> RecorderMode:
        with self._lock:
            return self._mode

    @property
    def history(self) -> tuple[RecorderMode, ...]:
        """The last modes entered, oldest first (for diagnosis and tests)."""
        with self._lock:
            return tuple(self._history)

    def is_(self, *modes: RecorderMode) -> bool:
        with self._lock:
            return self._mode in modes

    def move(self, to: RecorderMode) -> RecorderMode:
        """Enter `to`; returns the mode left. Raises `IllegalTransition` (logged at ERROR
        first, since the caller may be a thread nobody joins) when `TRANSITIONS` forbids it."""
        with self._lock:
            was = self._mode
            if to is was:
                return was
            if to not in TRANSITIONS[was]:
                log.error("alert recorder: illegal move %s -> %s", was.name, to.name)
                raise IllegalTransition(f"alert recorder cannot go from {was.name} to {to.name}")
            self._mode = to
            self._history.append(to)
            self._lock.notify_all()  # a writer waiting on the lock re-checks (closing, given up)
        log.debug("alert recorder: %s -> %s", was.name, to.name)
        return was

    def writer_moves(self, to: RecorderMode) -> bool:
        """The writer thread reports the database's state (`to` is one of NORMAL, REPLAYING,
        DOWN, SPILLING). Ignored once closing: the stop outranks it. True when entered."""
        if to not in _WRITING:
            raise IllegalTransition(f"{to.name} is not a writer's mode")
        with self._lock:
            if self._mode in ENDING:
                return False
            self.move(to)
            return True
