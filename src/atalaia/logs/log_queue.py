"""The bounded queue between every process and the writer, carrying its drop counter along.

Child processes receive one object, the queue, and `configure_process_logging` finds the
shared counter on it; the supervisor has nothing extra to pass and nothing to forget.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.queues
from multiprocessing.context import BaseContext
from typing import TYPE_CHECKING, Any

from atalaia.logs.drop_counter import SharedDropCounter

if TYPE_CHECKING:
    _QueueBase = multiprocessing.queues.Queue[Any]
else:  # the class is not subscriptable at run time
    _QueueBase = multiprocessing.queues.Queue


class LogQueue(_QueueBase):
    """A `multiprocessing` queue of `LogEntry` items plus the `SharedDropCounter` of its writer.

    `multiprocessing.Queue` pickles a fixed tuple of its own state when a process is spawned;
    the counter is appended to that state so it travels with the queue (the same way the
    standard library's `JoinableQueue` carries its extra semaphore).
    """

    def __init__(self, maxsize: int, *, ctx: BaseContext | None = None) -> None:
        context = ctx or multiprocessing.get_context("spawn")
        super().__init__(maxsize, ctx=context)
        self.drop_counter = SharedDropCounter(context)

    # The overrides widen typeshed's opaque state type, as its own stub for JoinableQueue does.
    def __getstate__(self) -> tuple[Any, SharedDropCounter]:  # type: ignore[override]
        return (super().__getstate__(), self.drop_counter)

    def __setstate__(self, state: tuple[Any, SharedDropCounter]) -> None:  # type: ignore[override]
        queue_state, self.drop_counter = state
        super().__setstate__(queue_state)
