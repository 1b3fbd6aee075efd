"""Provider selection, the discriminated detector config, the plugin registry, I/O binding."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Literal

import numpy as np
import pytest
from numpy.typing import NDArray
from pydantic import TypeAdapter, ValidationError

from atalaia.config.detectors import (
    DETECTOR_PLUGINS,
    DetectorBase,
    DetectorConfig,
    OnnxDetectorConfig,
    ScrfdDetectorConfig,
)
from atalaia.detect import (
    Detections,
    DetectorConfigError,
    DetectorInfo,
    build_detector,
    register_detector,
)
from atalaia.detect.protocol import Detector
from atalaia.detect.providers import select_providers
from atalaia.detect.runtime import plan_threads, usable_cores

from .test_batching import assert_same, eight_frames

CPU_ONLY = ["CPUExecutionProvider"]
GPU_BUILD = ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"]


def test_missing_providers_fall_back_to_cpu_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING):
        chosen = select_providers(["tensorrt", "cuda", "openvino"], {}, 0, available=CPU_ONLY)
    assert chosen == [("CPUExecutionProvider", {})]
    for name, package in [("cuda", "onnxruntime-gpu"), ("openvino", "onnxruntime-openvino")]:
        assert f"'{name}' is not available" in caplog.text and package in caplog.text


def test_gpu_providers_keep_order_and_get_device_and_options() -> None:
    chosen = select_providers(
        ["tensorrt", "cuda"],
        {"tensorrt": {"trt_fp16_enable": True, "device_id": 2}},
        1,
        available=GPU_BUILD,
    )
    assert chosen == [
        ("TensorrtExecutionProvider", {"device_id": "2", "trt_fp16_enable": "1"}),
        ("CUDAExecutionProvider", {"device_id": "1"}),
        ("CPUExecutionProvider", {}),
    ]


def test_requesting_cuda_here_still_gives_a_working_detector(
    photo: NDArray[np.uint8], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        detector = build_detector(OnnxDetectorConfig(providers=["cuda"], input_size=320))
    try:
        if "CUDAExecutionProvider" in detector.info.providers:
            pytest.skip("this machine really has CUDA")
        assert detector.info.providers == ("CPUExecutionProvider",)
        assert "'cuda' is not available" in caplog.text
        assert len(detector.detect([photo])[0]) >= 3
    finally:
        detector.close()


def test_thread_plans() -> None:
    cores = usable_cores()
    assert plan_threads(None, None, on_gpu=False) == (1, cores)
    assert plan_threads(None, 1, on_gpu=False) == (cores, 1)
    assert plan_threads(2, None, on_gpu=False) == (2, max(1, cores // 2))
    assert plan_threads(None, None, on_gpu=True) == (cores, 1)


def test_detector_config_is_a_union_on_type() -> None:
    adapter: TypeAdapter[OnnxDetectorConfig | ScrfdDetectorConfig] = TypeAdapter(DetectorConfig)
    assert isinstance(adapter.validate_python({"type": "onnx"}), OnnxDetectorConfig)
    faces = adapter.validate_python({"type": "scrfd", "min_score": 0.6})
    assert isinstance(faces, ScrfdDetectorConfig) and faces.min_score == 0.6
    with pytest.raises(
        ValidationError, match=r"union_tag_invalid|does not match any of the expected tags"
    ):
        adapter.validate_python({"type": "tflite"})
    with pytest.raises(ValidationError, match=r"extra_forbidden|Extra inputs"):
        adapter.validate_python({"type": "onnx", "modle": "x.onnx"})
    with pytest.raises(ValidationError, match="multiple of 32"):
        adapter.validate_python({"type": "onnx", "input_size": 500})


class EchoConfig(DetectorBase):
    type: Literal["echo"]


class EchoDetector:
    """A plugin registered from outside the package: returns no detections."""

    def __init__(self, config: EchoConfig) -> None:
        self.config = config

    @property
    def class_names(self) -> tuple[str, ...]:
        return ("thing",)

    @property
    def info(self) -> DetectorInfo:
        return DetectorInfo("echo", "-", "-", 1, 1, 1, (), None, 1, 1, False, False)

    def detect(self, frames: Sequence[NDArray[np.uint8]]) -> list[Detections]:
        return [Detections.empty(self.class_names) for _ in frames]

    def close(self) -> None:
        return None


def test_registry_builds_registered_plugins() -> None:
    register_detector(EchoConfig)(EchoDetector)
    try:
        config = TypeAdapter(DetectorConfig).validate_python({"type": "echo"})
        assert isinstance(config, EchoConfig)
        detector = build_detector(config)
        assert isinstance(detector, EchoDetector) and isinstance(detector, Detector)
    finally:
        DETECTOR_PLUGINS.unregister("echo")
    with pytest.raises(ValidationError, match="does not match any of the expected tags"):
        TypeAdapter(DetectorConfig).validate_python({"type": "echo"})


def test_unknown_type_lists_known_ones() -> None:
    config = OnnxDetectorConfig.model_construct(type="tflite")  # type: ignore[arg-type]
    with pytest.raises(DetectorConfigError, match=r"unknown detector type 'tflite' .*onnx, scrfd"):
        build_detector(config)


def test_io_binding_path_gives_the_same_detections(
    default_detector: Detector, photo: NDArray[np.uint8]
) -> None:
    """The GPU run path (I/O binding) exercised on the CPU provider."""
    detector = build_detector(OnnxDetectorConfig(io_binding="on"))
    try:
        assert detector.info.io_binding
        frames = eight_frames(photo)[:4]
        bound = detector.detect(frames)
    finally:
        detector.close()
    assert not default_detector.info.io_binding
    for index, (b, s) in enumerate(zip(bound, default_detector.detect(frames), strict=True)):
        assert_same(b, s, f"frame {index}")
