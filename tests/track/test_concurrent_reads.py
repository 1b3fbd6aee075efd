"""Design note 001: the track table is read while a match runs, without waiting for it.

The match is made to last by a cost function that blocks on an Event until the reader has
finished, so the reads are known to overlap the match: no timing luck involved. A tracker that
held the table's lock while matching would make the first read wait out the match (here, the
5 s safety timeout), and the bound on each read would fail.
"""

from __future__ import annotations

import threading
import time

import numpy as np
from numpy.typing import NDArray

from atalaia.track import ByteTracker, TrackUpdate, iou_cost
from tests.track.support import box_at, dets

READ_BOUND_S = 0.05  # loose: a dict copy takes microseconds


def test_readers_never_wait_for_a_running_match() -> None:
    slow = threading.Event()
    in_match = threading.Event()
    release = threading.Event()

    def cost(tracks: NDArray[np.float64], boxes: NDArray[np.float64]) -> NDArray[np.float64]:
        if slow.is_set():
            in_match.set()
            release.wait(5.0)
        return iou_cost(tracks, boxes)

    tracker = ByteTracker(cost=cost)
    for i in range(3):
        tracker.update(dets([box_at(10 + 5 * i, 10), box_at(200, 50)]), i * 0.2)
    before = tracker.tracks()
    assert len(before) == 2

    slow.set()
    result: list[TrackUpdate] = []
    updater = threading.Thread(
        target=lambda: result.append(tracker.update(dets([box_at(25, 10)]), 0.6)), daemon=True
    )
    updater.start()
    assert in_match.wait(5.0), "the match never started"

    worst = 0.0
    for _ in range(200):
        t0 = time.perf_counter()
        seen = tracker.tracks()
        one = tracker.table.get(before[0].track_id)
        worst = max(worst, time.perf_counter() - t0)
        assert seen == before and one == before[0]  # the old, consistent table
    assert updater.is_alive(), "the match should still be running during the reads"
    assert worst < READ_BOUND_S, f"a read waited {worst * 1000:.1f} ms behind the match"

    release.set()
    updater.join(5.0)
    assert not updater.is_alive() and result
    after = {t.track_id: t for t in tracker.tracks()}
    assert after[before[0].track_id].updated_at == 0.6
    assert after[before[1].track_id].lost
