"""FrameJoin: one frame's answers from each of a camera's models, merged into one result.

A camera with `detect.detectors: [default, ppe]` sends the same `FrameRef` (one ring slot, no
copy) to each model's detector process. The answers arrive on each link's own thread, in the
order that model got the requests. Once every model has answered a frame (a result or a drop),
the join merges the results in the order of `detect.detectors` (`merge_detections`, so each
detection carries its model's name) and hands one `Detections` on.

A model that dropped the frame (stale, overload, detector down or failing) does not hold the
others back: the frame goes on with that model's part empty but with its class table kept (so
class ids, and the rules built on them, stay the same) and the model named in `missing`. The
camera keeps tracking on what the live models saw; rules that need the missing model hold
their state for that frame (`CameraAnalytics`), because "no helmet box" from a model that did
not look is not "no helmet". Only a frame that no model answered is dropped as a whole.

Frames leave in capture order, since tracking needs them so: a frame all of whose models
answered waits for older frames still waiting on a slower model. A model that has not answered
a frame `give_up_s` after its capture (max_age plus a grace: a detector drops anything older
than max_age itself, so such an answer is not coming) counts as `stale` for that frame, so a
frozen detector delays the others by at most that long.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from atalaia.detect import Detections, merge_detections
from atalaia.pipeline.detector_messages import DropCause


@dataclass(frozen=True, slots=True)
class JoinedFrame:
    """What the camera does its analytics on: one merged result for one frame."""

    seq: int
    ts: float
    detections: Detections
    missing: frozenset[str]  # models whose answer is not in `detections` (their drop causes)
    causes: dict[str, DropCause]

    @property
    def partial(self) -> bool:
        return bool(self.missing)


@dataclass
class _Pending:
    ts: float
    waiting: set[str]
    results: dict[str, Detections] = field(default_factory=dict)
    drops: dict[str, DropCause] = field(default_factory=dict)


OnFrame = Callable[[JoinedFrame], None]
OnDropped = Callable[[int, DropCause], None]


class FrameJoin:
    """Thread-safe: `expect` from the capture loop, `answer` from every link's thread.

    `on_frame` and `on_dropped` run one at a time and in sequence order (under the join's
    delivery lock), so tracking and rules never see two frames at once or out of order.
    """

    def __init__(
        self,
        models: list[str],
        on_frame: OnFrame,
        on_dropped: OnDropped,
        give_up_s: float = 2.5,
    ) -> None:
        if not models:
            raise ValueError("a frame join needs at least one model")
        self.models = list(models)
        self.on_frame = on_frame
        self.on_dropped = on_dropped
        self.give_up_s = give_up_s
        # The last class table each model announced: kept while it is down, so a partial
        # frame has the same class ids as a whole one.
        self.class_names: dict[str, tuple[str, ...]] = {}
        self._pending: dict[int, _Pending] = {}
        self._lock = threading.Lock()
        self._deliver_lock = threading.Lock()
        self._dirty = False

    def __len__(self) -> int:
        with self._lock:
            return len(self._pending)

    def set_class_names(self, model: str, names: list[str] | tuple[str, ...]) -> None:
        with self._lock:
            self.class_names[model] = tuple(names)

    def expect(self, seq: int, ts: float) -> None:
        """Frame `seq` is about to be sent to every model. Called before sending, so that
        no answer can arrive for a frame the join does not know yet; a model that refuses
        the request answers at once with its cause (`answer(model, seq, None, cause)`)."""
        with self._lock:
            self._pending[seq] = _Pending(ts, set(self.models))

    def answer(
        self, model: str, seq: int, result: Detections | None, cause: DropCause = "error"
    ) -> None:
        """A model's result for frame `seq`, or its drop (`result` None, with its cause)."""
        with self._lock:
            entry = self._pending.get(seq)
            if entry is None or model not in entry.waiting:
                return  # already given up on
            entry.waiting.discard(model)
            if result is None:
                entry.drops[model] = cause
            else:
                entry.results[model] = result
        self.flush()

    def model_lost(self, model: str) -> None:
        """A model's connection closed: its unanswered requests will never be answered."""
        with self._lock:
            waiting = [seq for seq, e in self._pending.items() if model in e.waiting]
        for seq in sorted(waiting):
            self.answer(model, seq, None, "no_detector")

    def flush(self, now: float | None = None) -> None:
        """Hand on every frame that is complete (or given up on), oldest first.

        Never waits for another thread's delivery: if one is running, it is told to look
        again before it stops, so the capture loop (which answers for refused requests) is
        never held up by tracking and rules running on a link's thread.
        """
        while True:
            with self._lock:
                self._dirty = True
            if not self._deliver_lock.acquire(blocking=False):
                return
            try:
                with self._lock:
                    self._dirty = False
                self._deliver_ready(now)
            finally:
                self._deliver_lock.release()
            with self._lock:
                if not self._dirty:
                    return

    def _deliver_ready(self, now: float | None) -> None:
        while True:
            with self._lock:
                if not self._pending:
                    return
                seq = min(self._pending)
                entry = self._pending[seq]
                if entry.waiting:
                    wall = time.time() if now is None else now
                    if wall - entry.ts < self.give_up_s:
                        return
                    for model in entry.waiting:
                        entry.drops[model] = "stale"
                    entry.waiting.clear()
                del self._pending[seq]
                tables = dict(self.class_names)
            self._deliver(seq, entry, tables)

    def _deliver(self, seq: int, entry: _Pending, tables: dict[str, tuple[str, ...]]) -> None:
        if not entry.results:
            self.on_dropped(seq, next(iter(entry.drops.values()), "error"))
            return
        parts: list[tuple[str, Detections]] = []
        for model in self.models:
            found = entry.results.get(model)
            if found is not None:
                parts.append((model, found))
            elif model in tables:
                parts.append((model, Detections.empty(tables[model])))
        missing = frozenset(m for m in self.models if m not in entry.results)
        causes = {m: entry.drops.get(m, "no_detector") for m in missing}
        self.on_frame(JoinedFrame(seq, entry.ts, merge_detections(parts), missing, causes))
