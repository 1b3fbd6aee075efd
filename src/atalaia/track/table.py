"""The track table other threads read: a dict swapped under a lock held only for dict work.

Design note 001: matching used to run inside the lock, so every reader (the API, drawing) waited
up to 100 ms behind it. Here the tracker copies what it needs under the lock, matches with the
lock released, and takes the lock again only to put the results in. A reader therefore waits at
most for a dict copy, whatever the matching costs.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

from atalaia.track.track import Track


class TrackTable:
    """Current tracks by id. Reads return immutable `Track`s, so no caller holds the lock."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self._tracks: dict[int, Track] = {}
        self._version = 0

    def snapshot(self) -> list[Track]:
        """Every current track (tracked and lost), ordered by id."""
        with self.lock:
            tracks = list(self._tracks.values())
        return sorted(tracks, key=lambda t: t.track_id)

    def get(self, track_id: int) -> Track | None:
        with self.lock:
            return self._tracks.get(track_id)

    def __len__(self) -> int:
        with self.lock:
            return len(self._tracks)

    @property
    def version(self) -> int:
        """Grows on every publish: a reader can tell whether anything changed."""
        return self._version

    def publish(self, tracks: Iterable[Track]) -> None:
        """Replace the table's content; call with `lock` held (the tracker does both steps of
        its write under one acquisition)."""
        self._tracks = {t.track_id: t for t in tracks}
        self._version += 1
