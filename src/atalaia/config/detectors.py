"""Detector plugins, chosen by a discriminated `type` (as Frigate picks its detectors).

Each detector plugin is one module with its config model (a `DetectorBase` with
`type: Literal[...]`) and its implementation, registered together in `DETECTOR_PLUGINS`;
`detectors:` accepts every registered type. The shared settings (ONNX Runtime, detection
filters) stay here; the built-in config models are still importable from here by name.

```yaml
detectors:
  default: {type: onnx}                        # built-in YOLO11n (AGPL-3.0 weights)
  ppe: {type: onnx, model: /models/ppe.onnx, labels: /models/ppe.txt, input_size: 416}
  faces: {type: scrfd}                         # optional extra, non-commercial weights
  gpu:                                         # `atalaia[gpu]`, docs/gpu.md
    type: onnx
    providers: [tensorrt, cuda]                # CPU is always added last
    tensorrt: {fp16: true, engine_cache_dir: /var/cache/atalaia/trt, max_workspace_mb: 4096}
```

Threading defaults on CPU: a batch is split across `concurrent_runs` model calls (one per
core) that each use one thread, the plan that gave the most images per second here; a lone
frame goes to a second session of the model that uses every core, the plan with the lowest
latency (docs/benchmarks.md, `atalaia.detect.runtime`). `concurrent_runs: 1` gives one call
per batch with every core.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import Field, model_validator

from atalaia.config.base import StrictModel
from atalaia.plugins import PluginRegistry

if TYPE_CHECKING:
    from atalaia.detect.onnx_detector import OnnxDetectorConfig
    from atalaia.detect.registry import DetectorFactory
    from atalaia.detect.scrfd import ScrfdDetectorConfig

ProviderName = Literal["cpu", "cuda", "tensorrt", "openvino"]


def _cpu_only() -> list[ProviderName]:
    return ["cpu"]


class DetectionFilterConfig(StrictModel):
    """Which detections a detector passes on; names are matched ignoring case, '_' and '-'.

    Every name must be a class of the model: a typo is a configuration error at start-up,
    not a filter that silently drops everything.
    """

    classes: list[str] | None = Field(
        None, description="Class names to keep; unset keeps every class."
    )
    min_scores: dict[str, Annotated[float, Field(ge=0, le=1)]] = Field(
        default_factory=dict,
        description="Per-class minimum confidence, on top of the detector's min_score.",
    )
    min_area: float = Field(0.0, ge=0, description="Minimum box area in pixels of the frame.")


class DetectorBase(StrictModel):
    """What every detector's config has: the `type` that names its plugin, and how the
    detector process batches the cameras' frames for it (whatever the plugin)."""

    type: str = Field(description="which detector plugin; each narrows this to its own name")
    batch_max: int = Field(
        8,
        ge=1,
        le=64,
        description=(
            "Most frames per model call, where the model runs one call at a time (a GPU, or "
            "a CPU plan with one run); several single-threaded CPU runs take one frame each."
        ),
    )
    batch_timeout_ms: float = Field(
        5.0, ge=0, le=1000, description="How long the detector process waits to fill a batch."
    )


# ONNX Runtime option names that the typed `cuda:` and `tensorrt:` sections set; the same name
# in `provider_options` as well would leave one of the two silently ignored.
CUDA_OPTION_KEYS: dict[str, tuple[str, ...]] = {
    "gpu_mem_limit_mb": ("gpu_mem_limit",),
    "conv_algo_search": ("cudnn_conv_algo_search",),
    "conv_max_workspace": ("cudnn_conv_use_max_workspace",),
}
TENSORRT_OPTION_KEYS: dict[str, tuple[str, ...]] = {
    "fp16": ("trt_fp16_enable",),
    "engine_cache_dir": (
        "trt_engine_cache_enable",
        "trt_engine_cache_path",
        "trt_timing_cache_enable",
        "trt_timing_cache_path",
    ),
    "max_workspace_mb": ("trt_max_workspace_size",),
}


