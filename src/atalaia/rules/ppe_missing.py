"""PpeMissing: a person in the zone without the required protective equipment.

Persons and equipment may come from different models: a general detector finds the persons,
a PPE model finds helmets, vests or "missing" classes (`Without Helmet`, `NO-Hardhat`), and
the camera merges both into one class table (`merge_detections`). So association is by
geometry only, per frame:

- each equipment sits in a region of the person's box: the `head` (the top `head_fraction`
  of the box, reaching a little above it, since a helmet may stick out of a person box), the
  `torso`, or `any`where in the box;
- an equipment box belongs to the person whose region holds at least `overlap` of its area,
  the best such person when several do (two workers side by side), so one helmet is never
  worn by two people. A head model's small `Without Helmet` box on the head lies wholly in
  the head region: nothing requires it to cover much of the person.

In one frame, each equipment is, for each person:

- missing when one of its "missing" boxes belongs to them (a `NO-Hardhat` box beats a helmet
  seen at the same time);
- worn when one of its "worn" boxes does;
- unseen otherwise. What unseen means is the rule's `unseen`. A model that can say "missing"
  (`Without Helmet`, `NO-Hardhat`) looked at every head it found: a person with no head box
  has a turned, hidden or too-small head, not a bare one, so by default (`auto`) unseen is
  unknown for such equipment, and a worker seen from behind raises nothing. A model that only
  knows "worn" (`helmet`) never says "missing", so there unseen has to count as missing, or
  the rule could never fire.

The rule holds once something is missing in `frames` consecutive judged detections of the
person (per track), and lets go once everything is worn in `frames` consecutive ones (or the
person leaves or is lost): one frame where a helmet is hidden by a raised arm neither starts
nor ends it. A detection where nothing is missing but something is unknown is not judged: the
streaks neither grow nor reset.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Literal

import numpy as np
from numpy.typing import NDArray
from pydantic import Field

from atalaia.config.cameras import RuleBase
from atalaia.detect import (
    Detections,
    DetectorConfigError,
    PpeClassIds,
    PpePrompts,
    check_ppe_classes,
)
from atalaia.detect.labels import normalize_class_name
from atalaia.detect.ppe import Region, parse_prompts
from atalaia.rules.base import Key, Observation, Rule, RuleFrame, observe, register_rule_type
from atalaia.rules.errors import RuleConfigError
from atalaia.track import Track

if TYPE_CHECKING:
    from atalaia.rules.base import RuleContext

# The torso band of a person box (fractions of its height from the top), and how far above
# the box the head region reaches (a fraction of the height).
TORSO_BAND = (0.15, 0.8)
HEAD_ABOVE = 0.1


class Unseen(StrEnum):
    """What a person with no box of an equipment counts as (see the module docstring)."""

    AUTO = "auto"
    UNKNOWN = "unknown"
    MISSING = "missing"


class PpeMissingRule(RuleBase):
    """A person in the zone lacks required equipment for `frames` consecutive detections.

    Persons are the prompts file's `person` classes unless `labels` is given; with several
    detectors, those of `persons_from` (unset: the first model that has a person class).
    Equipment may come from any of the camera's models: it counts as worn when a box of one of
    its classes has at least `overlap` of its area inside the person's region for it (the top
    `head_fraction` of the box for a head item such as a helmet); a "missing" class
    (NO-Hardhat, Without Helmet) there counts as not worn. A person with neither box is `unseen`:
    by default (`auto`) unknown when a model can say "missing" for that equipment (a turned or
    too-small head is not a bare head), missing when it can only say "worn".
    """

    type: Literal["ppe_missing"]
    required: list[str] = Field(min_length=1, description="equipment names from the prompts file")
    frames: int = Field(5, ge=1, le=1000)
    overlap: float = Field(
        0.5, gt=0, le=1, description="share of an equipment box inside the person's region"
    )
    persons_from: str | None = Field(
        None, max_length=64, description="the detector whose persons the rule watches"
    )
    head_fraction: float = Field(
        0.3, gt=0, le=1, description="top share of a person box where head items are looked for"
    )
    unseen: Unseen = Field(
        Unseen.AUTO,
        description=(
            "a person with no box of an equipment: missing, or unknown (judged on neither "
            "side); auto: unknown when a model reports a 'missing' class for it"
        ),
    )


def default_prompts(required: list[str]) -> PpePrompts:
    """Without a prompts file, equipment names are the model's class names themselves."""
    return parse_prompts({"equipment": {name: [name] for name in required}}, "(no prompts file)")


