"""ByteTracker on frames with known trajectories: stable ids through crossings, misses and
low scores; new ids for new objects; lost tracks removed after their timeout."""

from __future__ import annotations

import numpy as np

from atalaia.config.cameras import TrackerConfig
from atalaia.track import ByteTracker, TrackUpdate
from tests.track.support import box_at, dets

FPS = 5.0


def run(tracker: ByteTracker, frames: list[object], t0: float = 100.0) -> list[TrackUpdate]:
    return [tracker.update(f, t0 + i / FPS) for i, f in enumerate(frames)]  # type: ignore[arg-type]


def ids_of(update: TrackUpdate, det_index: int) -> int:
    """The track id that took detection `det_index` in this update."""
    found = [tid for tid, d in update.matched.items() if d == det_index]
    assert len(found) == 1, f"detection {det_index} matched {found}"
    return found[0]


def test_two_objects_crossing_keep_their_ids() -> None:
    # A walks right, B walks left; their boxes overlap for several frames as they pass.
    frames = []
    for i in range(30):
        a = box_at(20 + 12 * i, 100)
        b = box_at(380 - 12 * i, 115)
        frames.append(dets([a, b]))
    updates = run(ByteTracker(), frames)
    overlaps = [
        i for i in range(30) if abs((20 + 12 * i) - (380 - 12 * i)) < 40
    ]  # frames where the boxes overlap horizontally
    assert len(overlaps) >= 3
    a_ids = {ids_of(u, 0) for u in updates[1:]}
    b_ids = {ids_of(u, 1) for u in updates[1:]}
    assert len(a_ids) == 1 and len(b_ids) == 1 and a_ids != b_ids
    # The id that walked right is still on the right-moving box after the crossing.
    (a_id,) = a_ids
    last = {t.track_id: t for t in updates[-1].tracks}
    assert last[a_id].box[0] > 300 and last[a_id].velocity[0] > 0


def test_ids_survive_five_missed_frames_and_tracks_are_predicted_meanwhile() -> None:
    frames: list[object] = [dets([box_at(50 + 10 * i, 100)]) for i in range(10)]
    frames += [dets([]) for _ in range(5)]  # detector misses the object for 5 frames
    frames += [dets([box_at(50 + 10 * i, 100)]) for i in range(15, 20)]
    updates = run(ByteTracker(), frames)
    (tid,) = {ids_of(u, 0) for i, u in enumerate(updates[1:], 1) if i < 10 or i >= 15}
    for u in updates[10:15]:
        (track,) = u.tracks
        assert track.track_id == tid and track.status == "lost" and not u.matched
    # While lost, the box kept moving right at about 50 px/s.
    lost_x = [u.tracks[0].box[0] for u in updates[10:15]]
    assert lost_x == sorted(lost_x) and lost_x[-1] > 170
    assert updates[15].tracks[0].status == "tracked"


def test_third_object_entering_gets_a_new_id() -> None:
    frames: list[object] = []
    for i in range(12):
        boxes = [box_at(50 + 5 * i, 100), box_at(300 - 5 * i, 100)]
        if i >= 6:
            boxes.append(box_at(500, 300 - 10 * i))
        frames.append(dets(boxes))
    updates = run(ByteTracker(), frames)
    first_two = {ids_of(updates[5], 0), ids_of(updates[5], 1)}
    third = {ids_of(u, 2) for u in updates[7:]}
    assert len(third) == 1 and not third & first_two
    assert {ids_of(u, 0) for u in updates[1:]} | {ids_of(u, 1) for u in updates[1:]} == first_two
    assert updates[7].new == tuple(third)


def test_low_score_detections_keep_a_track_but_never_start_one() -> None:
    cfg = TrackerConfig(high_score=0.5, low_score=0.1)
    frames: list[object] = [dets([box_at(100 + 5 * i, 100)], [0.9]) for i in range(3)]
    frames += [dets([box_at(100 + 5 * i, 100)], [0.3]) for i in range(3, 8)]  # half hidden
    frames += [dets([box_at(400, 300)], [0.3]) for _ in range(4)]  # a low-score ghost elsewhere
    updates = run(ByteTracker(cfg), frames)
    (tid,) = {ids_of(u, 0) for u in updates[1:8]}
    assert all(u.tracks[0].status == "tracked" for u in updates[3:8])
    # The ghost never gets a track; the real track is lost once its low detections stop.
    assert all(set(t.track_id for t in u.tracks) == {tid} for u in updates[8:])
    assert updates[-1].tracks[0].lost


def test_a_single_false_positive_never_gets_an_id() -> None:
    frames: list[object] = [dets([box_at(100, 100)]), dets([]), dets([]), dets([])]
    updates = run(ByteTracker(), frames)
    assert all(not u.tracks and not u.new for u in updates)


def test_lost_track_is_removed_after_its_timeout() -> None:
    tracker = ByteTracker(TrackerConfig(lost_timeout=1.0))
    tracker.update(dets([box_at(100, 100)]), 0.0)
    first = tracker.update(dets([box_at(102, 100)]), 0.2)
    (tid,) = first.new
    assert tracker.update(dets([]), 0.8).tracks[0].lost
    assert tracker.update(dets([]), 1.1).removed == ()  # 0.9 s since last seen
    gone = tracker.update(dets([]), 1.3)
    assert gone.removed == (tid,) and not gone.tracks and tracker.tracks() == []


def test_class_aware_matching_keeps_equipment_off_person_tracks() -> None:
    frames: list[object] = []
    for i in range(6):
        person = box_at(100 + 4 * i, 100, 40, 80)
        frames.append(dets([person], labels=["person"]))
    # The person vanishes and a helmet box appears where the person's head was.
    frames.append(dets([box_at(124, 100, 40, 60)], labels=["helmet"]))
    updates = run(ByteTracker(), frames)
    person = updates[5].tracks[0]
    last = {t.track_id: t for t in updates[6].tracks}
    assert last[person.track_id].lost and last[person.track_id].label == "person"


def test_box_at_extrapolates_between_detections() -> None:
    tracker = ByteTracker()
    for i in range(6):
        tracker.update(dets([box_at(100 + 20 * i, 100)]), i * 0.2)  # 100 px/s
    (track,) = tracker.tracks()
    ahead = track.box_at(track.updated_at + 0.1)
    assert 5 < ahead[0] - track.box[0] < 15
    assert np.isclose(ahead[2] - ahead[0], track.box[2] - track.box[0], atol=2)