class CudaSettings(StrictModel):
    """CUDA provider settings (`providers: [cuda]`); unset keys keep ONNX Runtime's defaults.

    The CUDA provider runs the model in the precision it was exported in: for half precision
    on CUDA, bring a float16 model (docs/gpu.md).
    """

    gpu_mem_limit_mb: int | None = Field(
        None, ge=64, description="Most GPU memory the provider's arena may take, in MiB."
    )
    conv_algo_search: Literal["exhaustive", "heuristic", "default"] | None = Field(
        None,
        description="How cuDNN picks convolution algorithms: exhaustive (ORT's default) "
        "benchmarks each shape once, the best for a fixed input size.",
    )
    conv_max_workspace: bool | None = Field(
        None, description="Let cuDNN use as much workspace as it wants (faster convolutions)."
    )


class TensorrtSettings(StrictModel):
    """TensorRT provider settings (`providers: [tensorrt, cuda]`).

    Building a TensorRT engine for a model takes from seconds to minutes at the first start;
    `engine_cache_dir` keeps the engines (and the timing cache) so later starts load them.
    """

    fp16: bool = Field(False, description="Build float16 engines (about 2x faster, tiny drift).")
    engine_cache_dir: Path | None = Field(
        None, description="Folder for built engines and timing caches; created when missing."
    )
    max_workspace_mb: int | None = Field(
        None, ge=64, description="Most GPU memory TensorRT may use while building, in MiB."
    )


class OnnxRuntimeSettings(DetectorBase):
    """How ONNX Runtime runs a model: providers, threads, GPU settings."""

    providers: list[ProviderName] = Field(
        default_factory=_cpu_only,
        description="Tried in order; one this onnxruntime build lacks is skipped with a warning. "
        "CPU is always added last.",
    )
    device_id: int = Field(0, ge=0, description="GPU index for cuda/tensorrt.")
    provider_options: dict[ProviderName, dict[str, str | int | float | bool]] = Field(
        default_factory=dict,
        description="Other ONNX Runtime options per provider, passed as they are, e.g. "
        "{tensorrt: {trt_builder_optimization_level: 5}}; the common ones have typed keys "
        "under `cuda:` and `tensorrt:`.",
    )
    intra_op_threads: int | None = Field(
        None, ge=1, description="Threads inside one model call; unset: cores / concurrent_runs."
    )
    concurrent_runs: int | None = Field(
        None,
        ge=1,
        le=64,
        description="Model calls in flight for one batch; unset: one per core on CPU, 1 on GPU.",
    )
    latency_session: bool | Literal["auto"] = Field(
        "auto",
        description="CPU with concurrent_runs > 1: also open the model with every core in one "
        "call, for batches too small to split (a lone frame); about 85 MB more at 640. auto: "
        "both are timed on a lone frame at start and the second session is kept only when "
        "it is at least 10 % faster.",
    )
    io_binding: Literal["auto", "on", "off"] = Field(
        "auto", description="auto: only on CUDA/TensorRT, where it saves copies."
    )
    input_upload: Literal["auto", "float", "uint8"] = Field(
        "auto",
        description="How a batch reaches the model: float (scaled on the CPU by the letterbox) "
        "or uint8 (whole pixels, a quarter of float32's bytes, scaled by a small graph on the "
        "model's provider). auto: uint8 where the model runs on a device with I/O binding "
        "(CUDA/TensorRT), float on the CPU.",
    )
    call_batches: list[Annotated[int, Field(ge=1, le=64)]] | Literal["auto"] = Field(
        "auto",
        description="Batch sizes every model call is padded to, each size run by its own "
        "session, so that a session always sees one input shape (a model with a dynamic batch "
        "axis). On CUDA each change of input shape made ONNX Runtime plan the convolutions "
        "again, 0.2 to 3 s per change on an H200 (docs/gpu.md). auto: powers of two up to "
        "batch_max, and batch_max, on cuda/tensorrt; none on the CPU. []: none.",
    )
    prep_threads: Annotated[int, Field(ge=1, le=64)] | Literal["auto"] = Field(
        "auto",
        description="Threads that letterbox and decode the frames of one model call. On a GPU "
        "one thread did both for a batch of 32 in about as long as the model call itself "
        "(docs/benchmarks.md). auto: min(8, cores) on cuda/tensorrt, 1 on the CPU, whose "
        "cores run the model.",
    )
    cuda: CudaSettings = Field(default_factory=CudaSettings)
    tensorrt: TensorrtSettings = Field(default_factory=TensorrtSettings)

    @model_validator(mode="after")
    def _gpu_settings_fit(self) -> OnnxRuntimeSettings:
        """GPU settings for a provider that is not listed, or set twice, are mistakes.

        A key counts as set when its value is not the default (not when it is merely present:
        a dumped config, every default written out, must validate again).
        """
        for name, section, keys in (
            ("cuda", self.cuda, CUDA_OPTION_KEYS),
            ("tensorrt", self.tensorrt, TENSORRT_OPTION_KEYS),
        ):
            fields = type(section).model_fields
            for key in sorted(k for k in fields if getattr(section, k) != fields[k].default):
                if name not in self.providers:
                    raise ValueError(
                        f"{name}.{key} is set but '{name}' is not in providers {self.providers}"
                    )
                raw = self.provider_options.get(name, {})
                for option in keys[key]:
                    if option in raw:
                        raise ValueError(
                            f"provider_options.{name}.{option} and {name}.{key} set the same "
                            f"ONNX Runtime option; keep only {name}.{key}"
                        )
        if self.call_batches != "auto" and any(b > self.batch_max for b in self.call_batches):
            raise ValueError(
                f"call_batches {self.call_batches} has a size above batch_max {self.batch_max}"
            )
        cache = self.tensorrt.engine_cache_dir
        if cache is not None and cache.exists() and not cache.is_dir():
            raise ValueError(f"tensorrt.engine_cache_dir {cache} exists and is not a folder")
        return self


