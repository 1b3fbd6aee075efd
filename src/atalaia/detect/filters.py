"""Per-class filtering of detections, resolved once against the model's class table.

Class names from configuration become two lookup arrays indexed by class id (allowed, minimum
score), so filtering a frame is three vectorised comparisons, whatever the number of rules.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from atalaia.config.detectors import DetectionFilterConfig
from atalaia.detect.detections import Detections
from atalaia.detect.errors import DetectorConfigError
from atalaia.detect.labels import class_ids_by_name, normalize_class_name


@dataclass(frozen=True, slots=True, eq=False)
class DetectionFilter:
    """Keeps detections whose class is allowed, whose score reaches its class minimum, and
    whose box covers at least `min_area` square pixels."""

    allowed: NDArray[np.bool_]
    min_score: NDArray[np.float32]
    min_area: float

    @classmethod
    def from_config(
        cls, config: DetectionFilterConfig, class_names: tuple[str, ...]
    ) -> DetectionFilter:
        """Resolve names against the model; `DetectorConfigError` for a name it lacks."""
        ids = class_ids_by_name(class_names)
        allowed = np.ones(len(class_names), dtype=bool)
        if config.classes is not None:
            allowed[:] = False
            for name in config.classes:
                allowed[_resolve(name, ids, class_names, "filters.classes")] = True
        min_score = np.zeros(len(class_names), dtype=np.float32)
        for name, score in config.min_scores.items():
            min_score[_resolve(name, ids, class_names, "filters.min_scores")] = score
        return cls(allowed=allowed, min_score=min_score, min_area=config.min_area)

    @property
    def passes_everything(self) -> bool:
        return bool(self.allowed.all()) and not self.min_score.any() and self.min_area <= 0

    def apply(self, detections: Detections) -> Detections:
        if self.passes_everything or len(detections) == 0:
            return detections
        keep = self.allowed[detections.class_id]
        keep &= detections.confidence >= self.min_score[detections.class_id]
        if self.min_area > 0:
            keep &= detections.area >= self.min_area
        return detections[keep]


def _resolve(
    name: str, ids: dict[str, list[int]], class_names: tuple[str, ...], where: str
) -> list[int]:
    found = ids.get(normalize_class_name(name))
    if found is None:
        close = difflib.get_close_matches(name, class_names, n=3)
        hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise DetectorConfigError(
            f"{where}: class '{name}' is not one of the model's {len(class_names)} classes{hint}"
        )
    return found
