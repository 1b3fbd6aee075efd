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
from operator import attrgetter

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
# Cost given to pairs of different classes: above any limit, finite for the solver.
_FORBIDDEN = 1e6
_BY_ID = attrgetter("track_id")


# A track's phase, one int8 per track in `_State.phases`. Tentative tracks (not yet `min_hits`
# detections) are the tracker's own; the other two are what `Track.status` says.
_TENTATIVE, _TRACKED, _LOST = 0, 1, 2


@dataclass(frozen=True, slots=True)
class _State:
    """Every track of a camera, struct-of-arrays: row i of `phases` (N,), `means` (N, 8)
    and `covs` (N, 3, 4, see `kalman`) belong to `tracks[i]`, the `Track`
    readers get (`track_id` 0 while tentative). Whole arrays go through the filter and the
    stage selections at once, and each update builds one object per track, the published
    one. `ts` is the capture time of the last update, when every track was last brought up
    to date."""

    tracks: tuple[Track, ...]
    phases: NDArray[np.int8]
    means: NDArray[np.float64]
    covs: NDArray[np.float64]
    ts: float


_EMPTY = _State((), np.zeros(0, np.int8), np.zeros((0, 8)), np.zeros((0, 3, 4)), 0.0)


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
        current = state.tracks
        phases = state.phases
        boxes = np.asarray(detections.xyxy, dtype=np.float64).reshape(-1, 4)
        scores = np.asarray(detections.confidence, dtype=np.float64)
        classes = np.asarray(detections.class_id, dtype=np.int64)
        high = np.flatnonzero(scores >= cfg.high_score)
        low = np.flatnonzero((scores >= cfg.low_score) & (scores < cfg.high_score))

        # 1. Predict every track to this frame (all were brought up to `state.ts`).
        n = len(current)
        dt = np.full(n, ts - state.ts)
        means, covs = kalman.predict(state.means, state.covs, dt, self._noise)
        predicted = kalman.cxcywh_to_xyxy(means[:, :4])
        confirmed = np.flatnonzero(phases != _TENTATIVE)
        tentative = np.flatnonzero(phases == _TENTATIVE)
        pairs: list[tuple[int, int]] = []  # (index in current, index in detections)
        # The cost of every track against every detection, once: the three matches below
        # take their parts of it (one cost call instead of three, each numpy call's fixed
        # cost being most of the work at a few dozen boxes).
        if n and len(boxes):
            cost_all = self._cost(predicted, boxes)
            if cfg.class_aware:
                track_classes = np.fromiter((t.class_id for t in current), np.int64, n)
                cost_all = np.where(
                    track_classes[:, None] == classes[None, :], cost_all, _FORBIDDEN
                )
        else:
            cost_all = np.zeros((n, len(boxes)))

        def match(
            tracks: NDArray[np.intp], dets: NDArray[np.intp], min_iou: float
        ) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
            """The tracks and the detections this stage left unmatched."""
            if len(tracks) == 0 or len(dets) == 0:
                return tracks, dets
            m = self._assign(cost_all[np.ix_(tracks, dets)], 1.0 - min_iou)
            pairs.extend(
                zip(tracks[m.pairs[:, 0]].tolist(), dets[m.pairs[:, 1]].tolist(), strict=True)
            )
            return tracks[m.unmatched_rows], dets[m.unmatched_cols]

        # 2. High detections against confirmed tracks (tracked and lost).
        left_tracks, left_high = match(confirmed, high, cfg.match_iou)
        # 3. Low detections against tracks that were being tracked (not already lost).
        match(left_tracks[phases[left_tracks] == _TRACKED], low, cfg.low_match_iou)
        # 4. Tentative tracks take what high detections remain.
        _, unused_high = match(tentative, left_high, cfg.match_iou)

        matched_det = dict(pairs)
        still = np.ones(n, bool)  # a lost box keeps moving but stops growing or shrinking
        if pairs:  # corrected in place: `means` and `covs` are this update's own arrays
            rows = np.fromiter(matched_det, np.intp, len(matched_det))
            cols = np.fromiter(matched_det.values(), np.intp, len(matched_det))
            means[rows], covs[rows] = kalman.update(
                means[rows], covs[rows], kalman.xyxy_to_cxcywh(boxes[cols]), self._noise
            )
            still[rows] = False
        means[still, 6:8] = 0.0

        out: list[Track] = []
        out_phases: list[int] = []
        kept: list[int] = []  # rows of `means` and `covs` that go on, in the order of `out`
        new_ids: list[int] = []
        removed: list[int] = []
        matched_ids: dict[int, int] = {}
        box_rows = boxes.tolist()
        predicted_rows = predicted.tolist()
        velocity_rows = means[:, 4:8].tolist()
        score_list = scores.tolist()
        names = detections.class_names
        for i, (t, phase) in enumerate(zip(current, phases.tolist(), strict=True)):
            d = matched_det.get(i)
            if d is not None:
                score = score_list[d]
                hits = t.hits + 1
                new_phase = _TRACKED
                track_id = t.track_id
                if phase == _TENTATIVE:
                    if hits >= cfg.min_hits:
                        track_id = self._new_id()
                        new_ids.append(track_id)
                    else:
                        new_phase = _TENTATIVE
                cid = t.class_id if cfg.class_aware else int(classes[d])
                out.append(
                    Track(
                        track_id=track_id,
                        class_id=cid,
                        label=names[cid],
                        box=tuple(box_rows[d]),  # type: ignore[arg-type]
                        velocity=tuple(velocity_rows[i]),
                        score=score,
                        top_score=max(t.top_score, score),
                        status="tracked",
                        first_seen=t.first_seen,
                        last_seen=ts,
                        updated_at=ts,
                        hits=hits,
                    )
                )
                out_phases.append(new_phase)
                kept.append(i)
                if track_id:
                    matched_ids[track_id] = d
            elif phase == _TENTATIVE:
                continue  # a tentative track that misses once was noise
            elif ts - t.last_seen > cfg.lost_timeout:
                removed.append(t.track_id)
            else:
                out.append(
                    Track(
                        track_id=t.track_id,
                        class_id=t.class_id,
                        label=t.label,
                        box=tuple(predicted_rows[i]),
                        velocity=tuple(velocity_rows[i]),
                        score=t.score,
                        top_score=t.top_score,
                        status="lost",
                        first_seen=t.first_seen,
                        last_seen=t.last_seen,
                        updated_at=ts,
                        hits=t.hits,
                    )
                )
                out_phases.append(_LOST)
                kept.append(i)
        out_means, out_covs = means[kept], covs[kept]

        # 5. New tracks from confident detections nobody claimed.
        fresh = [d for d in unused_high.tolist() if score_list[d] >= cfg.new_track_score]
        if fresh:
            idx = np.array(fresh, np.intp)
            mean0, cov0 = kalman.initiate(kalman.xyxy_to_cxcywh(boxes[idx]), self._noise)
            out_means = np.concatenate([out_means, mean0])
            out_covs = np.concatenate([out_covs, cov0])
            confirmed_now = cfg.min_hits <= 1
            for d in fresh:
                track_id = self._new_id() if confirmed_now else 0
                if track_id:
                    new_ids.append(track_id)
                    matched_ids[track_id] = d
                cid = int(classes[d])
                out.append(
                    Track(
                        track_id=track_id,
                        class_id=cid,
                        label=names[cid],
                        box=tuple(box_rows[d]),
                        velocity=(0.0, 0.0, 0.0, 0.0),
                        score=score_list[d],
                        top_score=score_list[d],
                        status="tracked",
                        first_seen=ts,
                        last_seen=ts,
                        updated_at=ts,
                        hits=1,
                    )
                )
                out_phases.append(_TRACKED if confirmed_now else _TENTATIVE)

        published = sorted(
            (t for t, phase in zip(out, out_phases, strict=True) if phase != _TENTATIVE),
            key=_BY_ID,
        )
        next_state = _State(
            tracks=tuple(out),
            phases=np.array(out_phases, np.int8),
            means=out_means,
            covs=out_covs,
            ts=ts,
        )
        return next_state, TrackUpdate(
            ts=ts,
            tracks=tuple(published),
            matched=matched_ids,
            new=tuple(new_ids),
            removed=tuple(removed),
        )

    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id - 1
