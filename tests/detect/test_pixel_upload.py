"""`input_upload: uint8`: batches cross as pixels and a small graph scales them where the
model runs. On the CPU the same path runs on the host (configured explicitly), so the graph,
the uint8 letterbox and the chaining are all checked here with the real model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from numpy.typing import NDArray

from atalaia.config.detectors import OnnxDetectorConfig
from atalaia.detect import build_detector
from atalaia.detect.letterbox import PixelTransform, letterbox_into
from atalaia.detect.pixel_graph import MODEL_INPUT, PIXELS_INPUT, pixel_graph
from atalaia.detect.pixel_upload import converter_providers
from atalaia.detect.session import OnnxModel

from .test_batching import assert_same, eight_frames
from .test_fp16 import fp16_model  # noqa: F401  (fixture)

SCRFD_LIKE = PixelTransform(to_rgb=True, mean=127.5, scale=1.0 / 128.0, pad_pixel=0)


@pytest.mark.parametrize("pixels", [PixelTransform(), SCRFD_LIKE])
@pytest.mark.parametrize("float16", [False, True])
def test_the_graph_is_valid_onnx_and_scales_as_the_letterbox_does(
    pixels: PixelTransform, float16: bool
) -> None:
    graph = pixel_graph(pixels.mean, pixels.scale, float16)
    onnx.checker.check_model(onnx.load_model_from_string(graph), full_check=True)
    session = ort.InferenceSession(graph, providers=["CPUExecutionProvider"])
    batch = np.random.default_rng(7).integers(0, 256, (2, 3, 24, 40), dtype=np.uint8)
    (out,) = session.run([MODEL_INPUT], {PIXELS_INPUT: batch})
    expected = (batch.astype(np.float32) - np.float32(pixels.mean)) * np.float32(pixels.scale)
    assert out.dtype == (np.float16 if float16 else np.float32) and out.shape == batch.shape
    np.testing.assert_allclose(out.astype(np.float32), expected, rtol=1e-3 if float16 else 1e-6)


def test_a_uint8_letterbox_holds_the_pixels_and_pads_with_the_pad_colour(
    photo: NDArray[np.uint8],
) -> None:
    pixels = PixelTransform()
    as_bytes = np.zeros((3, 320, 320), np.uint8)
    as_float = np.zeros((3, 320, 320), np.float32)
    placed = letterbox_into(photo, as_bytes, pixels)
    assert placed == letterbox_into(photo, as_float, pixels)
    np.testing.assert_allclose(as_bytes * np.float32(pixels.scale), as_float, atol=1e-6)
    assert placed.pad_top > 0 and (as_bytes[:, : placed.pad_top] == pixels.pad_pixel).all()


@pytest.mark.parametrize("io_binding", ["off", "on"])
def test_a_detector_with_uint8_upload_finds_what_the_float_one_finds(
    default_detector_square: OnnxDetectorConfig, photo: NDArray[np.uint8], io_binding: str
) -> None:
    """With `io_binding: on` the converter's output stays an OrtValue bound as the model's
    input, as on a GPU (here the device is the CPU): the chaining a GPU run uses."""
    frames = eight_frames(photo)
    results = {}
    for upload in ("float", "uint8"):
        detector = build_detector(
            default_detector_square.model_copy(
                update={"input_upload": upload, "io_binding": io_binding}
            )
        )
        try:
            assert detector.info.input_upload == upload
            assert detector.info.io_binding == (io_binding == "on")
            results[upload] = detector.detect(frames)
        finally:
            detector.close()
    for index, (b, s) in enumerate(zip(results["uint8"], results["float"], strict=True)):
        assert_same(b, s, f"frame {index}")


def test_a_float16_model_takes_uint8_batches_too(fp16_model: Path) -> None:  # noqa: F811
    model = OnnxModel(fp16_model, [("CPUExecutionProvider", {})], 1, 1)
    with pytest.raises(TypeError, match="take_pixels"):
        model.run(np.zeros((1, 3, 320, 320), np.uint8))
    model.take_pixels(model.pixel_upload(PixelTransform()))
    grey = np.full((1, 3, 320, 320), 114, np.uint8)
    (from_bytes,) = model.run(grey)
    (from_floats,) = model.run(np.full((1, 3, 320, 320), 114 / 255, np.float16))
    np.testing.assert_allclose(from_bytes, from_floats, atol=1e-3)


def test_auto_keeps_the_float_letterbox_on_the_cpu() -> None:
    detector = build_detector(OnnxDetectorConfig(input_size=320))
    try:
        assert detector.info.input_upload == "float"
    finally:
        detector.close()


def test_the_converter_runs_on_cuda_where_the_model_runs_on_tensorrt() -> None:
    trt = ("TensorrtExecutionProvider", {"trt_fp16_enable": "True", "device_id": "1"})
    cuda = ("CUDAExecutionProvider", {"device_id": "1", "gpu_mem_limit": "1024"})
    cpu = ("CPUExecutionProvider", {})
    assert converter_providers([trt, cuda, cpu], 1) == [cuda, cpu]
    assert converter_providers([trt, cpu], 1) == [
        ("CUDAExecutionProvider", {"device_id": "1"}),
        cpu,
    ]
    assert converter_providers([cuda, cpu], 1) == [cuda, cpu]


@pytest.fixture
def default_detector_square() -> OnnxDetectorConfig:
    return OnnxDetectorConfig(input_shape="square", concurrent_runs=2, intra_op_threads=1)
