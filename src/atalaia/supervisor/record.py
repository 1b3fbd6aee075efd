"""One supervised child as the monitor thread keeps it, and a stop under way.

Mutable, and touched by the monitor thread alone; everyone else sees `ChildStatus`, the
immutable snapshot `ChildRecord.snapshot()` makes for each publication.
"""

from __future__ import annotations

from concurrent.futures import Future
from dataclasses import dataclass, field
from enum import Enum, auto
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess

from atalaia.supervisor.policy import RestartPolicy
from atalaia.supervisor.state import ChildSpec, ChildStatus, Kind, State


class Then(Enum):
    """What follows once a child's process is gone."""

    RESPAWN = auto()  # a requested restart: start it again at once
    FAILED = auto()  # it died or hung: the restart policy decides
    REMOVE = auto()  # removed: forget it
    STOPPED = auto()  # the supervisor is stopping


class Phase(Enum):
    """How far a stop has gone: each step has a deadline, after which the next is taken."""

    ASKED = auto()  # `Stop` sent; waiting up to the timeout
    TERMINATED = auto()  # SIGTERM sent
    KILLED = auto()  # SIGKILL sent


@dataclass
class Exit:
    """A stop under way. `waiters` (the callers of remove, restart) are settled when it ends;
    a later command may retarget `then` (a remove overtakes a restart) or shorten `deadline`."""

    then: Then
    phase: Phase
    deadline: float
    timeout: float
    why: str = ""
    waiters: list[Future[None]] = field(default_factory=list)


@dataclass
class ChildRecord:
    """One child; read and written by the monitor thread only."""

    spec: ChildSpec
    kind: Kind
    policy: RestartPolicy
    state: State = State.STARTING
    process: BaseProcess | None = None
    conn: Connection | None = None
    conn_eof: bool = False
    progress_at: float = 0.0
    heartbeat_at: float = 0.0
    # Whether the child has reported progress since it was started: until then it is loading
    # (models, TensorRT engines) and is judged by `start_timeout`, not `heartbeat_timeout`.
    working: bool = False
    restarts: int = 0
    restart_due: float | None = None
    reason: str | None = None
    stats: object = None
    stats_pid: int | None = None
    exit: Exit | None = None

    def snapshot(self) -> ChildStatus:
        pid = self.process.pid if self.process is not None else None
        return ChildStatus(
            name=self.spec.name,
            kind=self.kind,
            state=self.state,
            pid=pid,
            restarts=self.restarts,
            restart_times=self.policy.history(),
            restart_window=self.policy.restart_window,
            heartbeat_at=self.heartbeat_at,
            reason=self.reason,
            stats=self.stats if pid is not None and self.stats_pid == pid else None,
        )
