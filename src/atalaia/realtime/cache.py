"""ResultCache: detections of images seen recently, found by a hash of the whole image.

The user's note hashed the first 1000 characters of the base64 text; two frames of one camera
share their JPEG header (far longer than that), so they would collide and the second frame
would get the first one's detections. The key here is BLAKE2b over every byte of the decoded
image, so only a byte-identical image hits. Bounded twice: at most `max_entries` (least
recently used goes first) and each entry at most `ttl` seconds old (an expired entry is
never returned; it is removed when looked up, evicted, or counted).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

V = TypeVar("V")


def image_key(data: bytes) -> bytes:
    """The cache key of an image: a 128-bit BLAKE2b digest of all its bytes."""
    return hashlib.blake2b(data, digest_size=16).digest()


class ResultCache(Generic[V]):
    """Thread-safe: decoding threads look entries up, the event loop stores them."""

    def __init__(
        self, max_entries: int, ttl: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if max_entries < 0:
            raise ValueError("max_entries must not be negative")
        if ttl <= 0:
            raise ValueError("ttl must be positive")
        self.max_entries = max_entries
        self.ttl = ttl
        self._clock = clock
        self._entries: OrderedDict[bytes, tuple[float, V]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        """Entries still fresh (expired ones are removed on the way)."""
        with self._lock:
            self._purge(self._clock())
            return len(self._entries)

    def get(self, key: bytes) -> V | None:
        now = self._clock()
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or now - entry[0] > self.ttl:
                if entry is not None:
                    del self._entries[key]
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return entry[1]

    def put(self, key: bytes, value: V) -> None:
        if self.max_entries == 0:
            return
        now = self._clock()
        with self._lock:
            self._entries[key] = (now, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def _purge(self, now: float) -> None:
        expired = [k for k, (stored, _) in self._entries.items() if now - stored > self.ttl]
        for key in expired:
            del self._entries[key]
