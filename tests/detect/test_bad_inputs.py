"""Bad frames and bad model files give clear project errors, and the model keeps serving."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray

from atalaia.config.detectors import OnnxDetectorConfig
from atalaia.detect import (
    DetectorError,
    InvalidFrameError,
    ModelLoadError,
    build_detector,
)
from atalaia.detect.protocol import Detector

from .tiny_models import constant_head_model, rtdetr_head

BAD_FRAMES: list[tuple[str, object, str]] = [
    ("empty array", np.zeros((0, 0, 3), np.uint8), "empty"),
    ("float frame", np.zeros((480, 640, 3), np.float32), "dtype float32"),
    ("grayscale", np.zeros((480, 640), np.uint8), "2-D"),
    ("one pixel", np.zeros((1, 1, 3), np.uint8), "1x1 pixels"),
    ("four channels", np.zeros((480, 640, 4), np.uint8), "H x W x 3"),
    ("not an array", "frame.jpg", "str"),
]


@pytest.mark.parametrize(("label", "frame", "expected"), BAD_FRAMES, ids=[b[0] for b in BAD_FRAMES])
def test_bad_frame_is_rejected_and_detector_still_works(
    default_detector: Detector,
    photo: NDArray[np.uint8],
    label: str,
    frame: object,
    expected: str,
) -> None:
    with pytest.raises(InvalidFrameError, match=expected) as caught:
        default_detector.detect([photo, frame])  # type: ignore[list-item]
    assert "frame 1" in str(caught.value), "the message names which frame of the batch"
    (good,) = default_detector.detect([photo])
    assert len(good) >= 5


def test_single_array_instead_of_a_list_is_explained(
    default_detector: Detector, photo: NDArray[np.uint8]
) -> None:
    with pytest.raises(InvalidFrameError, match=r"pass \[frame\]"):
        default_detector.detect(photo)  # type: ignore[arg-type]
    assert len(default_detector.detect([photo])[0]) >= 5


def test_missing_model_path() -> None:
    with pytest.raises(ModelLoadError, match=r"model file not found: /nonexistent/model.onnx"):
        build_detector(OnnxDetectorConfig(model=Path("/nonexistent/model.onnx")))


def test_directory_as_model(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="not a file"):
        build_detector(OnnxDetectorConfig(model=tmp_path))


def test_file_that_is_not_onnx(tmp_path: Path) -> None:
    fake = tmp_path / "model.onnx"
    fake.write_bytes(b"\x89PNG\r\n\x1a\n this is a picture, not a model")
    with pytest.raises(ModelLoadError, match=r"cannot load .*model\.onnx as an ONNX model"):
        build_detector(OnnxDetectorConfig(model=fake))


def test_onnx_with_unexpected_outputs(tmp_path: Path) -> None:
    odd = constant_head_model(
        tmp_path / "odd.onnx", [("embedding", np.zeros((1, 512), np.float32))]
    )
    with pytest.raises(ModelLoadError, match=r"unexpected outputs \(embedding \[2, 512\]\)"):
        build_detector(OnnxDetectorConfig(model=odd))


def test_onnx_with_three_heads(tmp_path: Path) -> None:
    heads = [(f"out{i}", np.zeros((1, 300, 4), np.float32)) for i in range(3)]
    odd = constant_head_model(tmp_path / "three.onnx", heads)
    with pytest.raises(ModelLoadError, match="do not fit model_format 'auto'"):
        build_detector(OnnxDetectorConfig(model=odd))


def test_labels_that_do_not_fit_the_model(tmp_path: Path) -> None:
    model = constant_head_model(tmp_path / "detr.onnx", [("out", rtdetr_head(300, 3, {}))])
    labels = tmp_path / "labels.txt"
    labels.write_text("cat\ndog\n")
    with pytest.raises(ModelLoadError, match="predicts 3 classes but 2 class names"):
        build_detector(OnnxDetectorConfig(model=model, labels=labels))


def test_missing_labels_file(tmp_path: Path) -> None:
    model = constant_head_model(tmp_path / "detr.onnx", [("out", rtdetr_head(300, 3, {}))])
    with pytest.raises(ModelLoadError, match="labels file not found"):
        build_detector(OnnxDetectorConfig(model=model, labels=tmp_path / "absent.txt"))


def test_model_that_ignores_the_batch_is_refused(tmp_path: Path) -> None:
    """An output without the batch axis would lose every camera but the first."""
    from onnx import TensorProto, helper, numpy_helper, save

    graph = helper.make_graph(
        [helper.make_node("Identity", ["head"], ["output0"])],
        "no_batch",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, ["b", 3, "h", "w"])],
        [helper.make_tensor_value_info("output0", TensorProto.FLOAT, [1, 84, 8400])],
        [numpy_helper.from_array(np.zeros((1, 84, 8400), np.float32), "head")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    save(model, str(tmp_path / "nobatch.onnx"))
    with pytest.raises(ModelLoadError, match="for a batch of 2 images"):
        build_detector(OnnxDetectorConfig(model=tmp_path / "nobatch.onnx"))


def test_every_error_is_a_detector_error() -> None:
    for error in (InvalidFrameError, ModelLoadError):
        assert issubclass(error, DetectorError)


def test_closed_detector_says_so(photo: NDArray[np.uint8]) -> None:
    detector = build_detector(OnnxDetectorConfig(input_size=320))
    detector.close()
    with pytest.raises(DetectorError, match="closed"):
        detector.detect([photo])
