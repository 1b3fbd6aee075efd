"""Detection engine: real models, offline, batched, on any ONNX Runtime accelerator.

Entry points for the rest of atalaia:

- `build_detector(config)` loads the detector a `DetectorConfig` describes (once per process).
- `Detector.detect(frames)` runs a batch of BGR uint8 frames, returns one `Detections` each.
- `Detections` (arrays) -> `to_list()` / `to_dicts()` for the API, `to_wire()` between
  processes; `DetectionFilter` and the PPE prompts (`load_prompts`, `check_ppe_classes`) for
  rules.
"""

from atalaia.detect.annotate import draw_detections
from atalaia.detect.builtin import default_face_model, default_object_model, sample_image
from atalaia.detect.detections import BoundingBox, Detection, Detections, merge_detections
from atalaia.detect.errors import (
    DetectorConfigError,
    DetectorError,
    InferenceError,
    InvalidFrameError,
    ModelLoadError,
    WireFormatError,
)
from atalaia.detect.filters import DetectionFilter
from atalaia.detect.ppe import PpeClassIds, PpePrompts, check_ppe_classes, load_prompts
from atalaia.detect.protocol import Detector, DetectorInfo, LaneDetector
from atalaia.detect.registry import build_detector, register_detector

__all__ = [
    "BoundingBox",
    "Detection",
    "DetectionFilter",
    "Detections",
    "Detector",
    "DetectorConfigError",
    "DetectorError",
    "DetectorInfo",
    "InferenceError",
    "InvalidFrameError",
    "LaneDetector",
    "ModelLoadError",
    "PpeClassIds",
    "PpePrompts",
    "WireFormatError",
    "build_detector",
    "check_ppe_classes",
    "default_face_model",
    "default_object_model",
    "draw_detections",
    "load_prompts",
    "merge_detections",
    "register_detector",
    "sample_image",
]
