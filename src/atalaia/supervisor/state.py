"""What a supervised child is (its spec) and what the supervisor says about it (its status).

`ChildStatus` is the immutable snapshot the monitor thread publishes after every change:
readers (the API, `/metrics`, the pipeline's status) take it without any lock, so a status
request never waits behind a spawn, a join or a kill.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal

from atalaia.supervisor.child import ChildContext


class Kind(StrEnum):
    """What a child is for; decides the shutdown order."""

    DETECTOR = "detector"
    CAMERA = "camera"


# Shutdown order: cameras first (they feed the detectors), then detectors.
SHUTDOWN_ORDER: tuple[Kind, ...] = (Kind.CAMERA, Kind.DETECTOR)


class State(StrEnum):
    """A child's state as the status reports it (the values are the JSON the web UI reads)."""

    STARTING = "starting"
    """Accepted, its first process not started yet."""
    RUNNING = "running"
    """A process runs (or is being stopped for a failure: the next state follows at once)."""
    RESTARTING = "restarting"
    """Between processes: a requested restart stopping the old one, or a failure's delay."""
    FAILED = "failed"
    """Restarts given up: too many within the window; `reason` says why."""
    STOPPED = "stopped"
    """Stopped for good (removed, or the supervisor stopped)."""


@dataclass(frozen=True)
class ChildSpec:
    """What to run: a module-level function taking a ChildContext, and what it starts with.

    `payload` is the target's own frozen start message (e.g. the pipeline's `CameraSpec`),
    pickled into the child once at spawn. `kind` also accepts the plain strings ("camera",
    "detector") older callers pass; it is always a `Kind` once built."""

    name: str
    kind: Kind | Literal["detector", "camera"]
    tag: str
    target: Callable[[ChildContext], None]
    payload: object = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", Kind(self.kind))


@dataclass(frozen=True, slots=True)
class ChildStatus:
    """One child as the monitor thread last published it.

    `stats` belongs to the process `pid` (None until that process's first heartbeat), so a
    restarted child never shows its predecessor's counters under its own pid."""

    name: str
    kind: Kind
    state: State
    pid: int | None
    restarts: int
    restart_times: tuple[float, ...]
    """When each restart in the window happened (monotonic), for `restarts_in_window`."""
    restart_window: float
    heartbeat_at: float
    """Monotonic time of the latest heartbeat; 0.0 when none came yet."""
    reason: str | None
    stats: object

    def restarts_in_window(self, now: float) -> int:
        return sum(1 for t in self.restart_times if now - t <= self.restart_window)

    def as_dict(self, now: float) -> dict[str, Any]:
        """The status entry of the API and `/metrics` (strings, numbers, the stats object)."""
        return {
            "name": self.name,
            "kind": self.kind.value,
            "state": self.state.value,
            "pid": self.pid,
            "restarts": self.restarts,
            "restarts_in_window": self.restarts_in_window(now),
            "last_heartbeat_age_s": round(now - self.heartbeat_at, 3)
            if self.heartbeat_at
            else None,
            "reason": self.reason,
            "stats": {} if self.stats is None else self.stats,
        }
