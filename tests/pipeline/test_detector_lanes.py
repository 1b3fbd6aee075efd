"""LanePool: model calls on their own threads, outcomes collected by the owner's thread."""

from __future__ import annotations

import select
import threading
import time
from collections.abc import Sequence

import numpy as np
import pytest
from numpy.typing import NDArray

from atalaia.detect import Detections, DetectorError
from atalaia.frames import FrameRef
from atalaia.pipeline.batcher import DetectRequest
from atalaia.pipeline.detector_lanes import LaneCrash, LaneJob, LaneOutcome, LanePool


def job(*cameras: str) -> LaneJob:
    requests = tuple(DetectRequest(FrameRef(c, 0, 1, 0.0), 0.5, 0.0) for c in cameras)
    views = tuple(np.zeros((4, 4, 3), np.uint8) for _ in cameras)
    return LaneJob(requests, (), views)


def collect(pool: LanePool, count: int, timeout: float = 5.0) -> list[LaneOutcome]:
    """Wait on the wake descriptor, as the detector loop does, until `count` jobs finished."""
    done: list[LaneOutcome] = []
    deadline = time.monotonic() + timeout
    while len(done) < count:
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"only {len(done)} of {count} jobs finished"
        select.select([pool.wake_fd], [], [], remaining)
        done.extend(pool.finished())
    return done


def test_lanes_run_at_once_and_each_outcome_frees_its_lane() -> None:
    both_inside = threading.Barrier(2, timeout=5)

    def run(lane: int, frames: Sequence[NDArray[np.uint8]]) -> list[Detections]:
        both_inside.wait()  # only returns if the other lane is inside its call too
        return [Detections.empty(("person",)) for _ in frames]

    pool = LanePool(run, 2)
    try:
        assert pool.idle() == [0, 1] and pool.oldest_start() is None
        before = time.monotonic()
        pool.submit(0, job("a", "b"))
        pool.submit(1, job("c"))
        assert pool.idle() == [] and pool.busy() == 2
        start = pool.oldest_start()
        assert start is not None and start >= before
        with pytest.raises(RuntimeError, match="busy"):
            pool.submit(0, job("d"))
        outcomes = sorted(collect(pool, 2), key=lambda o: o.lane)
        assert [len(o.results) for o in outcomes] == [2, 1]
        assert [r.ref.camera for r in outcomes[0].requests] == ["a", "b"]
        assert all(o.error is None and o.infer_ms >= 0 for o in outcomes)
        assert pool.idle() == [0, 1] and pool.oldest_start() is None
    finally:
        pool.close()


def test_a_detector_error_is_an_outcome_and_the_lane_goes_on() -> None:
    def run(lane: int, frames: Sequence[NDArray[np.uint8]]) -> list[Detections]:
        if len(frames) == 2:
            raise DetectorError("model failed on this batch")
        return [Detections.empty(("person",))]

    pool = LanePool(run, 1)
    try:
        pool.submit(0, job("a", "b"))
        (failed,) = collect(pool, 1)
        assert isinstance(failed.error, DetectorError) and failed.results == ()
        pool.submit(0, job("a"))
        (served,) = collect(pool, 1)
        assert served.error is None and len(served.results) == 1
    finally:
        pool.close()


def test_an_unexpected_failure_reaches_the_owner() -> None:
    def run(lane: int, frames: Sequence[NDArray[np.uint8]]) -> list[Detections]:
        raise MemoryError("out of memory in the model")

    pool = LanePool(run, 2)
    try:
        pool.submit(1, job("a"))
        with pytest.raises(LaneCrash, match="out of memory"):
            collect(pool, 1)
    finally:
        pool.close()