class OnnxModelSettings(OnnxRuntimeSettings):
    """What a detector that runs one ONNX model file is configured with; each plugin sets
    its own score and overlap defaults, and with no `model` loads its built-in one."""

    model: Path | None = None
    input_size: int = Field(640, ge=320, le=1280, multiple_of=32)
    min_score: float = Field(0.25, ge=0, le=1)
    iou_threshold: float = Field(0.45, gt=0, le=1)
    max_detections: int = Field(300, ge=1, le=10000)
    filters: DetectionFilterConfig = Field(default_factory=DetectionFilterConfig)


DETECTOR_PLUGINS: PluginRegistry[DetectorBase, DetectorFactory] = PluginRegistry(
    "detector",
    DetectorBase,
    # Imported when a configuration first names them: the face plugin and its optional
    # dependency cost nothing to a deployment that never uses it.
    builtins={"onnx": "atalaia.detect.onnx_detector", "scrfd": "atalaia.detect.scrfd"},
)

DetectorConfig = Annotated[DetectorBase, DETECTOR_PLUGINS.union()]
"""Any registered detector's config, chosen by `type` when validated."""


def default_detectors() -> dict[str, DetectorBase]:
    """`detectors:` when a configuration has none: the built-in object detector."""
    return {"default": DETECTOR_PLUGINS.config_model("onnx")(type="onnx")}


__all__ = [
    "DETECTOR_PLUGINS",
    "CudaSettings",
    "DetectionFilterConfig",
    "DetectorBase",
    "DetectorConfig",
    "OnnxDetectorConfig",
    "OnnxModelSettings",
    "OnnxRuntimeSettings",
    "ProviderName",
    "ScrfdDetectorConfig",
    "TensorrtSettings",
    "default_detectors",
]

# Names other modules import from here, now defined by the detector plugins themselves.
_MOVED = {
    "OnnxDetectorConfig": "atalaia.detect.onnx_detector",
    "ScrfdDetectorConfig": "atalaia.detect.scrfd",
}


def __getattr__(name: str) -> object:
    """Load a moved config model from its plugin module on first use (PEP 562): the plugin
    modules import the detection engine, which the configuration alone does not need."""
    if name not in _MOVED:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_MOVED[name]), name)
