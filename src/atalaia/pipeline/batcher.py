"""RequestBatcher: which frames the detector runs next, and which it drops.

Latency stays bounded under overload by two rules. A camera has at most one request waiting:
a newer frame supersedes the older one (dropped as `overload`), so a slow detector never
builds a backlog. A request whose frame is older than its camera's maximum age is dropped
as `stale` instead of being inferred. What remains is served in the order the cameras began
waiting (a superseding frame keeps its camera's place), `batch_max` at a time, after waiting
at most `batch_timeout` for the batch to fill, so the cost of one model call is shared across
cameras without making any one of them wait long. `batch_max` is per model call: the detector
process runs one batcher for all its lanes and asks it for batches whenever lanes are free
(`atalaia.pipeline.detector_lanes`), what waits spread over them (`take_spread`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from atalaia.frames import FrameRef


@dataclass(frozen=True, slots=True)
class DetectRequest:
    ref: FrameRef
    max_age_s: float
    received: float  # monotonic time its camera began waiting (kept when superseded)

    def age(self, wall_now: float) -> float:
        return wall_now - self.ref.ts


class RequestBatcher:
    def __init__(self, batch_max: int, batch_timeout_s: float) -> None:
        if batch_max < 1:
            raise ValueError("batch_max must be at least 1")
        self.batch_max = batch_max
        self.batch_timeout_s = batch_timeout_s
        self._pending: dict[str, DetectRequest] = {}

    def __len__(self) -> int:
        return len(self._pending)

    def offer(self, request: DetectRequest) -> DetectRequest | None:
        """Queue `request`; return the request it superseded (to be reported as dropped).

        A newer frame keeps its camera's place in the line: it inherits the superseded
        request's `received`, so a camera waits from its first unanswered request, not from
        its newest frame.
        """
        previous = self._pending.get(request.ref.camera)
        if previous is not None and previous.ref.seq > request.ref.seq:
            return request  # arrived out of order: the newer one stays
        if previous is not None:
            request = replace(request, received=min(request.received, previous.received))
        self._pending[request.ref.camera] = request
        return previous

    def drop_camera(self, camera: str) -> DetectRequest | None:
        """Forget a camera's waiting request (its connection closed)."""
        return self._pending.pop(camera, None)

    def wait_time(self, mono_now: float) -> float | None:
        """Seconds until a batch should be formed; None when nothing is waiting."""
        if not self._pending:
            return None
        if len(self._pending) >= self.batch_max:
            return 0.0
        oldest = min(r.received for r in self._pending.values())
        return max(0.0, oldest + self.batch_timeout_s - mono_now)

    def take_spread(
        self, lanes: int, mono_now: float, wall_now: float
    ) -> tuple[list[list[DetectRequest]], list[DetectRequest]]:
        """Batches for `lanes` idle lanes, what is due spread over them (each at most
        `batch_max`), oldest first: (batches, stale requests dropped on the way).

        Two frames and two idle lanes are one frame each, run side by side: two frames on one
        lane while the other idled would answer the second a whole model call later. Frames
        that queue beyond what the lanes take stay for the next lane that frees up."""
        batches: list[list[DetectRequest]] = []
        dropped: list[DetectRequest] = []
        for free in range(lanes, 0, -1):
            share = -(-len(self._pending) // free)
            batch, stale = self.take(mono_now, wall_now, most=max(1, share))
            dropped += stale
            if not batch:
                break
            batches.append(batch)
        return batches, dropped

    def take(
        self, mono_now: float, wall_now: float, most: int | None = None
    ) -> tuple[list[DetectRequest], list[DetectRequest]]:
        """Form a batch if one is due: (batch, stale requests dropped on the way). It holds at
        most `batch_max` requests, and at most `most` when given."""
        wait = self.wait_time(mono_now)
        if wait is None or wait > 0:
            return [], []
        stale = [r for r in self._pending.values() if r.age(wall_now) > r.max_age_s]
        for r in stale:
            del self._pending[r.ref.camera]
        ready = sorted(self._pending.values(), key=lambda r: (r.received, r.ref.ts))
        ready = ready[: self.batch_max if most is None else min(most, self.batch_max)]
        for r in ready:
            del self._pending[r.ref.camera]
        return ready, stale
