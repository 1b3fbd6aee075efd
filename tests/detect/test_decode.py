"""Decoders, NMS and letterbox geometry on plain arrays, no model involved."""

from __future__ import annotations

import numpy as np

from atalaia.detect.decode import decode_rtdetr, decode_yolov5, decode_yolov8, finish_frame
from atalaia.detect.letterbox import PixelTransform, letterbox_into
from atalaia.detect.nms import box_iou_one_to_many, nms_class_aware


def test_yolov8_decode_takes_best_class_above_threshold() -> None:
    head = np.zeros((4 + 3, 5), np.float32)
    head[:4, 1] = [50, 60, 20, 10]
    head[4:, 1] = [0.1, 0.7, 0.3]
    head[:4, 3] = [10, 10, 4, 4]
    head[4:, 3] = [0.2, 0.0, 0.24]  # best 0.24 < 0.25
    found = decode_yolov8(head, 0.25)
    np.testing.assert_allclose(found.xyxy, [[40, 55, 60, 65]])
    assert found.class_id.tolist() == [1]
    np.testing.assert_allclose(found.confidence, [0.7])


def test_yolov5_decode_multiplies_objectness() -> None:
    head = np.zeros((3, 5 + 2), np.float32)
    head[0] = [50, 50, 10, 10, 0.5, 0.6, 0.4]  # 0.30 class 0
    head[1] = [50, 50, 10, 10, 0.9, 0.2, 0.25]  # 0.225: below
    head[2] = [50, 50, 10, 10, 0.2, 1.0, 0.0]  # objectness below
    found = decode_yolov5(head, 0.25)
    assert found.class_id.tolist() == [0]
    np.testing.assert_allclose(found.confidence, [0.3], rtol=1e-6)


def test_rtdetr_decode_applies_sigmoid_only_to_logits() -> None:
    boxes = np.array([[0.5, 0.5, 0.2, 0.1]], np.float32)
    probabilities = np.array([[0.1, 0.8]], np.float32)
    logits = np.log(probabilities / (1 - probabilities))
    a = decode_rtdetr(boxes, probabilities, 100, 200, 0.25)
    b = decode_rtdetr(boxes, logits, 100, 200, 0.25)
    np.testing.assert_allclose(a.xyxy, [[40, 90, 60, 110]])
    np.testing.assert_allclose(a.confidence, b.confidence, rtol=1e-6)
    np.testing.assert_allclose(a.confidence, [0.8], rtol=1e-6)


def test_nms_is_greedy_and_class_aware() -> None:
    xyxy = np.array(
        [
            [0, 0, 10, 10],  # A, 0.9
            [1, 0, 11, 10],  # overlaps A (IoU .82), same class: suppressed
            [1, 0, 11, 10],  # same box, other class: kept
            [8, 0, 18, 10],  # IoU with A .11: kept
            [9, 0, 19, 10],  # overlaps the previous one (0.82): suppressed
        ],
        np.float32,
    )
    scores = np.array([0.9, 0.8, 0.7, 0.6, 0.5], np.float32)
    classes = np.array([0, 0, 1, 0, 0], np.int32)
    assert nms_class_aware(xyxy, scores, classes, 0.45, 100).tolist() == [0, 2, 3]
    assert nms_class_aware(xyxy, scores, classes, 0.45, 2).tolist() == [0, 2]
    assert nms_class_aware(xyxy[:0], scores[:0], classes[:0], 0.45, 10).tolist() == []


def test_letterbox_centres_frame_and_maps_boxes_back() -> None:
    frame = np.zeros((100, 400, 3), np.uint8)
    frame[:, :, 2] = 255  # pure red in BGR
    slot = np.full((3, 64, 64), -1.0, np.float32)
    box = letterbox_into(frame, slot, PixelTransform())
    assert (box.pad_left, box.pad_top) == (0, 24)
    assert slot[0, 30, 10] == 1.0 and slot[2, 30, 10] == 0.0  # red is channel 0 (RGB)
    np.testing.assert_allclose(slot[:, 0, 0], 114 / 255)  # padding above
    np.testing.assert_allclose(slot[:, 63, 63], 114 / 255)  # padding below
    back = box.boxes_to_frame(np.array([[0, 24, 64, 40], [-5, 0, 70, 64]], np.float32))
    np.testing.assert_allclose(back[0], [0, 0, 400, 100])
    np.testing.assert_allclose(back[1], [0, 0, 400, 100])  # clipped to the frame


def test_finish_frame_drops_boxes_lying_in_the_padding() -> None:
    from atalaia.detect.decode import Candidates

    frame = np.zeros((100, 400, 3), np.uint8)
    box = letterbox_into(frame, np.zeros((3, 64, 64), np.float32), PixelTransform())
    candidates = Candidates(
        xyxy=np.array([[10, 2, 20, 10], [10, 30, 20, 35]], np.float32),  # first: all padding
        confidence=np.array([0.9, 0.8], np.float32),
        class_id=np.array([0, 0], np.int32),
    )
    found = finish_frame(candidates, box, ("thing",), 0.5, 10)
    assert len(found) == 1
    np.testing.assert_allclose(found.confidence, [0.8])


def greedy_nms(xyxy: np.ndarray, scores: np.ndarray, classes: np.ndarray, iou: float) -> list[int]:
    """The textbook loop, one box at a time, as the reference."""
    order = list(np.argsort(-scores, kind="stable"))
    kept: list[int] = []
    while order:
        best = order.pop(0)
        kept.append(int(best))
        order = [
            i
            for i in order
            if classes[i] != classes[best]
            or box_iou_one_to_many(xyxy[best], xyxy[i : i + 1])[0] <= iou
        ]
    return kept


def test_nms_keeps_what_the_greedy_loop_keeps_on_random_boxes() -> None:
    rng = np.random.default_rng(7)
    for _ in range(200):
        n = int(rng.integers(1, 60))
        corner = rng.uniform(-40, 300, (n, 2))  # some boxes start left of / above the input
        size = rng.uniform(2, 120, (n, 2))
        xyxy = np.hstack([corner, corner + size]).astype(np.float32)
        scores = rng.uniform(0.25, 1.0, n).astype(np.float32)
        classes = rng.integers(0, 3, n).astype(np.int32)
        expected = greedy_nms(xyxy, scores, classes, 0.45)
        assert nms_class_aware(xyxy, scores, classes, 0.45, 300).tolist() == expected
        assert nms_class_aware(xyxy, scores, classes, 0.45, 3).tolist() == expected[:3]
