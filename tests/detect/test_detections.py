"""Detections: arrays inside, small objects and messages at the edges."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from atalaia.detect import BoundingBox, Detection, Detections, WireFormatError, merge_detections

NAMES = ("person", "bicycle", "face")


def sample(with_landmarks: bool = False) -> Detections:
    landmarks = None
    if with_landmarks:
        landmarks = np.arange(2 * 5 * 2, dtype=np.float32).reshape(2, 5, 2)
    return Detections(
        xyxy=np.array([[10, 20, 110, 220], [5.5, 6.5, 7.5, 9.5]], np.float32),
        confidence=np.array([0.9, 0.4], np.float32),
        class_id=np.array([0, 2], np.int32),
        class_names=NAMES,
        landmarks=landmarks,
    )


def test_to_list_gives_top_left_width_height() -> None:
    first, second = sample().to_list()
    assert first == Detection(
        class_id=0,
        class_name="person",
        confidence=pytest.approx(0.9),
        bbox=BoundingBox(x=10.0, y=20.0, width=100.0, height=200.0),
        metadata={},
    )
    assert second.class_name == "face"
    assert second.bbox.to_dict() == {"x": 5.5, "y": 6.5, "width": 2.0, "height": 3.0}


def test_to_dicts_are_json_ready_and_carry_landmarks() -> None:
    import json

    dicts = sample(with_landmarks=True).to_dicts()
    assert json.loads(json.dumps(dicts)) == dicts
    assert set(dicts[0]) == {"class_id", "class_name", "confidence", "bbox", "metadata"}
    assert dicts[1]["metadata"]["landmarks"][0] == [10.0, 11.0]


@pytest.mark.parametrize("with_landmarks", [False, True])
def test_wire_round_trip(with_landmarks: bool) -> None:
    original = sample(with_landmarks)
    message = original.to_wire()
    assert len(message) == 12 + 2 * (16 + 4 + 4) + (2 * 5 * 2 * 4 if with_landmarks else 0)
    back = Detections.from_wire(message, NAMES)
    np.testing.assert_array_equal(back.xyxy, original.xyxy)
    np.testing.assert_array_equal(back.confidence, original.confidence)
    np.testing.assert_array_equal(back.class_id, original.class_id)
    if with_landmarks:
        assert back.landmarks is not None and original.landmarks is not None
        np.testing.assert_array_equal(back.landmarks, original.landmarks)
    else:
        assert back.landmarks is None
    assert back.xyxy.flags.writeable, "received arrays are owned, not views of the message"


def test_empty_round_trip_and_pickle() -> None:
    empty = Detections.empty(NAMES, num_landmarks=5)
    assert len(Detections.from_wire(empty.to_wire(), NAMES)) == 0
    restored = pickle.loads(pickle.dumps(sample()))
    np.testing.assert_array_equal(restored.xyxy, sample().xyxy)
    assert restored.class_names == NAMES


@pytest.mark.parametrize(
    ("mangle", "expected"),
    [
        (lambda m: m[:5], "too short"),
        (lambda m: b"XXXX" + m[4:], "not a detections message"),
        (lambda m: m[:-1], "expected"),
    ],
)
def test_corrupt_wire_messages_are_refused(mangle: object, expected: str) -> None:
    message = sample().to_wire()
    with pytest.raises(WireFormatError, match=expected):
        Detections.from_wire(mangle(message), NAMES)  # type: ignore[operator]


def test_wire_class_ids_must_fit_the_table() -> None:
    with pytest.raises(WireFormatError, match="outside the class table"):
        Detections.from_wire(sample().to_wire(), NAMES[:2])


def test_masking_and_area() -> None:
    dets = sample(with_landmarks=True)
    kept = dets[dets.confidence > 0.5]
    assert len(kept) == 1 and kept.names == ["person"]
    assert kept.landmarks is not None and kept.landmarks.shape == (1, 5, 2)
    np.testing.assert_allclose(dets.area, [20000.0, 6.0])


def test_inconsistent_arrays_are_refused() -> None:
    with pytest.raises(ValueError, match="inconsistent"):
        Detections(
            xyxy=np.zeros((2, 4), np.float32),
            confidence=np.zeros(3, np.float32),
            class_id=np.zeros(3, np.int32),
            class_names=NAMES,
        )


def test_merged_models_keep_distinct_class_ids_and_say_which_model() -> None:
    general = Detections(
        xyxy=np.array([[0, 0, 10, 20], [5, 5, 9, 9]], np.float32),
        confidence=np.array([0.9, 0.5], np.float32),
        class_id=np.array([0, 1], np.int32),
        class_names=("person", "car"),
    )
    ppe = Detections(
        xyxy=np.array([[1, 0, 4, 3]], np.float32),
        confidence=np.array([0.7], np.float32),
        class_id=np.array([1], np.int32),
        class_names=("With Helmet", "Without Helmet"),
    )
    merged = merge_detections([("default", general), ("ppe", ppe)])
    assert merged.class_names == ("person", "car", "With Helmet", "Without Helmet")
    assert merged.class_id.tolist() == [0, 1, 3]
    assert merged.names == ["person", "car", "Without Helmet"]
    assert merged.models == ["default", "default", "ppe"]
    assert [d["metadata"]["model"] for d in merged.to_dicts()] == ["default", "default", "ppe"]
    # a selection keeps the table; merging merged detections keeps their models
    people = merged[merged.class_id != 1]
    assert people.models == ["default", "ppe"]
    again = merge_detections([("x", people), ("extra", Detections.empty(["person"]))])
    assert again.models == ["default", "ppe"]
    assert again.class_models == ("default", "default", "ppe", "ppe", "extra")
    assert general.models == [None, None]


def test_merge_refuses_nothing_and_a_table_mismatch() -> None:
    with pytest.raises(ValueError, match="at least one"):
        merge_detections([])
    with pytest.raises(ValueError, match="class_models"):
        Detections.empty(["a", "b"]).__class__(
            xyxy=np.zeros((0, 4), np.float32),
            confidence=np.zeros(0, np.float32),
            class_id=np.zeros(0, np.int32),
            class_names=("a", "b"),
            class_models=("m",),
        )