@dataclass(slots=True)
class _Streaks:
    missing: int = 0
    worn: int = 0
    holding: bool = False
    last_missing: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Equipment:
    """One required equipment: its worn and missing class ids, where it sits, and whether a
    person with neither box lacks it (`unseen_is_missing`) or is unknown."""

    name: str
    worn: tuple[int, ...]
    missing: tuple[int, ...]
    region: Region
    unseen_is_missing: bool = True


@dataclass(frozen=True, slots=True)
class EquipmentCheck:
    """One person in one frame: the required equipment they lack, and that which no box of
    theirs says either way (only where unseen means unknown)."""

    missing: tuple[str, ...] = ()
    unknown: tuple[str, ...] = ()


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


def person_regions(
    persons: NDArray[np.float64], region: Region, head_fraction: float
) -> NDArray[np.float64]:
    """(P, 4): the part of each person box where an equipment of `region` is looked for."""
    boxes = np.array(persons, dtype=np.float64).reshape(-1, 4)
    height = boxes[:, 3] - boxes[:, 1]
    top = boxes[:, 1].copy()
    if region == "head":
        boxes[:, 1] = top - HEAD_ABOVE * height
        boxes[:, 3] = top + head_fraction * height
    elif region == "torso":
        boxes[:, 1] = top + TORSO_BAND[0] * height
        boxes[:, 3] = top + TORSO_BAND[1] * height
    return boxes


def owners(
    regions: NDArray[np.float64], boxes: NDArray[np.float64], overlap: float
) -> NDArray[np.intp]:
    """For each of K boxes, the index of the person region it belongs to, or -1.

    The region holding the largest share of the box wins; among equal shares, the smallest
    region (the box fits that person best: a head box inside a near worker's whole body and
    inside a far worker's head region is the far worker's)."""
    if len(regions) == 0 or len(boxes) == 0:
        return np.full(len(boxes), -1, dtype=np.intp)
    share = share_inside(regions, boxes)  # (P, K)
    area = np.prod(np.clip(regions[:, 2:] - regions[:, :2], 0, None), axis=1)
    top = share.max(axis=0)
    tied = share >= top[None, :] - 1e-9  # float noise never decides between two persons
    best = np.argmin(np.where(tied, area[:, None], np.inf), axis=0)
    return np.where(top >= overlap, best, -1)


def check_equipment(
    person_boxes: NDArray[np.float64],
    detections: Detections,
    required: list[Equipment],
    overlap: float,
    head_fraction: float = 0.3,
) -> list[EquipmentCheck]:
    """For each of P persons, the required equipment they lack in this frame, and that which
    is unknown (see the module docstring)."""
    persons = np.asarray(person_boxes, dtype=np.float64).reshape(-1, 4)
    missing: list[list[str]] = [[] for _ in range(len(persons))]
    unknown: list[list[str]] = [[] for _ in range(len(persons))]
    boxes = np.asarray(detections.xyxy, dtype=np.float64).reshape(-1, 4)
    classes = detections.class_id
    regions: dict[Region, NDArray[np.float64]] = {}
    for item in required:
        if item.region not in regions:
            regions[item.region] = person_regions(persons, item.region, head_fraction)
        worn = np.zeros(len(persons), dtype=bool)
        flagged = np.zeros(len(persons), dtype=bool)
        for ids, hits in ((item.worn, worn), (item.missing, flagged)):
            pick = np.flatnonzero(np.isin(classes, ids))
            if len(pick):
                owner = owners(regions[item.region], boxes[pick], overlap)
                hits[owner[owner >= 0]] = True
        unseen = ~worn & ~flagged
        lacking = flagged | unseen if item.unseen_is_missing else flagged
        for p in np.flatnonzero(lacking).tolist():
            missing[p].append(item.name)
        if not item.unseen_is_missing:
            for p in np.flatnonzero(unseen).tolist():
                unknown[p].append(item.name)
    return [EquipmentCheck(tuple(m), tuple(u)) for m, u in zip(missing, unknown, strict=True)]


