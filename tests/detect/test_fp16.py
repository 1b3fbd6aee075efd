"""Half-precision (float16) ONNX models: fed float16, read back as float32, same detections.

The float16 model is the built-in YOLO11n converted in the test with onnxconverter-common, so
ONNX Runtime really runs a float16 graph (on the CPU provider it adds casts around operators
that have no float16 kernel; the graph's inputs and outputs stay float16).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import onnx
import pytest
from numpy.typing import NDArray
from onnxconverter_common import float16
from typer.testing import CliRunner

from atalaia.cli.main import app
from atalaia.config.detectors import OnnxDetectorConfig
from atalaia.detect import ModelLoadError, build_detector, default_object_model
from atalaia.detect.inspect import TensorSpec, inspect_model, precision
from atalaia.detect.letterbox import PixelTransform, letterbox_into
from atalaia.detect.protocol import Detector
from atalaia.detect.session import OnnxModel

from .test_batching import eight_frames

CPU = [("CPUExecutionProvider", {})]


def half_precision(source: Path, target: Path, keep_io_types: bool = False) -> Path:
    """`source` converted to float16 (weights and activations; I/O too unless kept)."""
    model = onnx.load(str(source))
    # The export's value_info types intermediate tensors as float32; the converter keeps some
    # of them beside the casts it inserts, and ONNX Runtime then refuses the graph ("Type
    # (tensor(float16)) of output arg ... does not match expected type"). Shapes are
    # re-inferred at load, so dropping them loses nothing.
    del model.graph.value_info[:]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "the model contains values out of float16 range"
        half = float16.convert_float_to_float16(model, keep_io_types=keep_io_types)
    del half.graph.value_info[:]
    onnx.save(half, str(target))
    return target


@pytest.fixture(scope="module")
def fp16_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("fp16")
    return half_precision(default_object_model().model, folder / "yolo11n-fp16.onnx")


@pytest.fixture(scope="module")
def fp16_detector(fp16_model: Path) -> Iterator[Detector]:
    detector = build_detector(OnnxDetectorConfig(model=fp16_model))
    yield detector
    detector.close()


def test_a_float16_model_gives_the_float32_detections(
    fp16_detector: Detector, default_detector: Detector, photo: NDArray[np.uint8]
) -> None:
    assert fp16_detector.info.model_format == "yolov8"
    assert fp16_detector.class_names == default_detector.class_names  # names kept in metadata
    frames = eight_frames(photo)
    for index, (half, full) in enumerate(
        zip(fp16_detector.detect(frames), default_detector.detect(frames), strict=True)
    ):
        where = f"frame {index}"
        strong = full.confidence > 0.4  # borderline boxes may cross min_score either way
        assert len(full) >= 3 and int(strong.sum()) >= 2, where
        for box, cls, score in zip(
            full.xyxy[strong], full.class_id[strong], full.confidence[strong], strict=True
        ):
            same = half.class_id == cls
            assert same.any(), f"{where}: class {cls} lost in float16"
            nearest = np.abs(half.xyxy[same] - box).max(axis=1).argmin()
            scale = max(float(box[2] - box[0]), float(box[3] - box[1]))
            assert np.abs(half.xyxy[same][nearest] - box).max() < 0.02 * scale + 1.0, where
            assert abs(float(half.confidence[same][nearest]) - float(score)) < 0.03, where


def test_the_session_takes_float16_and_returns_float32(fp16_model: Path) -> None:
    model = OnnxModel(fp16_model, CPU, 1, 1)
    assert model.input.dtype is np.float16
    batch = np.full((2, 3, 320, 320), 0.5, np.float16)
    (plain,) = model.run(batch)
    assert plain.dtype == np.float32 and plain.shape == (2, 84, 2100)
    bound_model = OnnxModel(fp16_model, CPU, 1, 1, io_binding="on")
    assert bound_model.uses_io_binding
    (bound,) = bound_model.run(batch)
    assert bound.dtype == np.float32
    np.testing.assert_array_equal(bound, plain)


def test_io_binding_on_a_float16_model_gives_the_same_detections(
    fp16_model: Path, fp16_detector: Detector, photo: NDArray[np.uint8]
) -> None:
    bound = build_detector(OnnxDetectorConfig(model=fp16_model, io_binding="on"))
    try:
        frames = eight_frames(photo)[:4]
        for b, p in zip(bound.detect(frames), fp16_detector.detect(frames), strict=True):
            np.testing.assert_array_equal(b.class_id, p.class_id)
            np.testing.assert_allclose(b.xyxy, p.xyxy, atol=1e-3)
    finally:
        bound.close()


@pytest.mark.parametrize("pixels", [PixelTransform(), PixelTransform(to_rgb=False, mean=127.5)])
def test_letterbox_into_float16_rounds_once(
    photo: NDArray[np.uint8], pixels: PixelTransform
) -> None:
    """Writing a float16 slot equals the float32 result rounded once to float16."""
    full = np.empty((3, 320, 320), np.float32)
    half = np.empty((3, 320, 320), np.float16)
    assert letterbox_into(photo, full, pixels) == letterbox_into(photo, half, pixels)
    np.testing.assert_array_equal(half, full.astype(np.float16))


def test_models_check_reports_the_precision(fp16_model: Path, tmp_path: Path) -> None:
    report = inspect_model(fp16_model, size=320)
    assert report.usable and report.precision == "float16"
    assert [spec.dtype for spec in (*report.inputs, *report.outputs)] == ["float16", "float16"]
    assert inspect_model(default_object_model().model, size=320).precision == "float32"
    kept = half_precision(default_object_model().model, tmp_path / "io32.onnx", True)
    assert inspect_model(kept, size=320).precision == "float32"  # float32 I/O, float16 inside


def test_models_check_prints_the_precision(fp16_model: Path) -> None:
    result = CliRunner().invoke(app, ["models", "check", str(fp16_model), "--size", "320"])
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "input: images float16 [batch, 3, height, width]" in lines
    assert "precision: float16" in lines
    assert "head: yolov8, 80 classes, input 320x320, batch dynamic" in lines


def test_precision_of_mixed_and_non_float_graphs() -> None:
    image16 = TensorSpec("images", ("batch", 3, 640, 640), "float16")
    out32 = TensorSpec("output0", ("batch", 84, 8400), "float32")
    labels = TensorSpec("labels", ("batch", 300), "int64")
    assert precision([image16], [out32, labels]) == "mixed: input float16, outputs float32"
    assert precision([TensorSpec("x", (1, 3, 8, 8), "uint8")], [labels]).startswith("none")


def test_integer_image_inputs_are_still_refused(tmp_path: Path) -> None:
    model = onnx.load(str(default_object_model().model))
    graph = model.graph
    original = graph.input[0].name
    graph.input[0].name = "pixels"
    graph.input[0].type.tensor_type.elem_type = onnx.TensorProto.UINT8
    cast = onnx.helper.make_node("Cast", ["pixels"], [original], to=onnx.TensorProto.FLOAT)
    graph.node.insert(0, cast)
    path = tmp_path / "uint8.onnx"
    onnx.save(model, str(path))
    with pytest.raises(ModelLoadError, match=r"tensor\(uint8\), expected tensor\(float\)"):
        OnnxModel(path, CPU, 1, 1)
