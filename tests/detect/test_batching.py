"""A batch gives exactly what the same frames give one at a time."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import onnx
import pytest
from numpy.typing import NDArray

from atalaia.config.detectors import OnnxDetectorConfig
from atalaia.detect import Detections, build_detector, default_object_model, runtime
from atalaia.detect.protocol import Detector
from atalaia.detect.runtime import usable_cores
from atalaia.detect.session import OnnxModel


def eight_frames(photo: NDArray[np.uint8]) -> list[NDArray[np.uint8]]:
    """Eight different frames: sizes from 350 to 1400 wide, crops, flips, a bordered one."""
    return [
        photo,
        cv2.resize(photo, (1400, 932)),  # larger than the model input
        cv2.resize(photo, (350, 233)),  # smaller: letterboxing scales it up
        photo[:, ::-1],  # mirrored view (negative stride)
        photo[100:, 150:600],  # crop
        cv2.resize(photo[:, 180:], (640, 480)),  # 4:3 camera-like
        cv2.copyMakeBorder(photo, 200, 0, 0, 0, cv2.BORDER_CONSTANT, value=(0, 0, 0)),  # tall
        cv2.resize(photo, (1280, 720)),  # 16:9, a little stretched
    ]


def assert_same(batched: Detections, single: Detections, where: str) -> None:
    assert len(batched) == len(single), where
    np.testing.assert_array_equal(batched.class_id, single.class_id, err_msg=where)
    np.testing.assert_allclose(batched.xyxy, single.xyxy, rtol=1e-3, atol=1e-3, err_msg=where)
    np.testing.assert_allclose(batched.confidence, single.confidence, rtol=1e-3, err_msg=where)


def test_batch_of_eight_equals_eight_single_calls(
    default_detector: Detector, photo: NDArray[np.uint8]
) -> None:
    frames = eight_frames(photo)
    batched = default_detector.detect(frames)
    singles = [default_detector.detect([frame])[0] for frame in frames]
    assert len(batched) == 8
    for index, (b, s) in enumerate(zip(batched, singles, strict=True)):
        assert len(s) >= 3, f"frame {index}: the photo's objects should still be found"
        assert_same(b, s, f"frame {index}")


def test_every_threading_plan_gives_the_same_detections(photo: NDArray[np.uint8]) -> None:
    """One call with every thread, calls side by side, and bigger batches than batch_max."""
    frames = eight_frames(photo)
    plans = [
        OnnxDetectorConfig(concurrent_runs=1, intra_op_threads=2),
        OnnxDetectorConfig(concurrent_runs=3, intra_op_threads=1, batch_max=2),
    ]
    reference = None
    for config in plans:
        detector = build_detector(config)
        try:
            results = detector.detect(frames)
        finally:
            detector.close()
        if reference is None:
            reference = results
            continue
        for index, (b, s) in enumerate(zip(results, reference, strict=True)):
            assert_same(b, s, f"{config.concurrent_runs} runs, frame {index}")


@pytest.fixture(scope="module")
def fixed_batch_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The built-in YOLO11n with its batch axis pinned to 1, as many exports are."""
    model = onnx.load(str(default_object_model().model))
    model.graph.input[0].type.tensor_type.shape.dim[0].dim_value = 1
    path = tmp_path_factory.mktemp("fixed") / "yolo11n_b1.onnx"
    onnx.save(model, str(path))
    return path


