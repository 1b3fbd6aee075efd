"""The typed `cuda:` and `tensorrt:` settings: validation, the ONNX Runtime options they become,
and the fall-back to the CPU (with the reason) on a machine whose build has no GPU provider.

Real onnxruntime throughout: the options are built by the same code a GPU server runs;
`available` names the providers a GPU build offers so the GPU branch of the selection runs here.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import pytest
from numpy.typing import NDArray
from pydantic import TypeAdapter, ValidationError

from atalaia.config.detectors import DetectorConfig, OnnxDetectorConfig
from atalaia.detect import build_detector
from atalaia.detect.providers import MIB, resolve_providers, why_unavailable

GPU_BUILD = ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"]
CPU_ONLY = ["CPUExecutionProvider"]


def config(**fields: Any) -> OnnxDetectorConfig:
    parsed = TypeAdapter(DetectorConfig).validate_python({"type": "onnx", **fields})
    assert isinstance(parsed, OnnxDetectorConfig)
    return parsed


def test_typed_settings_become_provider_options(tmp_path: Path) -> None:
    cache = tmp_path / "trt" / "engines"
    settings = config(
        providers=["tensorrt", "cuda"],
        device_id=1,
        tensorrt={"fp16": True, "engine_cache_dir": str(cache), "max_workspace_mb": 2048},
        cuda={"gpu_mem_limit_mb": 4096, "conv_algo_search": "heuristic"},
        provider_options={"tensorrt": {"trt_builder_optimization_level": 5}},
    )
    chosen = resolve_providers(settings, available=GPU_BUILD)
    assert chosen == [
        (
            "TensorrtExecutionProvider",
            {
                "device_id": "1",
                "trt_fp16_enable": "1",
                "trt_engine_cache_enable": "1",
                "trt_engine_cache_path": str(cache),
                "trt_timing_cache_enable": "1",
                "trt_timing_cache_path": str(cache),
                "trt_max_workspace_size": str(2048 * MIB),
                "trt_builder_optimization_level": "5",
            },
        ),
        (
            "CUDAExecutionProvider",
            {
                "device_id": "1",
                "gpu_mem_limit": str(4096 * MIB),
                "cudnn_conv_algo_search": "HEURISTIC",
            },
        ),
        ("CPUExecutionProvider", {}),
    ]
    assert cache.is_dir()  # TensorRT writes there on its first build


def test_unset_keys_leave_onnx_runtime_defaults() -> None:
    chosen = resolve_providers(config(providers=["cuda"]), available=GPU_BUILD)
    assert chosen == [("CUDAExecutionProvider", {"device_id": "0"}), ("CPUExecutionProvider", {})]
    flag = config(providers=["cuda"], cuda={"conv_max_workspace": False})
    assert resolve_providers(flag, available=GPU_BUILD)[0][1]["cudnn_conv_use_max_workspace"] == "0"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"tensorrt": {"fp16": True}}, r"tensorrt\.fp16 is set but 'tensorrt' is not in providers"),
        (
            {"providers": ["tensorrt"], "tensorrt": {"max_workspace_mb": 16}},
            r"tensorrt\.max_workspace_mb\n.*greater than or equal to 64",
        ),
        (
            {"providers": ["cuda"], "cuda": {"conv_algo_search": "fastest"}},
            r"cuda\.conv_algo_search\n.*'exhaustive', 'heuristic' or 'default'",
        ),
        ({"providers": ["cuda"], "cuda": {"fp16": True}}, r"cuda\.fp16\n.*Extra inputs"),
        (
            {
                "providers": ["tensorrt", "cuda"],
                "tensorrt": {"fp16": True},
                "provider_options": {"tensorrt": {"trt_fp16_enable": True}},
            },
            r"provider_options\.tensorrt\.trt_fp16_enable and tensorrt\.fp16 set the same",
        ),
    ],
)
def test_bad_gpu_settings_are_refused_naming_the_key(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        config(**fields)


def test_a_dumped_config_validates_again(tmp_path: Path) -> None:
    """Configs cross process boundaries as dumps with every default written out."""
    for settings in (
        config(),
        config(providers=["cuda"], tensorrt={"fp16": False}),  # a default is not a setting
        config(
            providers=["tensorrt", "cuda"],
            tensorrt={"fp16": True, "engine_cache_dir": str(tmp_path)},
            cuda={"conv_max_workspace": True},
        ),
    ):
        for mode in ("python", "json"):
            assert config(**settings.model_dump(mode=mode)) == settings


def test_an_engine_cache_path_that_is_a_file_is_refused(tmp_path: Path) -> None:
    file = tmp_path / "cache"
    file.write_text("not a folder")
    with pytest.raises(ValidationError, match=r"engine_cache_dir .*cache exists and is not"):
        config(providers=["tensorrt"], tensorrt={"engine_cache_dir": str(file)})


def test_missing_gpu_providers_fall_back_to_cpu_saying_why(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cache = tmp_path / "trt"
    settings = config(
        providers=["tensorrt", "cuda"],
        tensorrt={"fp16": True, "engine_cache_dir": str(cache)},
        cuda={"gpu_mem_limit_mb": 1024},
    )
    with caplog.at_level(logging.WARNING):
        chosen = resolve_providers(settings, available=CPU_ONLY)
    assert chosen == [("CPUExecutionProvider", {})]
    assert not cache.exists()  # nothing made for a provider that will not run
    for name in ("tensorrt", "cuda"):
        assert f"'{name}' is not available in this onnxruntime build" in caplog.text
    assert "falling back to the next provider" in caplog.text


def test_a_gpu_config_still_detects_on_this_machine(
    photo: NDArray[np.uint8], caplog: pytest.LogCaptureFixture
) -> None:
    if "CUDAExecutionProvider" in ort.get_available_providers():
        pytest.skip("this onnxruntime build has CUDA: the fall-back is not what runs here")
    settings = config(
        providers=["tensorrt", "cuda"],
        input_size=320,
        tensorrt={"fp16": True, "max_workspace_mb": 1024},
        cuda={"conv_algo_search": "heuristic"},
    )
    with caplog.at_level(logging.WARNING):
        detector = build_detector(settings)
    try:
        assert detector.info.providers == ("CPUExecutionProvider",)
        assert not detector.info.io_binding  # the CPU path stays the plain one
        assert "'cuda' is not available" in caplog.text
        assert len(detector.detect([photo])[0]) >= 3
    finally:
        detector.close()


def test_why_a_gpu_provider_is_missing() -> None:
    both = why_unavailable("cuda", {"onnxruntime": "1.31.1", "onnxruntime-gpu": "1.31.1"})
    assert "share the onnxruntime module" in both
    assert "pip install --force-reinstall --no-deps onnxruntime-gpu==1.31.1" in both
    libraries = why_unavailable("tensorrt", {"onnxruntime-gpu": "1.31.1"})
    assert "is installed but its tensorrt provider did not register" in libraries
    assert "install onnxruntime-gpu" in why_unavailable("cuda", {"onnxruntime": "1.31.1"})
    assert why_unavailable("openvino", {"onnxruntime-gpu": "1"}) == "install onnxruntime-openvino"
