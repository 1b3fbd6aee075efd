"""A one-item mailbox between a worker thread and the UI: the newest value wins.

A worker that emitted a Qt signal per frame would queue frames in the UI's event queue whenever
the UI is behind, and the window would fall ever further behind (the freeze of note 000). With
this slot the worker replaces the unpainted value and signals only when the UI has taken the
previous one, so at most one notification per slot is ever waiting in the event queue.
"""

from __future__ import annotations

import threading
from typing import Generic, TypeVar

T = TypeVar("T")


class LatestSlot(Generic[T]):
    """`put` from the worker, `take` from the UI; counts the values replaced unseen."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._value: T | None = None
        self._pending = False
        self.replaced = 0

    def put(self, value: T) -> bool:
        """Store `value`; True when the UI must be notified (nothing was waiting for it)."""
        with self._lock:
            if self._pending:
                self.replaced += 1
                self._value = value
                return False
            self._value = value
            self._pending = True
            return True

    def take(self) -> T | None:
        """The newest value, once; None when it was already taken."""
        with self._lock:
            value, self._value, self._pending = self._value, None, False
            return value