def test_fixed_batch_model_is_called_once_per_frame(
    fixed_batch_model: Path,
    default_detector: Detector,
    photo: NDArray[np.uint8],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    detector = build_detector(
        OnnxDetectorConfig(model=fixed_batch_model, concurrent_runs=1, intra_op_threads=2)
    )
    assert detector.info.model_batch == 1
    shapes: list[tuple[int, ...]] = []
    real_run = OnnxModel.run

    def counting_run(self: OnnxModel, batch: NDArray[np.float32]) -> list[NDArray[np.float32]]:
        shapes.append(batch.shape)
        return real_run(self, batch)

    monkeypatch.setattr(OnnxModel, "run", counting_run)
    frames = eight_frames(photo)[:3]
    try:
        results = detector.detect(frames)
    finally:
        detector.close()
    assert [s[0] for s in shapes] == [1, 1, 1]
    reference = default_detector.detect(frames)
    for index, (b, s) in enumerate(zip(results, reference, strict=True)):
        assert_same(b, s, f"frame {index}")


def test_dynamic_batch_model_gets_the_whole_batch(
    photo: NDArray[np.uint8], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Square input: every frame in one call whatever its aspect (fitted inputs group them by
    # shape: tests/detect/test_fitted_input.py).
    detector = build_detector(
        OnnxDetectorConfig(concurrent_runs=1, batch_max=8, input_shape="square")
    )
    sizes: list[int] = []
    real_run = OnnxModel.run

    def counting_run(self: OnnxModel, batch: NDArray[np.float32]) -> list[NDArray[np.float32]]:
        sizes.append(batch.shape[0])
        return real_run(self, batch)

    monkeypatch.setattr(OnnxModel, "run", counting_run)
    try:
        detector.detect(eight_frames(photo)[:5])
    finally:
        detector.close()
    assert sizes == [5]


def test_lone_frame_goes_to_the_solo_session_and_batches_are_split(
    photo: NDArray[np.uint8], monkeypatch: pytest.MonkeyPatch
) -> None:
    if usable_cores() < 2:
        pytest.skip("needs 2 cores: with one there is nothing to split")
    detector = build_detector(
        OnnxDetectorConfig(
            concurrent_runs=2, intra_op_threads=1, latency_session=True, input_shape="square"
        )
    )
    assert detector.info.latency_session and detector.info.lone_frame_ms is None
    calls: list[tuple[int, int]] = []  # (threads of the session, frames in the call)
    real_run = OnnxModel.run

    def recording_run(self: OnnxModel, batch: NDArray[np.float32]) -> list[NDArray[np.float32]]:
        calls.append((self.intra_op_threads, batch.shape[0]))
        return real_run(self, batch)

    monkeypatch.setattr(OnnxModel, "run", recording_run)
    frames = eight_frames(photo)
    try:
        (alone,) = detector.detect(frames[:1])
        assert calls == [(usable_cores(), 1)]
        calls.clear()
        split = detector.detect(frames[:5])
        assert sorted(calls) == [(1, 2), (1, 3)]
    finally:
        detector.close()
    assert_same(split[0], alone, "frame 0 via both sessions")


def test_auto_keeps_the_solo_session_only_when_a_lone_frame_is_faster_through_it() -> None:
    """`latency_session: auto` times a real lone frame through both sessions at start: the
    choice follows the timings it reports (whichever way this CPU goes)."""
    if usable_cores() < 2:
        pytest.skip("needs 2 cores: with one there is no solo session to weigh")
    detector = build_detector(OnnxDetectorConfig(input_size=320, concurrent_runs=2))
    try:
        info = detector.info
        assert info.lone_frame_ms is not None
        solo_ms, main_ms = info.lone_frame_ms
        assert solo_ms > 0 and main_ms > 0
        assert info.latency_session == (solo_ms <= runtime.SOLO_MARGIN * main_ms)
        assert detector.detect([np.zeros((240, 320, 3), np.uint8)])[0] is not None
    finally:
        detector.close()


@pytest.mark.parametrize(
    ("solo_ms", "main_ms", "kept"), [(5.0, 10.0, True), (9.5, 10.0, False), (14.0, 10.0, False)]
)
def test_auto_decides_by_the_margin(
    solo_ms: float, main_ms: float, kept: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if usable_cores() < 2:
        pytest.skip("needs 2 cores: with one there is no solo session to weigh")
    timings = {True: solo_ms, False: main_ms}  # keyed by "is this the solo session"

    def timed(model: OnnxModel, batch: NDArray[np.float32]) -> float:
        return timings[model.intra_op_threads == usable_cores()]

    monkeypatch.setattr(runtime, "_timed_ms", timed)
    detector = build_detector(
        OnnxDetectorConfig(input_size=320, concurrent_runs=2, intra_op_threads=1)
    )
    try:
        assert detector.info.lone_frame_ms == (solo_ms, main_ms)
        assert detector.info.latency_session is kept
    finally:
        detector.close()


def test_empty_batch_returns_empty_list(default_detector: Detector) -> None:
    assert default_detector.detect([]) == []


def test_lanes_run_side_by_side_and_give_what_a_whole_batch_gives(
    photo: NDArray[np.uint8],
) -> None:
    """Each lane is one single-threaded model call; two lanes called from two threads at once
    give exactly what one whole batch gives, frame for frame."""
    from concurrent.futures import ThreadPoolExecutor

    frames = eight_frames(photo)
    detector = build_detector(
        OnnxDetectorConfig(concurrent_runs=2, intra_op_threads=1, latency_session=False)
    )
    try:
        assert detector.open_lanes() == 2  # type: ignore[attr-defined]
        whole = detector.detect(frames)
        with ThreadPoolExecutor(2) as pool:
            first = pool.submit(detector.detect_on_lane, 0, frames[:5])  # type: ignore[attr-defined]
            second = pool.submit(detector.detect_on_lane, 1, frames[5:])  # type: ignore[attr-defined]
            lanes = [*first.result(), *second.result()]
        for index, (a, b) in enumerate(zip(lanes, whole, strict=True)):
            assert_same(a, b, f"frame {index}")
        with pytest.raises(ValueError, match="lane 2 out of range"):
            detector.detect_on_lane(2, frames[:1])  # type: ignore[attr-defined]
    finally:
        detector.close()


def test_lanes_let_the_solo_session_go(
    photo: NDArray[np.uint8], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once in lanes, a lone frame runs on one core like any other: the solo session would
    stop the other lanes for its whole call."""
    if usable_cores() < 2:
        pytest.skip("needs 2 cores: with one there is no solo session")
    detector = build_detector(
        OnnxDetectorConfig(concurrent_runs=2, intra_op_threads=1, latency_session=True)
    )
    calls: list[int] = []  # threads of the session each call ran on
    real_run = OnnxModel.run

    def recording_run(self: OnnxModel, batch: NDArray[np.float32]) -> list[NDArray[np.float32]]:
        calls.append(self.intra_op_threads)
        return real_run(self, batch)

    monkeypatch.setattr(OnnxModel, "run", recording_run)
    frames = eight_frames(photo)
    try:
        assert detector.info.latency_session
        (alone,) = detector.detect(frames[:1])
        assert calls == [usable_cores()]  # before: a lone frame gets every core
        calls.clear()
        assert detector.open_lanes() == 2  # type: ignore[attr-defined]
        assert not detector.info.latency_session
        (on_lane,) = detector.detect_on_lane(1, frames[:1])  # type: ignore[attr-defined]
        (whole,) = detector.detect(frames[:1])
        assert calls == [1, 1]
    finally:
        detector.close()
    assert_same(on_lane, alone, "frame 0 through the solo and the main session")
    assert_same(whole, alone, "frame 0 through the solo and the main session")
