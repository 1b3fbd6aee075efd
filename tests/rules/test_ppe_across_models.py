"""ppe_missing on the merged detections of two models: persons from a general model, helmets
(or "missing" classes) from a PPE model, associated by the person's head region, per track,
with the rule's `frames` hysteresis. Detections are made by hand and merged by the real
`merge_detections`, driven through the real tracker and rule engine."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from atalaia.detect import Detections, merge_detections
from atalaia.detect.ppe import PpePrompts, parse_prompts
from atalaia.events.types import AlertEvent
from tests.rules.scene import Scene
from tests.track.support import Box, dets

GENERAL = ("person", "bicycle", "car")
HELMET_MODEL = ("With Helmet", "Without Helmet")  # a head model: small boxes on heads
HARDHAT_MODEL = ("Person", "Hardhat", "NO-Hardhat", "Safety Vest", "NO-Safety Vest")

A = (100.0, 100.0, 180.0, 340.0)  # two workers side by side, 240 px tall
B = (300.0, 100.0, 380.0, 340.0)
A_HEAD = (120.0, 100.0, 160.0, 140.0)
B_HEAD = (320.0, 100.0, 360.0, 140.0)
A_HAND = (150.0, 230.0, 190.0, 270.0)  # a helmet carried at the hip: inside A's box, not on A
HELMET_PROMPTS = parse_prompts(["helmet"], "ppe.yaml")


def xywh(box: Box) -> tuple[float, float, float, float]:
    """How an alert's box is given: x, y, width, height."""
    return (box[0], box[1], box[2] - box[0], box[3] - box[1])


def kinds(events: list[AlertEvent]) -> list[str]:
    return [e.type for e in events]


def merged(
    persons: Sequence[Box],
    boxes: Sequence[tuple[Box, str]] = (),
    ppe_classes: Sequence[str] = HELMET_MODEL,
) -> Detections:
    general = dets(list(persons), labels=["person"] * len(persons), classes=GENERAL)
    ppe = dets([b for b, _ in boxes], labels=[label for _, label in boxes], classes=ppe_classes)
    return merge_detections([("default", general), ("ppe", ppe)])


def scene(
    prompts: PpePrompts = HELMET_PROMPTS,
    ppe_classes: Sequence[str] = HELMET_MODEL,
    **rule: Any,
) -> Scene:
    table = merged([], ppe_classes=ppe_classes)
    return Scene(
        [{"type": "ppe_missing", "required": ["helmet"], "frames": 3, **rule}],
        classes=table.class_names,
        class_models=table.class_models,
        prompts=prompts,
    )


def run(s: Scene, n: int, detections: Detections) -> list[AlertEvent]:
    out: list[AlertEvent] = []
    for _ in range(n):
        out += s.step(detections)
    return out


def test_persons_from_the_general_model_head_boxes_from_the_helmet_model() -> None:
    s = scene()
    frame = merged([A, B], [(A_HEAD, "With Helmet"), (B_HEAD, "Without Helmet")])
    assert run(s, 2, frame) == []
    (new,) = run(s, 1, frame)  # the third frame: `frames: 3`
    alert = new.after
    assert new.type == "new" and alert.label == "person"
    assert alert.extra == {"missing": ["helmet"]}
    assert alert.box == xywh(B)  # the worker without a helmet, not the one wearing it
    assert kinds(run(s, 10, frame)) == []  # one alert per worker, held


def test_a_small_head_box_counts_however_little_of_the_person_it_covers() -> None:
    """A head model's box is a few percent of the person's box: it must still be theirs."""
    s = scene()
    tiny = (135.0, 105.0, 145.0, 115.0)  # 100 px^2 on a 19 200 px^2 person
    assert kinds(run(s, 3, merged([A], [(tiny, "Without Helmet")]))) == ["new"]
    s = scene()
    assert run(s, 10, merged([A], [(tiny, "With Helmet")])) == []


def test_a_helmet_carried_in_the_hand_is_not_worn() -> None:
    s = scene(unseen="missing")  # no box on A's head: missing (the default says unknown)
    assert kinds(run(s, 3, merged([A], [(A_HAND, "With Helmet")]))) == ["new"]
    s = scene()
    hand_and_bare_head = merged([A], [(A_HAND, "With Helmet"), (A_HEAD, "Without Helmet")])
    assert kinds(run(s, 3, hand_and_bare_head)) == ["new"]


def test_one_helmet_is_never_worn_by_two_workers() -> None:
    """B stands closer (a bigger box reaching over A's head): A's helmet is A's alone."""
    near_b = (130.0, 60.0, 260.0, 380.0)  # its head region holds 75 % of A_HEAD
    s = scene(unseen="missing")  # B's own head is not seen: count it as bare
    events = run(s, 3, merged([A, near_b], [(A_HEAD, "With Helmet")]))
    assert kinds(events) == ["new"] and events[0].after.box == xywh(near_b)


