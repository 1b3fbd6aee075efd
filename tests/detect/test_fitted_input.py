"""`input_shape: fit`: each call gets the smallest stride-32 input that holds its frames.

The frame's scale is the same as in the square input, so the detections are the same objects
in the same places; only the padding the model computes over shrinks.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import onnx
import pytest
from numpy.typing import NDArray

from atalaia.config.detectors import OnnxDetectorConfig
from atalaia.detect import Detections, build_detector, default_object_model
from atalaia.detect.letterbox import fitted_shape
from atalaia.detect.session import OnnxModel

from .test_batching import assert_same, eight_frames


@pytest.mark.parametrize(
    ("frame_hw", "bound", "expected"),
    [
        ((576, 768), 320, (256, 320)),  # 4:3 CCTV: 320x240 resized, 8 rows of padding each side
        ((1080, 1920), 320, (192, 320)),  # 16:9: 320x180
        ((1080, 1920), 640, (384, 640)),  # 16:9 at 640: 640x360
        ((466, 700), 640, (448, 640)),  # the sample photo: 640x426
        ((640, 640), 320, (320, 320)),  # square stays square
        ((1920, 1080), 320, (320, 192)),  # portrait
        ((100, 4000), 320, (32, 320)),  # a thin strip: never under one stride
    ],
)
def test_fitted_shape(frame_hw: tuple[int, int], bound: int, expected: tuple[int, int]) -> None:
    assert fitted_shape(frame_hw, (bound, bound), 32) == expected


def iou(a: NDArray[np.float32], b: NDArray[np.float32]) -> NDArray[np.float32]:
    x1 = np.maximum(a[:, None, 0], b[None, :, 0])
    y1 = np.maximum(a[:, None, 1], b[None, :, 1])
    x2 = np.minimum(a[:, None, 2], b[None, :, 2])
    y2 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)

    def area(z: NDArray[np.float32]) -> NDArray[np.float32]:
        return (z[:, 2] - z[:, 0]) * (z[:, 3] - z[:, 1])

    return inter / (area(a)[:, None] + area(b)[None, :] - inter)


def detect_recording_shapes(
    config: OnnxDetectorConfig,
    frames: list[NDArray[np.uint8]],
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[list[Detections], list[tuple[int, ...]], str]:
    detector = build_detector(config)
    shapes: list[tuple[int, ...]] = []
    real_run = OnnxModel.run

    def recording_run(self: OnnxModel, batch: NDArray[np.float32]) -> list[NDArray[np.float32]]:
        shapes.append(tuple(batch.shape))
        return real_run(self, batch)

    with monkeypatch.context() as patch:
        patch.setattr(OnnxModel, "run", recording_run)
        try:
            found = detector.detect(frames)
        finally:
            detector.close()
    return found, shapes, detector.info.input_shape


def test_a_4_3_frame_runs_at_320x256_and_finds_what_the_square_input_finds(
    photo: NDArray[np.uint8], monkeypatch: pytest.MonkeyPatch
) -> None:
    frame = cv2.resize(photo, (768, 576))
    base = {"input_size": 320, "concurrent_runs": 1, "latency_session": False}
    fit, fit_shapes, fit_info = detect_recording_shapes(
        OnnxDetectorConfig(**base), [frame], monkeypatch
    )
    square, square_shapes, square_info = detect_recording_shapes(
        OnnxDetectorConfig(**base, input_shape="square"), [frame], monkeypatch
    )
    assert (fit_info, square_info) == ("fit", "square")
    assert fit_shapes == [(1, 3, 256, 320)] and square_shapes == [(1, 3, 320, 320)]
    (f,), (s,) = fit, square
    assert len(s) >= 3 and len(f) == len(s)
    assert sorted(f.names) == sorted(s.names)
    assert iou(f.xyxy, s.xyxy).max(axis=1).min() > 0.9  # every box has its twin
    assert np.abs(np.sort(f.confidence) - np.sort(s.confidence)).max() < 0.1


def test_a_batch_is_grouped_by_shape_and_each_frame_gets_what_it_gets_alone(
    photo: NDArray[np.uint8], monkeypatch: pytest.MonkeyPatch
) -> None:
    frames = eight_frames(photo)
    config = OnnxDetectorConfig(concurrent_runs=1, batch_max=8, latency_session=False)
    batched, shapes, _ = detect_recording_shapes(config, frames, monkeypatch)
    expected = [fitted_shape(f.shape[:2], (640, 640), 32) for f in frames]
    assert len(set(expected)) < len(frames)  # some frames share a call
    groups = {hw: expected.count(hw) for hw in expected}
    assert sorted(shapes) == sorted((n, 3, *hw) for hw, n in groups.items())
    detector = build_detector(config)
    try:
        for index, frame in enumerate(frames):
            (alone,) = detector.detect([frame])
            assert_same(batched[index], alone, f"frame {index}")
    finally:
        detector.close()


def test_a_model_with_a_fixed_input_size_stays_square(tmp_path: Path) -> None:
    model = onnx.load(str(default_object_model().model))
    dims = model.graph.input[0].type.tensor_type.shape.dim
    dims[2].dim_value, dims[3].dim_value = 320, 320
    path = tmp_path / "yolo11n_320.onnx"
    onnx.save(model, str(path))
    detector = build_detector(OnnxDetectorConfig(model=path, input_size=320))
    try:
        assert detector.info.input_shape == "square"
    finally:
        detector.close()
