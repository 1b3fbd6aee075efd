"""FrameJoin: one frame's answers from several models become one merged result, in capture
order; a model that drops a frame leaves its part empty but its classes in place."""

from __future__ import annotations

import threading
import time

import numpy as np

from atalaia.detect import Detections
from atalaia.pipeline.frame_join import FrameJoin, JoinedFrame

GENERAL = ("person", "car")
PPE = ("With Helmet", "Without Helmet")


def dets(names: tuple[str, ...], rows: list[tuple[int, float]]) -> Detections:
    n = len(rows)
    return Detections(
        xyxy=np.array([[10 * i, 10, 10 * i + 5, 20] for i in range(n)], np.float32).reshape(n, 4),
        confidence=np.array([score for _, score in rows], np.float32),
        class_id=np.array([cid for cid, _ in rows], np.int32),
        class_names=names,
    )


class Collected:
    def __init__(self) -> None:
        self.frames: list[JoinedFrame] = []
        self.dropped: list[tuple[int, str]] = []

    def join(self, give_up_s: float = 2.5) -> FrameJoin:
        # Capture times are wall times: frames older than give_up_s are given up on.
        self.t0 = time.time()
        join = FrameJoin(
            ["default", "ppe"],
            self.frames.append,
            lambda seq, cause: self.dropped.append((seq, cause)),
            give_up_s=give_up_s,
        )
        join.set_class_names("default", GENERAL)
        join.set_class_names("ppe", PPE)
        return join


def test_answers_merge_in_the_cameras_model_order_with_each_models_name() -> None:
    got = Collected()
    join = got.join()
    join.expect(1, got.t0)
    join.answer("ppe", 1, dets(PPE, [(1, 0.8)]))  # the second model answers first
    assert got.frames == []
    join.answer("default", 1, dets(GENERAL, [(0, 0.9), (1, 0.7)]))
    (frame,) = got.frames
    assert (frame.seq, frame.ts, frame.partial) == (1, got.t0, False)
    merged = frame.detections
    assert merged.class_names == GENERAL + PPE
    assert merged.names == ["person", "car", "Without Helmet"]
    assert merged.models == ["default", "default", "ppe"]


def test_a_dropped_model_leaves_its_classes_and_names_itself_missing() -> None:
    got = Collected()
    join = got.join()
    join.expect(7, got.t0)
    join.answer("ppe", 7, None, "no_detector")
    join.answer("default", 7, dets(GENERAL, [(0, 0.9)]))
    (frame,) = got.frames
    assert frame.missing == frozenset({"ppe"}) and frame.causes == {"ppe": "no_detector"}
    # Same class table (and ids) as a whole frame: rules built on it keep running.
    assert frame.detections.class_names == GENERAL + PPE
    assert frame.detections.names == ["person"]


def test_a_frame_no_model_answered_is_dropped_with_the_first_cause() -> None:
    got = Collected()
    join = got.join()
    join.expect(3, got.t0)
    join.answer("default", 3, None, "overload")
    join.answer("ppe", 3, None, "no_detector")
    assert got.frames == [] and got.dropped == [(3, "overload")]


def test_frames_leave_in_capture_order() -> None:
    got = Collected()
    join = got.join()
    join.expect(1, got.t0)
    join.expect(2, got.t0 + 0.2)
    join.answer("default", 1, dets(GENERAL, []))
    join.answer("default", 2, dets(GENERAL, []))
    join.answer("ppe", 2, dets(PPE, []))  # frame 2 is complete, frame 1 is not
    assert got.frames == []
    join.answer("ppe", 1, dets(PPE, []))
    assert [f.seq for f in got.frames] == [1, 2]


def test_a_frozen_model_is_given_up_on_after_give_up_s() -> None:
    got = Collected()
    join = got.join(give_up_s=1.0)
    join.expect(1, got.t0)
    join.answer("default", 1, dets(GENERAL, [(0, 0.9)]))
    join.flush(now=got.t0 + 0.5)
    assert got.frames == []
    join.flush(now=got.t0 + 1.1)
    (frame,) = got.frames
    assert frame.causes == {"ppe": "stale"}
    join.answer("ppe", 1, dets(PPE, []))  # too late: ignored
    assert len(got.frames) == 1


def test_a_lost_connection_answers_every_request_it_held() -> None:
    got = Collected()
    join = got.join()
    for seq in (1, 2, 3):
        join.expect(seq, got.t0 + seq / 10)
        join.answer("default", seq, dets(GENERAL, []))
    join.model_lost("ppe")
    assert [(f.seq, f.causes) for f in got.frames] == [
        (seq, {"ppe": "no_detector"}) for seq in (1, 2, 3)
    ]
    assert len(join) == 0


def test_answers_from_two_threads_deliver_each_frame_once_in_order() -> None:
    got = Collected()
    join = got.join()
    frames = 2000
    for seq in range(1, frames + 1):
        join.expect(seq, got.t0)

    def answer(model: str, names: tuple[str, ...]) -> None:
        for seq in range(1, frames + 1):
            join.answer(model, seq, dets(names, []))

    threads = [
        threading.Thread(target=answer, args=("default", GENERAL)),
        threading.Thread(target=answer, args=("ppe", PPE)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [f.seq for f in got.frames] == list(range(1, frames + 1))
    assert not any(f.partial for f in got.frames)