def test_hysteresis_is_per_track() -> None:
    """A's helmet flickers out of sight for two frames at a time and never starts an alert;
    B, bare-headed all along, gets one on the third frame and keeps it until the helmet is
    seen on three frames in a row."""
    s = scene()
    a_off_b_off = merged([A, B], [(A_HEAD, "Without Helmet"), (B_HEAD, "Without Helmet")])
    a_on_b_off = merged([A, B], [(A_HEAD, "With Helmet"), (B_HEAD, "Without Helmet")])
    a_on_b_on = merged([A, B], [(A_HEAD, "With Helmet"), (B_HEAD, "With Helmet")])
    events = run(s, 2, a_off_b_off) + run(s, 1, a_on_b_off)
    assert [(e.type, e.after.box) for e in events] == [("new", xywh(B))]
    for _ in range(5):
        assert run(s, 2, a_off_b_off) + run(s, 1, a_on_b_off) == []
    assert run(s, 2, a_on_b_on) == []  # B's helmet: two frames do not end it
    (end,) = run(s, 1, a_on_b_on)
    assert end.type == "end" and end.after.box == xywh(B)


def test_head_fraction_is_configurable() -> None:
    low = (120.0, 190.0, 160.0, 210.0)  # 38-46 % down A's box: a crouching worker's head
    assert kinds(run(scene(unseen="missing"), 3, merged([A], [(low, "With Helmet")]))) == ["new"]
    s = scene(head_fraction=0.5)
    assert run(s, 10, merged([A], [(low, "With Helmet")])) == []


def test_persons_come_from_one_model_even_when_both_see_them() -> None:
    """The hard-hat model finds the same worker as `Person`: one alert, not two; persons come
    from the first model unless the rule says `persons_from`."""
    prompts = parse_prompts({"helmet": ["hardhat"], "vest": ["safety vest"]}, "ppe.yaml")
    same_worker = (102.0, 98.0, 178.0, 342.0)
    frame = merged(
        [A],
        [
            (same_worker, "Person"),
            (A_HEAD, "Hardhat"),
            ((110.0, 150.0, 170.0, 250.0), "NO-Safety Vest"),
        ],
        ppe_classes=HARDHAT_MODEL,
    )
    s = scene(prompts, HARDHAT_MODEL, required=["helmet", "vest"])
    (new,) = run(s, 3, frame)
    assert new.after.label == "person" and new.after.extra == {"missing": ["vest"]}
    s = scene(prompts, HARDHAT_MODEL, required=["helmet", "vest"], persons_from="ppe")
    (new,) = run(s, 3, frame)
    assert new.after.label == "Person" and new.after.box == xywh(same_worker)


def test_persons_from_a_model_the_camera_does_not_run_turns_the_rule_off() -> None:
    s = scene(persons_from="yolo")
    assert s.engine.rules == []
    (problem,) = s.engine.problems
    assert "rule 'ppe_missing' is off" in problem
    assert "persons_from: 'yolo' is not one of the camera's models (default, ppe)" in problem
    s = scene(persons_from="ppe")  # the helmet model has no person class
    (problem,) = s.engine.problems
    assert "persons_from: model 'ppe' has no class matching person" in problem


def test_without_a_prompts_file_equipment_names_still_find_with_and_without_classes() -> None:
    table = merged([])
    s = Scene(
        [{"type": "ppe_missing", "required": ["helmet"], "frames": 2}],
        classes=table.class_names,
        class_models=table.class_models,
    )
    assert run(s, 5, merged([A], [(A_HEAD, "With Helmet")])) == []
    assert kinds(run(s, 2, merged([A], [(A_HEAD, "Without Helmet")]))) == ["new"]


def test_a_person_whose_head_the_helmet_model_did_not_find_is_unknown_not_missing() -> None:
    """The helmet model reports `Without Helmet`: a person with no head box at all (turned
    away, head too small) raises nothing by default, and unknown frames between bare-headed
    ones neither grow nor reset the streak."""
    s = scene()
    assert run(s, 10, merged([A])) == []
    bare = merged([A], [(A_HEAD, "Without Helmet")])
    assert run(s, 2, bare) == []
    assert run(s, 4, merged([A])) == []  # unknown: the streak stays at 2
    assert kinds(run(s, 1, bare)) == ["new"]  # the third bare-headed frame
    with_helmet = merged([A], [(A_HEAD, "With Helmet")])
    assert run(s, 2, with_helmet) + run(s, 5, merged([A])) == []  # 2 worn, then unknown
    assert kinds(run(s, 1, with_helmet)) == ["end"]  # the third worn frame ends it


def test_unseen_missing_counts_a_person_with_no_head_box_as_bare_headed() -> None:
    s = scene(unseen="missing")
    (new,) = run(s, 3, merged([A]))
    assert new.after.extra == {"missing": ["helmet"]}


def test_equipment_a_model_can_only_see_worn_stays_missing_when_unseen() -> None:
    """A model with `helmet` and no "missing" class never says a head is bare: by default an
    unseen helmet is missing there, or the rule could never fire; `unseen: unknown` on such
    a model is refused by name."""
    only_worn = ("helmet", "vest")
    s = scene(ppe_classes=only_worn)
    (new,) = run(s, 3, merged([A], ppe_classes=only_worn))
    assert new.after.extra == {"missing": ["helmet"]}
    assert run(s, 2, merged([A], [(A_HEAD, "helmet")], ppe_classes=only_worn)) == []
    s = scene(ppe_classes=only_worn, unseen="unknown")
    assert s.engine.rules == []
    (problem,) = s.engine.problems
    assert "rule 'ppe_missing' is off: unseen: unknown needs a class meaning 'helmet' is NOT" in (
        problem
    )
