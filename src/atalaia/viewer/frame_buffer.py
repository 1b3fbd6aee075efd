"""Note 000's flow control for local video: a small buffer that drops the oldest frame.

The reader thread never waits: when the sender is behind (the service answers slower than
the video plays), `put` pushes out the oldest frame and counts it. The sender takes frames
oldest first, so what it sends is always among the newest `size` frames.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Generic, TypeVar

T = TypeVar("T")


class DropOldestBuffer(Generic[T]):
    """Thread-safe bounded FIFO; a full buffer drops its oldest item on `put`."""

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError("the buffer holds at least one frame")
        self.size = size
        self._items: deque[T] = deque()
        self._lock = threading.Lock()
        self.put_count = 0
        self.dropped = 0

    def put(self, item: T) -> None:
        with self._lock:
            if len(self._items) >= self.size:
                self._items.popleft()
                self.dropped += 1
            self._items.append(item)
            self.put_count += 1

    def take(self) -> T | None:
        with self._lock:
            return self._items.popleft() if self._items else None

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)
