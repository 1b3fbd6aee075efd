"""YOLOv5, RT-DETR and transposed YOLOv8 heads, through tiny real ONNX models.

Every model here answers a 1280x640 frame letterboxed to 320x320 (scale 0.25, 80 px of
padding above), so an input box centred at (160, 160), 80x40, is (480, 240)-(800, 400) in the
frame.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from atalaia.config.detectors import OnnxDetectorConfig
from atalaia.detect import ModelLoadError, build_detector

from .tiny_models import constant_head_model, rtdetr_head, yolov5_head

FRAME = np.full((640, 1280, 3), 90, np.uint8)
FRAME_BOX = [480.0, 240.0, 800.0, 400.0]
NAMES_METADATA = {"names": "{0: 'helmet', 1: 'person', 2: 'vest'}"}


def run(model: Path, **options: object) -> tuple[list[str], np.ndarray, np.ndarray, str]:
    """The tiny heads answer the same boxes whatever the input's size, placed for 320x320:
    the input stays square (a real YOLO head's boxes follow a fitted input)."""
    options.setdefault("input_shape", "square")
    detector = build_detector(OnnxDetectorConfig(model=model, input_size=320, **options))
    try:
        (found,) = detector.detect([FRAME])
        return found.names, found.xyxy, found.confidence, detector.info.model_format
    finally:
        detector.close()


def test_yolov5_head_with_objectness(tmp_path: Path) -> None:
    head = yolov5_head(
        320,
        3,
        {
            10: [160, 160, 80, 40, 0.9, 0.1, 0.8, 0.1],  # person 0.72
            11: [162, 160, 80, 40, 0.9, 0.1, 0.6, 0.1],  # same person, weaker: suppressed
            12: [160, 160, 80, 40, 0.8, 0.0, 0.1, 0.9],  # vest 0.72 on the same box: kept
            13: [40, 40, 20, 20, 0.2, 0.0, 1.0, 0.0],  # objectness below min_score
        },
    )
    model = constant_head_model(tmp_path / "v5.onnx", [("output0", head)], metadata=NAMES_METADATA)
    names, xyxy, confidence, fmt = run(model)
    assert fmt == "yolov5"
    assert sorted(names) == ["person", "vest"]
    np.testing.assert_allclose(xyxy, [FRAME_BOX, FRAME_BOX], atol=1e-3)
    np.testing.assert_allclose(confidence, [0.72, 0.72], atol=1e-5)


def test_rtdetr_single_output_with_probabilities(tmp_path: Path) -> None:
    head = rtdetr_head(
        300,
        3,
        {
            0: [0.5, 0.5, 0.25, 0.125, 0.1, 0.9, 0.0],
            7: [0.125, 0.5, 0.0625, 0.0625, 0.0, 0.0, 0.6],
        },
    )
    model = constant_head_model(
        tmp_path / "detr.onnx", [("output0", head)], metadata=NAMES_METADATA
    )
    names, xyxy, confidence, fmt = run(model)
    assert fmt == "rtdetr"
    assert names == ["person", "vest"]
    np.testing.assert_allclose(xyxy[0], FRAME_BOX, atol=1e-3)
    # (40, 160) 20x20 in the input -> (120, 320) 80x80 in the frame
    np.testing.assert_allclose(xyxy[1], [120, 280, 200, 360], atol=1e-3)
    np.testing.assert_allclose(confidence, [0.9, 0.6], atol=1e-6)


def test_rtdetr_two_outputs_with_logits(tmp_path: Path) -> None:
    boxes = np.full((1, 300, 4), 0.05, np.float32)
    boxes[0, 3] = [0.5, 0.5, 0.25, 0.125]
    logits = np.full((1, 300, 3), -6.0, np.float32)
    logits[0, 3, 2] = 2.0
    model = constant_head_model(
        tmp_path / "hf.onnx", [("logits", logits), ("pred_boxes", boxes)], metadata=NAMES_METADATA
    )
    names, xyxy, confidence, fmt = run(model)
    assert fmt == "rtdetr"
    assert names == ["vest"]
    np.testing.assert_allclose(xyxy, [FRAME_BOX], atol=1e-3)
    np.testing.assert_allclose(confidence, [1 / (1 + np.exp(-2.0))], rtol=1e-5)


def test_transposed_yolov8_head(tmp_path: Path) -> None:
    anchors = 40 * 40 + 20 * 20 + 10 * 10
    head = np.zeros((1, anchors, 7), np.float32)
    head[0, 5] = [160, 160, 80, 40, 0.05, 0.7, 0.1]
    model = constant_head_model(tmp_path / "v8t.onnx", [("output0", head)], metadata=NAMES_METADATA)
    names, xyxy, confidence, fmt = run(model)
    assert (fmt, names) == ("yolov8", ["person"])
    np.testing.assert_allclose(xyxy, [FRAME_BOX], atol=1e-3)
    np.testing.assert_allclose(confidence, [0.7], atol=1e-6)


def test_labels_file_overrides_metadata(tmp_path: Path) -> None:
    head = rtdetr_head(300, 3, {0: [0.5, 0.5, 0.25, 0.125, 0.0, 0.0, 0.9]})
    model = constant_head_model(
        tmp_path / "detr.onnx", [("output0", head)], metadata=NAMES_METADATA
    )
    labels = tmp_path / "labels.yaml"
    labels.write_text("names: {0: hard hat, 1: worker, 2: hi-vis vest}\n")
    names, *_ = run(model, labels=labels)
    assert names == ["hi-vis vest"]


def test_model_without_names_gets_numbered_classes(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    head = rtdetr_head(300, 3, {0: [0.5, 0.5, 0.25, 0.125, 0.0, 0.9, 0.0]})
    model = constant_head_model(tmp_path / "anon.onnx", [("output0", head)])
    with caplog.at_level(logging.WARNING):
        names, *_ = run(model)
    assert names == ["class_1"]
    assert "carries no class names" in caplog.text


def test_declared_format_that_contradicts_the_outputs(tmp_path: Path) -> None:
    head = np.zeros((1, 7, 2100), np.float32)  # a YOLOv8 head, channels first
    model = constant_head_model(tmp_path / "v8.onnx", [("output0", head)], metadata=NAMES_METADATA)
    with pytest.raises(
        ModelLoadError, match=r"output0 \[2, 7, 2100\]\) do not fit model_format 'rtdetr'"
    ):
        run(model, model_format="rtdetr")


def test_declared_format_is_used(tmp_path: Path) -> None:
    """An RT-DETR head with exactly as many queries as YOLOv5 anchors needs declaring."""
    queries = 3 * (40 * 40 + 20 * 20 + 10 * 10)
    head = rtdetr_head(queries, 3, {0: [0.5, 0.5, 0.25, 0.125, 0.0, 0.9, 0.0]})
    model = constant_head_model(tmp_path / "detr.onnx", [("output0", head)])
    labels = tmp_path / "labels.txt"
    labels.write_text("helmet\nperson\nvest\n")
    with pytest.raises(ModelLoadError, match="predicts 2 classes but 3 class names"):
        run(model, labels=labels)  # auto: taken for YOLOv5 by its row count
    names, xyxy, _, fmt = run(model, labels=labels, model_format="rtdetr")
    assert (fmt, names) == ("rtdetr", ["person"])
    np.testing.assert_allclose(xyxy, [FRAME_BOX], atol=1e-3)


def test_fixed_input_size_of_the_model_wins(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    head = rtdetr_head(300, 3, {0: [0.5, 0.5, 0.25, 0.125, 0.0, 0.9, 0.0]})
    model = constant_head_model(
        tmp_path / "fixed.onnx",
        [("output0", head)],
        input_shape=("batch", 3, 320, 320),
        metadata=NAMES_METADATA,
    )
    with caplog.at_level(logging.WARNING):
        detector = build_detector(OnnxDetectorConfig(model=model, input_size=640))
    assert (detector.info.input_width, detector.info.input_height) == (320, 320)
    assert "fixed 320x320 input" in caplog.text
    (found,) = detector.detect([FRAME])
    np.testing.assert_allclose(found.xyxy, [FRAME_BOX], atol=1e-3)
    detector.close()
