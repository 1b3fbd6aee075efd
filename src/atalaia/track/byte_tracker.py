"""ByteTracker: a camera's multi-object tracker, in the manner of ByteTrack (Zhang et al. 2022).

Each update:

1. every track is predicted to the frame's capture time (constant-velocity Kalman filter, in
   seconds, so detection may run at any rate and a lost track keeps moving);
2. high-score detections are matched to confirmed tracks, lost ones included, on IoU with an
   optimal assignment;
3. low-score detections are matched to the tracks still unmatched: a half-hidden person who
   scores 0.3 keeps their id instead of being dropped and born again later;
4. high-score detections left over confirm tentative tracks, or start new ones.

A track needs `min_hits` detections before it gets an id (a single false positive never shows
up), is `lost` while unmatched, and is removed `lost_timeout` seconds after its last detection.

Locking (design note 001): the expensive part runs without the table's lock; see `update`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from atalaia.config.cameras import TrackerConfig
from atalaia.detect import Detections
from atalaia.track import kalman
from atalaia.track.assignment import Matching, linear_assignment
from atalaia.track.iou import iou_cost
from atalaia.track.table import TrackTable
from atalaia.track.track import Track

CostFunction = Callable[[NDArray[np.float64], NDArray[np.float64]], NDArray[np.float64]]
Assigner = Callable[[NDArray[np.float64], float], Matching]
_Phase = Literal["tentative", "tracked", "lost"]
# Cost given to pairs of different classes: above any limit, finite for the solver.
_FORBIDDEN = 1e6


@dataclass(frozen=True, slots=True)
class _Tracklet:
    """The tracker's private state of one track but its filter's, which `_State` keeps in
    arrays; replaced, never changed in place (built with the constructor:
    `dataclasses.replace` costs several times more per track and frame)."""

    key: int
    track_id: int  # 0 while tentative
    class_id: int
    label: str
    box: tuple[float, float, float, float]
    score: float
    top_score: float
    hits: int
    first_seen: float
    last_seen: float
    updated_at: float
    phase: _Phase

    def public(self, velocity: tuple[float, float, float, float]) -> Track:
        return Track(
            track_id=self.track_id,
            class_id=self.class_id,
            label=self.label,
            box=self.box,
            velocity=velocity,
            score=self.score,
            top_score=self.top_score,
            status="lost" if self.phase == "lost" else "tracked",
            first_seen=self.first_seen,
            last_seen=self.last_seen,
            updated_at=self.updated_at,
            hits=self.hits,
        )


@dataclass(frozen=True, slots=True)
class _State:
    """Every track of a camera, struct-of-arrays: row i of `means` (N, 8) and `covs`
    (N, 3, 4, see `kalman`) is the filter of `tracklets[i]`. Whole arrays go through the
    filter at once, with no per-track array to stack or slice on each update."""

    tracklets: tuple[_Tracklet, ...]
    means: NDArray[np.float64]
    covs: NDArray[np.float64]


_EMPTY = _State((), np.zeros((0, 8)), np.zeros((0, 3, 4)))


@dataclass(frozen=True, slots=True)
class TrackUpdate:
    """What one update did. `matched` maps a track id to the index of its detection in the
    `Detections` given to `update`; `removed` lists ids gone for good (lost too long)."""

    ts: float
    tracks: tuple[Track, ...]
    matched: dict[int, int]
    new: tuple[int, ...]
    removed: tuple[int, ...]

    def active(self) -> list[Track]:
        """Tracks seen in this very frame."""
        return [t for t in self.tracks if t.track_id in self.matched]


class ByteTracker:
    """Tracks for one camera. `update` is called by one thread (the detector link's) per
    detection result; any thread may read `tracks()` or `table` at any time.

    `cost` and `assign` are injectable: the benchmark swaps in a greedy matcher, and a test
    swaps in a slow cost to show readers do not wait for matching.
    """

    def __init__(
        self,
        config: TrackerConfig | None = None,
        *,
        cost: CostFunction = iou_cost,
        assign: Assigner = linear_assignment,
        noise: kalman.KalmanNoise | None = None,
    ) -> None:
        self.config = config or TrackerConfig()
        self.table = TrackTable()
        self._cost = cost
        self._assign = assign
        self._noise = noise or kalman.KalmanNoise()
        self._state = _EMPTY
        self._update_lock = threading.Lock()  # one update at a time; readers never take it
        self._next_key = 1
        self._next_id = 1

    def tracks(self) -> list[Track]:
        """Current confirmed tracks, tracked and lost (never waits for a running match)."""
        return self.table.snapshot()

    def update(self, detections: Detections, ts: float) -> TrackUpdate:
        """Feed one frame's detections, captured at `ts` (seconds)."""
        with self._update_lock:
            with self.table.lock:  # 1. take the current state (immutable)
                current = self._state
            # 2. predict, match, correct: the costly part, with the table's lock released.
            state, update = self._step(current, detections, ts)
            with self.table.lock:  # 3. put the results in: references only
                self._state = state
                self.table.publish(update.tracks)
            return update

    def reset(self) -> None:
        """Forget every track (a camera that reconnects to a different scene)."""
        with self._update_lock, self.table.lock:
            self._state = _EMPTY
            self.table.publish(())

    # ---- one update, without shared state -------------------------------------------------

    def _step(self, state: _State, detections: Detections, ts: float) -> tuple[_State, TrackUpdate]:
        cfg = self.config
        current = state.tracklets
        boxes = np.asarray(detections.xyxy, dtype=np.float64).reshape(-1, 4)
        scores = np.asarray(detections.confidence, dtype=np.float64)
        classes = np.asarray(detections.class_id, dtype=np.int64)
        high = np.flatnonzero(scores >= cfg.high_score)
        low = np.flatnonzero((scores >= cfg.low_score) & (scores < cfg.high_score))

        # 1. Predict every track to this frame.
        dt = np.array([ts - t.updated_at for t in current])
        means, covs = kalman.predict(state.means, state.covs, dt, self._noise)
        predicted = kalman.cxcywh_to_xyxy(means[:, :4])
        track_classes = np.array([t.class_id for t in current], dtype=np.int64)
        confirmed = np.array([i for i, t in enumerate(current) if t.phase != "tentative"], np.intp)
        tentative = np.array([i for i, t in enumerate(current) if t.phase == "tentative"], np.intp)
        pairs: list[tuple[int, int]] = []  # (index in current, index in detections)
        # The cost of every track against every detection, once: the three matches below
        # take their parts of it (one cost call instead of three, each numpy call's fixed
        # cost being most of the work at a few dozen boxes).
        if len(current) and len(boxes):
            cost_all = self._cost(predicted, boxes)
            if cfg.class_aware:
                cost_all = np.where(
                    track_classes[:, None] == classes[None, :], cost_all, _FORBIDDEN
                )
        else:
            cost_all = np.zeros((len(current), len(boxes)))

        def match(tracks: NDArray[np.intp], dets: NDArray[np.intp], min_iou: float) -> Matching:
            cost = cost_all[np.ix_(tracks, dets)]
            m = self._assign(cost, 1.0 - min_iou)
            pairs.extend(
                zip(tracks[m.pairs[:, 0]].tolist(), dets[m.pairs[:, 1]].tolist(), strict=True)
            )
            return m

        # 2. High detections against confirmed tracks (tracked and lost).
        m1 = match(confirmed, high, cfg.match_iou)
        left_tracks = confirmed[m1.unmatched_rows]
        left_high = high[m1.unmatched_cols]
        # 3. Low detections against tracks that were being tracked (not already lost).
        was_tracked = np.array([i for i in left_tracks if current[i].phase == "tracked"], np.intp)
        match(was_tracked, low, cfg.low_match_iou)
        # 4. Tentative tracks take what high detections remain.
        m3 = match(tentative, left_high, cfg.match_iou)
        unused_high = left_high[m3.unmatched_cols]

        matched_det = dict(pairs)
        if pairs:  # corrected in place: `means` and `covs` are this update's own arrays
            rows = np.array([p[0] for p in pairs], np.intp)
            cols = np.array([p[1] for p in pairs], np.intp)
            means[rows], covs[rows] = kalman.update(
                means[rows], covs[rows], kalman.xyxy_to_cxcywh(boxes[cols]), self._noise
            )
        # A lost box keeps moving but stops growing or shrinking.
        lost_rows = [i for i in range(len(current)) if i not in matched_det]
        means[lost_rows, 6:8] = 0.0

        out: list[_Tracklet] = []
        kept: list[int] = []  # rows of `means` and `covs` that go on, in the order of `out`
        new_ids: list[int] = []
        removed: list[int] = []
        matched_ids: dict[int, int] = {}
        box_rows = boxes.tolist()
        predicted_rows = predicted.tolist()
        score_list = scores.tolist()
        for i, t in enumerate(current):
            if i in matched_det:
                d = matched_det[i]
                score = score_list[d]
                hits = t.hits + 1
                phase: _Phase = "tracked"
                track_id = t.track_id
                if t.phase == "tentative":
                    if hits >= cfg.min_hits:
                        track_id = self._new_id()
                        new_ids.append(track_id)
                    else:
                        phase = "tentative"
                cid = t.class_id if cfg.class_aware else int(classes[d])
                out.append(
                    _Tracklet(
                        key=t.key,
                        track_id=track_id,
                        class_id=cid,
                        label=detections.class_names[cid],
                        box=tuple(box_rows[d]),  # type: ignore[arg-type]
                        score=score,
                        top_score=max(t.top_score, score),
                        hits=hits,
                        first_seen=t.first_seen,
                        last_seen=ts,
                        updated_at=ts,
                        phase=phase,
                    )
                )
                kept.append(i)
                if track_id:
                    matched_ids[track_id] = d
            elif t.phase == "tentative":
                continue  # a tentative track that misses once was noise
            elif ts - t.last_seen > cfg.lost_timeout:
                removed.append(t.track_id)
            else:
                out.append(
                    _Tracklet(
                        key=t.key,
                        track_id=t.track_id,
                        class_id=t.class_id,
                        label=t.label,
                        box=tuple(predicted_rows[i]),
                        score=t.score,
                        top_score=t.top_score,
                        hits=t.hits,
                        first_seen=t.first_seen,
                        last_seen=t.last_seen,
                        updated_at=ts,
                        phase="lost",
                    )
                )
                kept.append(i)
        out_means, out_covs = means[kept], covs[kept]

        # 5. New tracks from confident detections nobody claimed.
        fresh = [int(d) for d in unused_high if score_list[d] >= cfg.new_track_score]
        if fresh:
            idx = np.array(fresh, np.intp)
            mean0, cov0 = kalman.initiate(kalman.xyxy_to_cxcywh(boxes[idx]), self._noise)
            out_means = np.concatenate([out_means, mean0])
            out_covs = np.concatenate([out_covs, cov0])
            for d in fresh:
                confirmed_now = cfg.min_hits <= 1
                track_id = self._new_id() if confirmed_now else 0
                if track_id:
                    new_ids.append(track_id)
                    matched_ids[track_id] = d
                cid = int(classes[d])
                out.append(
                    _Tracklet(
                        key=self._new_key(),
                        track_id=track_id,
                        class_id=cid,
                        label=detections.class_names[cid],
                        box=tuple(box_rows[d]),  # type: ignore[arg-type]
                        score=score_list[d],
                        top_score=score_list[d],
                        hits=1,
                        first_seen=ts,
                        last_seen=ts,
                        updated_at=ts,
                        phase="tracked" if confirmed_now else "tentative",
                    )
                )

        velocities = out_means[:, 4:8].tolist()
        published = tuple(
            sorted(
                (t.public(tuple(v)) for t, v in zip(out, velocities, strict=True)
                 if t.phase != "tentative"),
                key=lambda t: t.track_id,
            )
        )  # fmt: skip
        return _State(tuple(out), out_means, out_covs), TrackUpdate(
            ts=ts,
            tracks=published,
            matched=matched_ids,
            new=tuple(new_ids),
            removed=tuple(removed),
        )

    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id - 1

    def _new_key(self) -> int:
        self._next_key += 1
        return self._next_key - 1