def unseen_is_missing(unseen: Unseen, missing_classes: tuple[int, ...]) -> bool:
    """The rule's `unseen` for one equipment: `auto` is unknown where a model reports a
    "missing" class for it, missing where none does."""
    if unseen is Unseen.AUTO:
        return not missing_classes
    return unseen is Unseen.MISSING


@register_rule_type(PpeMissingRule)
class PpeMissing(Rule[PpeMissingRule]):
    @classmethod
    def build(
        cls, name: str, config: PpeMissingRule, zone_key: str, context: RuleContext
    ) -> PpeMissing:
        """Which classes of the camera's models are persons and which equipment: an error
        when no model can see what the rule requires."""
        try:
            classes = check_ppe_classes(
                context.prompts or default_prompts(config.required),
                context.class_names,
                required=config.required,
                model_label=context.model_label,
                class_models=context.class_models,
                persons_from=config.persons_from,
            )
        except DetectorConfigError as exc:
            raise RuleConfigError(str(exc)) from None
        return cls(name, config, zone_key, classes)

    def __init__(
        self,
        name: str,
        config: PpeMissingRule,
        zone_key: str,
        classes: PpeClassIds,
    ) -> None:
        super().__init__(name, config, zone_key)
        self._persons = set(classes.person)
        if "labels" in config.model_fields_set:
            self._persons = set()  # the rule's own labels decide (see `watches`)
        self._required = []
        for eq in config.required:
            key = normalize_class_name(eq)
            missing = classes.missing.get(key, ())
            if config.unseen is Unseen.UNKNOWN and not missing:
                raise RuleConfigError(
                    f"unseen: unknown needs a class meaning '{eq}' is NOT worn (such as "
                    f"'no {eq}' or 'without {eq}'), and no class of the camera's models is "
                    "one: the rule could never fire (use unseen: missing, or a model that "
                    "reports the missing equipment)"
                )
            self._required.append(
                Equipment(
                    eq,
                    classes.equipment.get(key, ()),
                    missing,
                    classes.regions.get(key, "any"),
                    unseen_is_missing(config.unseen, missing),
                )
            )
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
            found = check_equipment(
                person_boxes,
                frame.detections,
                self._required,
                self.config.overlap,
                self.config.head_fraction,
            )
            for track, check in zip(persons, found, strict=True):
                self._observe(track, check)
        return {
            track.track_id: observe(track, missing=list(self._streaks[track.track_id].last_missing))
            for track in frame.tracks
            if track.track_id in self._streaks and self._streaks[track.track_id].holding
        }

    def _observe(self, track: Track, check: EquipmentCheck) -> None:
        """One detection of a person in the zone: update its streaks, start or stop holding.
        Nothing missing but something unknown is no evidence either way: nothing changes."""
        s = self._streaks[track.track_id]
        if check.missing:
            s.missing, s.worn = s.missing + 1, 0
            s.last_missing = check.missing
        elif check.unknown:
            return
        else:
            s.missing, s.worn = 0, s.worn + 1
        if (
            not s.holding
            and s.missing >= self.config.frames
            and track.score >= self.config.min_score
        ):
            s.holding = True
        elif s.holding and s.worn >= self.config.frames:
            s.holding = False
