"""A drop counter shared by every process that logs into one writer.

Each process keeps its own exact count (see `NonBlockingQueueHandler.dropped_total`); this
counter adds them up in shared memory so the main process can report one figure for the
whole service without asking the children. Adding never waits: a process that finds the lock
taken keeps its drops and adds them at its next drop or next successful put.
"""

from __future__ import annotations

import multiprocessing
from multiprocessing.context import BaseContext
from typing import Any


class SharedDropCounter:
    """A 64-bit counter in shared memory with a lock that producers only ever try to take."""

    def __init__(self, ctx: BaseContext | None = None) -> None:
        context = ctx or multiprocessing.get_context("spawn")
        self._total: Any = context.RawValue("Q", 0)
        self._lock = context.Lock()

    def try_add(self, count: int) -> bool:
        """Add `count` unless another process holds the lock right now; never waits."""
        if not self._lock.acquire(False):
            return False
        try:
            self._total.value += count
        finally:
            self._lock.release()
        return True

    @property
    def value(self) -> int:
        """The total so far; the reader (metrics, not a hot path) may wait a moment for it."""
        with self._lock:
            return int(self._total.value)
