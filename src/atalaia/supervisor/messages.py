"""What travels between a supervised child and its supervisor, over that child's own pipe.

Child -> supervisor: `Heartbeat` and `Log`, which the supervisor consumes itself; anything
else a child sends (the camera's `pipeline.camera_messages.AlertCommitted`) is handed to the
supervisor's `on_message` unchanged. Supervisor -> child: `Stop`, plus whatever a caller passes
to `Supervisor.send`.

Frozen dataclasses rather than positional tuples, so neither side takes a message apart by
index and a field added on one side cannot shift another's meaning. They are pickled by the
pipe; `slots` keeps each one small (a heartbeat goes every few seconds per child, a log entry
for every line a child logs).
"""

from __future__ import annotations

from dataclasses import dataclass

from atalaia.logs.entry import LogEntry


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """The child is alive, and when its work loop last made progress.

    `progress` is the child's `time.monotonic()` at its loop's last turn (CLOCK_MONOTONIC is
    system-wide on Linux, so the supervisor compares it with its own clock): a child whose
    heartbeat thread runs while its loop is stuck is seen as hung. `stats` is whatever the
    child's stats function returned; the supervisor does not look inside, it keeps the latest
    per process and shows it in its status."""

    progress: float
    stats: object


@dataclass(frozen=True, slots=True)
class Log:
    """One log record for the supervisor to hand to the log writer (see `logpipe`)."""

    entry: LogEntry


@dataclass(frozen=True, slots=True)
class Stop:
    """Finish what you are doing and exit; a child that does not within the supervisor's
    shutdown timeout is terminated, then killed."""


ChildToSupervisor = Heartbeat | Log
"""The messages the supervisor consumes itself; any other object goes to `on_message`."""
