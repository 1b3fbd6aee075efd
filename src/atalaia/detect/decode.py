"""Raw model outputs to candidate boxes, one decoder per output layout, all vectorised.

Each decoder takes the output rows of ONE frame and returns `Candidates` in input-tensor pixels;
`finish_frame` then runs NMS and maps the survivors back to the original frame. Decoders are
plain functions of arrays so they can be tested without any model.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from atalaia.detect.detections import Detections
from atalaia.detect.letterbox import Letterbox
from atalaia.detect.nms import nms_class_aware


@dataclass(frozen=True, slots=True)
class Candidates:
    """Boxes above the score threshold, before NMS, in input-tensor pixels."""

    xyxy: NDArray[np.float32]
    confidence: NDArray[np.float32]
    class_id: NDArray[np.int32]
    landmarks: NDArray[np.float32] | None = None


def cxcywh_to_xyxy(boxes: NDArray[np.float32]) -> NDArray[np.float32]:
    """(N, 4) centre/size boxes to (N, 4) corner boxes."""
    half = boxes[:, 2:4] * np.float32(0.5)
    return np.concatenate([boxes[:, 0:2] - half, boxes[:, 0:2] + half], axis=1).astype(np.float32)


def decode_yolov8(output: NDArray[np.float32], min_score: float) -> Candidates:
    """YOLOv8/YOLO11 head: (4 + C, N) rows of cx, cy, w, h (input pixels) then C class scores.

    The class maximum is taken over all anchors first (one reduction), and the arg-max only
    for the few anchors that pass the threshold.
    """
    class_scores = output[4:]
    best = class_scores.max(axis=0)
    keep = np.flatnonzero(best > min_score)
    class_id = class_scores[:, keep].argmax(axis=0).astype(np.int32)
    xyxy = cxcywh_to_xyxy(np.ascontiguousarray(output[:4, keep].T))
    return Candidates(xyxy, best[keep].astype(np.float32), class_id)


def decode_yolov5(output: NDArray[np.float32], min_score: float) -> Candidates:
    """YOLOv5 head: (N, 5 + C) rows of cx, cy, w, h, objectness, C class probabilities.

    score = objectness x class probability, so rows whose objectness alone is below the
    threshold are dropped before the class product is formed.
    """
    rows = output[output[:, 4] > min_score]
    scores = rows[:, 5:] * rows[:, 4:5]
    class_id = scores.argmax(axis=1).astype(np.int32)
    best = scores[np.arange(len(rows)), class_id]
    keep = best > min_score
    xyxy = cxcywh_to_xyxy(rows[keep, :4])
    return Candidates(xyxy, best[keep].astype(np.float32), class_id[keep])


def decode_rtdetr(
    boxes: NDArray[np.float32],
    scores: NDArray[np.float32],
    input_width: int,
    input_height: int,
    min_score: float,
) -> Candidates:
    """RT-DETR style: (N, 4) cx, cy, w, h normalised to 0..1 of the input, (N, C) scores.

    Ultralytics exports give probabilities; Hugging Face exports give logits. Logits of a
    DETR head are mostly negative (hundreds of background queries), so any value outside
    0..1 means logits and a sigmoid is applied.
    """
    if scores.size and (scores.min() < 0.0 or scores.max() > 1.0):
        scores = (1.0 / (1.0 + np.exp(-scores))).astype(np.float32)
    class_id = scores.argmax(axis=1).astype(np.int32)
    best = scores[np.arange(len(scores)), class_id]
    keep = best > min_score
    scale = np.array([input_width, input_height, input_width, input_height], np.float32)
    xyxy = cxcywh_to_xyxy(boxes[keep]) * scale
    return Candidates(xyxy.astype(np.float32), best[keep].astype(np.float32), class_id[keep])


def finish_frame(
    candidates: Candidates,
    letterbox: Letterbox,
    class_names: tuple[str, ...],
    iou_threshold: float | None,
    max_detections: int,
) -> Detections:
    """NMS (unless `iou_threshold` is None: DETR heads need none), then back to frame pixels.

    Boxes that collapse to nothing once clipped to the frame (predicted entirely in the
    padding) are dropped.
    """
    if iou_threshold is None:
        order = np.argsort(-candidates.confidence, kind="stable")[:max_detections]
    else:
        order = nms_class_aware(
            candidates.xyxy,
            candidates.confidence,
            candidates.class_id,
            iou_threshold,
            max_detections,
        )
    xyxy = letterbox.boxes_to_frame(candidates.xyxy[order])
    landmarks = None
    if candidates.landmarks is not None:
        landmarks = letterbox.points_to_frame(candidates.landmarks[order])
    visible = (xyxy[:, 2] > xyxy[:, 0]) & (xyxy[:, 3] > xyxy[:, 1])
    return Detections(
        xyxy=xyxy[visible],
        confidence=candidates.confidence[order][visible],
        class_id=candidates.class_id[order][visible],
        class_names=class_names,
        landmarks=None if landmarks is None else landmarks[visible],
    )
