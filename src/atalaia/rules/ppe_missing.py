"""PpeMissing: a person in the zone without the required protective equipment.

Equipment boxes come from the same detector as the persons (its classes, mapped to equipment
names by the prompts file). In each frame where the person is detected, an equipment counts as
worn when one of its boxes has at least `overlap` of its area inside the person's box, and as
missing when it is not worn or a "missing" class (NO-Hardhat style) overlaps the person.

The rule holds once something is missing in `frames` consecutive detections of the person,
and lets go once everything is worn in `frames` consecutive detections (or the person leaves
or is lost): one frame where a helmet is hidden by a raised arm neither starts nor ends it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from atalaia.config.cameras import PpeMissingRule
from atalaia.detect import Detections, PpeClassIds
from atalaia.detect.labels import normalize_class_name
from atalaia.rules.base import Key, Observation, Rule, RuleFrame, observe
from atalaia.track import Track


@dataclass(slots=True)
class _Streaks:
    missing: int = 0
    worn: int = 0
    holding: bool = False
    last_missing: tuple[str, ...] = ()


def share_inside(persons: NDArray[np.float64], boxes: NDArray[np.float64]) -> NDArray[np.float64]:
    """(P, K): the fraction of each of K boxes' area inside each of P person boxes."""
    persons = persons.reshape(-1, 4)
    boxes = boxes.reshape(-1, 4)
    lt = np.maximum(boxes[None, :, :2], persons[:, None, :2])
    rb = np.minimum(boxes[None, :, 2:], persons[:, None, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), axis=2)
    area = np.prod(np.clip(boxes[:, 2:] - boxes[:, :2], 0, None), axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(np.where(area[None, :] > 0, inter / area[None, :], 0.0))


def missing_equipment(
    person_boxes: NDArray[np.float64],
    detections: Detections,
    required: Mapping[str, tuple[tuple[int, ...], tuple[int, ...]]],
    overlap: float,
) -> list[list[str]]:
    """For each of P persons, the required equipment they do not wear in this frame.

    `required` maps an equipment name to (worn class ids, missing class ids). One (P, D)
    overlap matrix serves every person and equipment.
    """
    boxes = np.asarray(detections.xyxy, dtype=np.float64)
    on_person = share_inside(person_boxes, boxes) >= overlap  # (P, D)
    classes = detections.class_id
    missing: list[list[str]] = [[] for _ in range(len(on_person))]
    for name, (worn_ids, missing_ids) in required.items():
        worn = (on_person & np.isin(classes, worn_ids)[None, :]).any(axis=1)
        flagged = (on_person & np.isin(classes, missing_ids)[None, :]).any(axis=1)
        for p in np.flatnonzero(flagged | ~worn).tolist():
            missing[p].append(name)
    return missing


class PpeMissing(Rule):
    def __init__(
        self,
        name: str,
        config: PpeMissingRule,
        zone_key: str,
        classes: PpeClassIds,
    ) -> None:
        super().__init__(name, config, zone_key)
        self.rule = config
        self._persons = set(classes.person)
        if "labels" in config.model_fields_set:
            self._persons = set()  # the rule's own labels decide (see `watches`)
        self._required = {
            eq: (
                classes.equipment.get(normalize_class_name(eq), ()),
                classes.missing.get(normalize_class_name(eq), ()),
            )
            for eq in config.required
        }
        self._streaks: dict[int, _Streaks] = {}

    def watches(self, track: Track) -> bool:
        if self._persons:
            return track.class_id in self._persons
        return super().watches(track)

    def evaluate(self, frame: RuleFrame) -> dict[Key, Observation]:
        for track_id in frame.update.removed:
            self._streaks.pop(track_id, None)
        occupancy = frame.occupancy[self.zone_key]
        matched = frame.update.matched
        persons: list[Track] = []
        for track in frame.tracks:
            if not self.watches(track):
                continue
            s = self._streaks.setdefault(track.track_id, _Streaks())
            if not occupancy.is_inside(track.track_id):
                s.missing = s.worn = 0
                s.holding = False
            elif track.track_id in matched:
                persons.append(track)
        if persons:
            person_boxes = np.array([t.box for t in persons], dtype=np.float64)
            found = missing_equipment(
                person_boxes, frame.detections, self._required, self.rule.overlap
            )
            for track, missing in zip(persons, found, strict=True):
                self._observe(track, missing)
        return {
            track.track_id: observe(track, missing=list(self._streaks[track.track_id].last_missing))
            for track in frame.tracks
            if track.track_id in self._streaks and self._streaks[track.track_id].holding
        }

    def _observe(self, track: Track, missing: list[str]) -> None:
        """One detection of a person in the zone: update its streaks, start or stop holding."""
        s = self._streaks[track.track_id]
        if missing:
            s.missing, s.worn = s.missing + 1, 0
            s.last_missing = tuple(missing)
        else:
            s.missing, s.worn = 0, s.worn + 1
        if not s.holding and s.missing >= self.rule.frames and track.score >= self.rule.min_score:
            s.holding = True
        elif s.holding and s.worn >= self.rule.frames:
            s.holding = False
