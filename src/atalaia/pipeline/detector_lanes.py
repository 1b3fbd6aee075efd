"""LanePool: the detector process's model calls, one thread per lane, off its message loop.

Why: with one thread doing everything, a frame that arrived while the model ran waited for
the whole batch, and with a batch split over two single-threaded runs each core waited for
the slower share before either could start again. Measured on 2-core CPUs (docs/benchmarks.md)
those waits were the tail of capture-to-result latency at nominal load and the gap between
the pipeline and the model alone at saturation. Here each lane takes its next frames as soon
as it is free, and the loop that owns the cameras' connections keeps reading, superseding and
answering while the model runs.

Ownership: the loop's thread (the owner) alone submits jobs, collects what finished and
touches the connections; a lane thread only runs the model and posts the outcome. Completions
wake the owner through a pipe it waits on beside the connections.
"""

from __future__ import annotations

import contextlib
import os
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from atalaia.detect import Detections, DetectorError
from atalaia.frames import FrameRing
from atalaia.pipeline.batcher import DetectRequest

LaneRun = Callable[[int, Sequence[NDArray[np.uint8]]], list[Detections]]


@dataclass(frozen=True, slots=True)
class LaneJob:
    """Frames handed to one lane: each request with the ring its pixels are read from."""

    requests: tuple[DetectRequest, ...]
    rings: tuple[FrameRing, ...]
    views: tuple[NDArray[np.uint8], ...]


@dataclass(frozen=True, slots=True)
class LaneOutcome:
    """What a lane did with a job: results (one per request), or the detector's error."""

    lane: int
    requests: tuple[DetectRequest, ...]
    rings: tuple[FrameRing, ...]
    results: tuple[Detections, ...]
    error: DetectorError | None
    infer_ms: float


class LaneCrash(RuntimeError):
    """A lane thread failed with something other than a `DetectorError`: the process ends."""


class LanePool:
    """`lanes` threads, each running `run(lane, frames)` on the jobs its owner submits."""

    def __init__(self, run: LaneRun, lanes: int) -> None:
        if lanes < 1:
            raise ValueError("a lane pool needs at least one lane")
        self._run = run
        self._inboxes: list[queue.SimpleQueue[LaneJob | None]] = [
            queue.SimpleQueue() for _ in range(lanes)
        ]
        self._outcomes: queue.SimpleQueue[LaneOutcome | BaseException] = queue.SimpleQueue()
        self._busy: dict[int, float] = {}  # lane -> monotonic start of its job (owner only)
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        self._threads = [
            threading.Thread(target=self._serve, args=(lane,), name=f"lane-{lane}", daemon=True)
            for lane in range(lanes)
        ]
        for thread in self._threads:
            thread.start()

    @property
    def lanes(self) -> int:
        return len(self._threads)

    @property
    def wake_fd(self) -> int:
        """Readable when a job has finished: wait on it beside the connections."""
        return self._wake_r

    def idle(self) -> list[int]:
        return [lane for lane in range(self.lanes) if lane not in self._busy]

    def busy(self) -> int:
        return len(self._busy)

    def oldest_start(self) -> float | None:
        """Monotonic start of the longest-running job; None when every lane is idle."""
        return min(self._busy.values(), default=None)

    def submit(self, lane: int, job: LaneJob) -> None:
        if lane in self._busy:
            raise RuntimeError(f"lane {lane} is busy")
        self._busy[lane] = time.monotonic()
        self._inboxes[lane].put(job)

    def finished(self) -> list[LaneOutcome]:
        """The jobs that finished since the last call; their lanes are idle again.

        Raises `LaneCrash` when a lane failed unexpectedly, as the model call would have in
        the owner's thread.
        """
        with contextlib.suppress(BlockingIOError):
            os.read(self._wake_r, 4096)
        done: list[LaneOutcome] = []
        while True:
            try:
                outcome = self._outcomes.get_nowait()
            except queue.Empty:
                return done
            if isinstance(outcome, BaseException):
                raise LaneCrash(f"a detector lane failed: {outcome!r}") from outcome
            self._busy.pop(outcome.lane, None)
            done.append(outcome)

    def close(self) -> None:
        """Let running jobs finish, then end the threads."""
        for inbox in self._inboxes:
            inbox.put(None)
        for thread in self._threads:
            thread.join()
        os.close(self._wake_r)
        os.close(self._wake_w)

    def _serve(self, lane: int) -> None:
        inbox = self._inboxes[lane]
        while (job := inbox.get()) is not None:
            started = time.perf_counter()
            results: tuple[Detections, ...] = ()
            error: DetectorError | None = None
            try:
                results = tuple(self._run(lane, job.views))
            except DetectorError as exc:
                error = exc
            except BaseException as exc:  # handed to the owner, which ends the process
                self._outcomes.put(exc)
                self._wake()
                return
            infer_ms = (time.perf_counter() - started) * 1000
            # The views are not passed on: the owner may close a ring once its camera is gone.
            self._outcomes.put(LaneOutcome(lane, job.requests, job.rings, results, error, infer_ms))
            del job
            self._wake()

    def _wake(self) -> None:
        with contextlib.suppress(OSError):
            os.write(self._wake_w, b"\0")
