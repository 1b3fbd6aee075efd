"""Per-class filtering of detections, resolved once against the model's class table.

Class names from configuration become two lookup arrays indexed by class id (allowed, minimum
score), so filtering a frame is three vectorised comparisons, whatever the number of rules.
"""

from __future__ import annotations

import difflib
import logging
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from atalaia.config.detectors import DetectionFilterConfig
from atalaia.detect.detections import Detections
from atalaia.detect.errors import DetectorConfigError
from atalaia.detect.labels import class_ids_by_name, normalize_class_name

log = logging.getLogger(__name__)


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


class ShownClasses:
    """A camera's `detect.classes`: what is shown and stored, never what the rules see.

    `detect.classes: [person, car]` next to a `ppe_missing` rule must not take the helmet
    boxes away from the rule (every person would then be "missing a helmet"); so the camera
    tracks and judges every class and this selection only narrows the overlay, the track table
    in its status and the detections it publishes. Names are matched in every model of a
    merged class table (`person` keeps the person classes of both models); a name no class
    carries is listed in `unknown` (reported, not fatal), and the selection is resolved once
    per class table.
    """

    def __init__(self, names: list[str] | tuple[str, ...] | None, owner: str = "camera") -> None:
        self.names = tuple(names) if names is not None else None
        self.owner = owner
        self.unknown: tuple[str, ...] = ()
        self._table: tuple[str, ...] | None = None
        self._mask: NDArray[np.bool_] | None = None

    def mask(self, class_names: tuple[str, ...]) -> NDArray[np.bool_] | None:
        """Which class ids are shown; None when every class is."""
        if self.names is None:
            return None
        if class_names != self._table:
            ids = class_ids_by_name(class_names)
            mask = np.zeros(len(class_names), dtype=bool)
            unknown = []
            for name in self.names:
                found = ids.get(normalize_class_name(name))
                if found is None:
                    unknown.append(name)
                else:
                    mask[found] = True
            self._table, self._mask, self.unknown = class_names, mask, tuple(unknown)
            if unknown:
                log.warning(
                    "detect.classes of %s: %s matches no class of its models; never shown",
                    self.owner,
                    ", ".join(repr(n) for n in unknown),
                )
        return self._mask

    def shows(self, class_id: int, class_names: tuple[str, ...]) -> bool:
        mask = self.mask(class_names)
        return mask is None or (0 <= class_id < len(mask) and bool(mask[class_id]))

    def apply(self, detections: Detections) -> Detections:
        mask = self.mask(detections.class_names)
        if mask is None or len(detections) == 0:
            return detections
        return detections[mask[detections.class_id]]
