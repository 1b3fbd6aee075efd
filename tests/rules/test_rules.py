"""Each rule: fires, does not fire, cools down, ends. Driven through a real tracker and the
rule engine with hand-made detections at 5 per second."""

from __future__ import annotations

from typing import Any

import pytest

from atalaia.detect.ppe import parse_prompts
from atalaia.events.types import AlertEvent
from tests.rules.scene import STEP, Scene
from tests.track.support import box_at

DOCK = {"name": "dock", "points": [[100, 100], [300, 100], [300, 300], [100, 300]], "inertia": 2}
IN = box_at(180, 215)  # feet at y=295: inside, near the bottom edge
OUT = box_at(180, 225)  # feet at y=305: just outside; the same track (high IoU)


def kinds(events: list[AlertEvent]) -> list[str]:
    return [e.type for e in events]


def in_zone(**rule: Any) -> Scene:
    return Scene([{"type": "object_in_zone", "zone": "dock", **rule}], zones=[DOCK])


# ---- object in zone ------------------------------------------------------------------------


def test_object_in_zone_fires_once_then_ends_when_the_object_leaves() -> None:
    s = in_zone(cooldown=10)
    assert s.frames(3, [OUT]) == []
    new = s.frames(2, [IN])  # inertia 2: the second frame inside
    assert kinds(new) == ["new"]
    alert = new[0].after
    assert (alert.rule, alert.rule_type, alert.zone, alert.label) == (
        "object_in_zone:dock", "object_in_zone", "dock", "person",
    )  # fmt: skip
    assert alert.track_id is not None and alert.start_time == pytest.approx(s.ts)
    assert alert.box == pytest.approx((180, 215, 40, 80)) and alert.active
    assert s.frames(50, [IN]) == []  # standing still for 10 s: no storm of alerts
    end = s.frames(2, [OUT])
    assert kinds(end) == ["end"]
    assert end[0].after.id == alert.id and end[0].after.end_time == pytest.approx(s.ts)
    assert end[0].before is not None and end[0].before.end_time is None


def test_object_in_zone_does_not_fire_outside_for_other_labels_or_low_scores() -> None:
    s = in_zone(min_score=0.8)
    assert s.frames(10, [OUT]) == []
    assert s.frames(10, [IN], labels=["car"]) == []
    s2 = in_zone(min_score=0.8)
    assert s2.frames(10, [IN], scores=[0.7]) == []  # tracked, but not sure enough
    assert kinds(s2.frames(1, [IN], scores=[0.85])) == ["new"]


def test_object_in_zone_cooldown_per_track_after_an_end() -> None:
    s = in_zone(cooldown=3)
    s.frames(2, [IN])
    assert kinds(s.frames(2, [OUT])) == ["end"]
    ended = s.ts
    back = s.frames(5, [IN])  # back inside within 1 s: no new alert for this track
    assert back == []
    again = s.frames(15, [IN])
    assert kinds(again) == ["new"]
    assert again[0].after.start_time >= ended + 3 - 1e-6
    assert again[0].after.track_id == s.events[0].after.track_id


def test_object_in_zone_ends_when_the_track_is_lost_for_good() -> None:
    s = in_zone()
    s.frames(3, [IN])
    assert s.wait(2.0) == []  # lost for less than the tracker's 3 s: alert goes on
    end = s.wait(2.0)
    assert kinds(end) == ["end"] and end[0].after.end_time is not None


def test_updates_only_for_a_meaningful_score_gain_at_a_bounded_rate() -> None:
    s = in_zone()  # min_update_interval 1 s in the scene, gain 0.05
    s.frames(2, [IN], scores=[0.6])
    assert s.frames(10, [IN], scores=[0.62]) == []  # +0.02: not worth telling anyone
    first = s.frames(1, [IN], scores=[0.7])
    assert kinds(first) == ["update"] and first[0].after.top_score == pytest.approx(0.7)
    assert first[0].before is not None and first[0].before.top_score == pytest.approx(0.6)
    assert s.frames(4, [IN], scores=[0.9]) == []  # within 1 s of the last update
    late = s.frames(1, [IN], scores=[0.9])
    assert kinds(late) == ["update"] and late[0].after.top_score == pytest.approx(0.9)
    assert len({e.after.id for e in s.events}) == 1


def test_the_update_policy_comes_from_the_camera_configuration() -> None:
    s = Scene(
        [{"type": "object_in_zone", "zone": "dock", "cooldown": 3}],
        zones=[DOCK],
        min_update_interval=0.0,
        min_score_gain=0.15,
    )
    assert kinds(s.frames(5, [IN], scores=[0.6])) == ["new"]
    assert s.frames(3, [IN], scores=[0.7]) == []  # +0.10 < 0.15
    assert kinds(s.frames(1, [IN], scores=[0.8])) == ["update"]  # +0.20, no interval
    assert kinds(s.frames(1, [IN], scores=[0.96])) == ["update"]  # at once: interval 0


def test_finish_ends_every_active_alert() -> None:
    s = in_zone()
    s.frames(2, [IN])
    events = s.engine.finish(s.ts + 1)
    assert kinds(events) == ["end"] and events[0].after.end_time == s.ts + 1
    assert s.engine.active_alerts() == []


# ---- loitering -----------------------------------------------------------------------------


def loitering(**rule: Any) -> Scene:
    return Scene([{"type": "loitering", "zone": "dock", "seconds": 2, **rule}], zones=[DOCK])


def test_loitering_fires_after_the_dwell_time_and_ends_on_leaving() -> None:
    s = loitering()
    assert s.frames(10, [IN]) == []  # 2 s of frames, but inside only since the first
    new = s.frames(1, [IN])
    assert kinds(new) == ["new"]
    assert new[0].after.start_time - new[0].after.extra["entered_at"] >= 2.0
    assert s.frames(20, [IN]) == []
    assert kinds(s.frames(2, [OUT])) == ["end"]


def test_loitering_does_not_fire_for_short_visits() -> None:
    s = loitering()
    for _ in range(4):
        s.frames(6, [IN])  # 1.2 s inside
        s.frames(3, [OUT])  # out long enough to pass the inertia
    assert s.events == []


def test_loitering_cooldown_then_fires_again() -> None:
    s = loitering(cooldown=5)
    s.frames(12, [IN])
    s.frames(2, [OUT])
    assert kinds(s.events) == ["new", "end"]
    assert s.frames(15, [IN]) == []  # 3 s inside again, still cooling down
    assert kinds(s.frames(15, [IN])) == ["new"]


# ---- line crossing -------------------------------------------------------------------------

LINE = [[100, 200], [500, 200]]  # drawn left to right: "in" is moving down the image


def walk_down(s: Scene, x: float, y0: float, y1: float, step: float = 10) -> list[AlertEvent]:
    """A person whose feet go from y0 to y1 (box height 80)."""
    out: list[AlertEvent] = []
    n = int(abs(y1 - y0) / step)
    for i in range(n + 1):
        y = y0 + (y1 - y0) * i / n
        out += s.frame([box_at(x, y - 80)])
    return out


def crossing(**rule: Any) -> Scene:
    return Scene([{"type": "line_crossing", "line": LINE, **rule}])


def test_line_crossing_in_fires_on_the_way_down_and_ends_on_crossing_back() -> None:
    s = crossing(direction="in", cooldown=60)
    new = walk_down(s, 280, 150, 260)
    assert kinds(new) == ["new"] and new[0].after.extra == {"direction": "in"}
    end = walk_down(s, 280, 260, 150)
    assert kinds(end) == ["end"]
    assert walk_down(s, 280, 150, 260) == []  # cooling down


def test_line_crossing_direction_is_respected() -> None:
    s = crossing(direction="out")
    assert walk_down(s, 280, 150, 260) == []
    up = walk_down(s, 280, 260, 150)
    assert kinds(up) == ["new"] and up[0].after.extra == {"direction": "out"}


def test_line_crossing_beside_the_segment_is_no_crossing() -> None:
    s = crossing(direction="any")
    assert walk_down(s, 540, 150, 260) == []  # feet at x=560, past the line's end at 500


def test_line_crossing_any_direction_and_relative_line() -> None:
    s = Scene([{"type": "line_crossing", "line": [[0.1, 0.5], [0.9, 0.5]]}])  # y=240 of 480
    assert kinds(walk_down(s, 280, 300, 200)) == ["new"]


# ---- count above ---------------------------------------------------------------------------


def counting(**rule: Any) -> Scene:
    return Scene([{"type": "count_above", "zone": "dock", "count": 1, **rule}], zones=[DOCK])


A_IN, B_IN, B_OUT = box_at(120, 215), box_at(220, 215), box_at(220, 225)


def test_count_above_fires_when_more_than_k_are_inside_and_ends_below() -> None:
    s = counting(cooldown=5)
    assert s.frames(5, [A_IN]) == []
    new = s.frames(2, [A_IN, B_IN])
    assert kinds(new) == ["new"]
    alert = new[0].after
    assert alert.track_id is None and alert.extra["count"] == 2
    assert len(alert.extra["track_ids"]) == 2 and alert.box == pytest.approx((120, 215, 140, 80))
    assert s.frames(20, [A_IN, B_IN]) == []
    assert kinds(s.frames(2, [A_IN, B_OUT])) == ["end"]
    assert s.frames(10, [A_IN, B_IN]) == []  # 2 s later: cooling down
    assert kinds(s.frames(15, [A_IN, B_IN])) == ["new"]


def test_count_above_does_not_fire_at_exactly_k() -> None:
    s = counting()
    assert s.frames(10, [A_IN, B_OUT]) == []


# ---- protective equipment ------------------------------------------------------------------

PPE_CLASSES = ("person", "helmet", "vest", "no-helmet", "car")
PROMPTS = parse_prompts(
    {
        "person": ["person"],
        "equipment": {"helmet": ["helmet", "hardhat"], "vest": ["vest"]},
        "missing": {"helmet": ["no-helmet"]},
    },
    "ppe.yaml",
)
PERSON = (200.0, 100.0, 260.0, 260.0)
HELMET = (215.0, 95.0, 245.0, 125.0)  # 83 % inside the person's box
VEST = (210.0, 150.0, 250.0, 200.0)
FAR_HELMET = (500.0, 95.0, 530.0, 125.0)


def ppe(**rule: Any) -> Scene:
    """A person with no helmet box counts as bare-headed here (`unseen: missing`); the default,
    unknown for a model with a no-helmet class, is tested in test_ppe_across_models.py."""
    return Scene(
        [
            {
                "type": "ppe_missing",
                "required": ["helmet", "vest"],
                "frames": 3,
                "unseen": "missing",
                **rule,
            }
        ],
        classes=PPE_CLASSES,
        prompts=PROMPTS,
    )


def worker(*equipment: tuple[tuple[float, float, float, float], str]) -> dict[str, Any]:
    boxes = [PERSON, *(box for box, _ in equipment)]
    return {"boxes": boxes, "labels": ["person", *(label for _, label in equipment)]}


def test_ppe_missing_fires_after_n_frames_and_ends_after_n_frames_worn() -> None:
    s = ppe(cooldown=60)
    assert s.frames(10, **worker((HELMET, "helmet"), (VEST, "vest"))) == []
    assert s.frames(2, **worker((VEST, "vest"), (FAR_HELMET, "helmet"))) == []
    new = s.frames(1, **worker((VEST, "vest"), (FAR_HELMET, "helmet")))  # third frame
    assert kinds(new) == ["new"]
    alert = new[0].after
    assert alert.rule == "ppe_missing" and alert.label == "person"
    assert alert.extra == {"missing": ["helmet"]} and alert.zone is None
    assert s.frames(2, **worker((HELMET, "helmet"), (VEST, "vest"))) == []  # not yet
    assert kinds(s.frames(1, **worker((HELMET, "helmet"), (VEST, "vest")))) == ["end"]
    # Cooldown: missing again right away does not raise a second alert for this person.
    assert s.frames(10, **worker((VEST, "vest"))) == []


def test_ppe_flicker_shorter_than_n_frames_never_fires() -> None:
    s = ppe()
    for _ in range(10):
        s.frames(2, **worker((VEST, "vest")))
        s.frames(1, **worker((HELMET, "helmet"), (VEST, "vest")))
    assert s.events == []


def test_ppe_explicit_missing_class_counts_even_with_a_helmet_seen() -> None:
    s = ppe()
    new = s.frames(3, **worker((HELMET, "helmet"), (VEST, "vest"), (HELMET, "no-helmet")))
    assert kinds(new) == ["new"] and new[0].after.extra == {"missing": ["helmet"]}


def test_ppe_rule_ends_when_the_person_leaves_its_zone() -> None:
    zone = {"name": "press", "points": [[0, 0], [400, 0], [400, 300], [0, 300]], "inertia": 1}
    s = Scene(
        [
            {
                "type": "ppe_missing",
                "zone": "press",
                "required": ["helmet"],
                "frames": 2,
                "unseen": "missing",
            }
        ],
        zones=[zone],
        classes=PPE_CLASSES,
        prompts=PROMPTS,
    )
    assert kinds(s.frames(2, boxes=[PERSON], labels=["person"])) == ["new"]
    moved = (200.0, 150.0, 260.0, 310.0)  # feet below the zone
    assert kinds(s.frames(1, boxes=[moved], labels=["person"])) == ["end"]


def test_ppe_rule_with_equipment_the_model_lacks_is_a_configuration_error() -> None:
    s = Scene(
        [{"type": "ppe_missing", "required": ["helmet", "vest"]}],
        classes=("person", "helmet", "car"),
        prompts=PROMPTS,
    )
    assert s.engine.rules == []
    (problem,) = s.engine.problems
    assert "rule 'ppe_missing' is off" in problem
    # Only the equipment the model lacks is named as missing; helmet exists.
    assert "'vest' (looked for: vest;" in problem and "'helmet' (looked for" not in problem


def test_ppe_without_prompts_file_matches_equipment_names_to_classes() -> None:
    s = Scene([{"type": "ppe_missing", "required": ["helmet"], "frames": 2}], classes=PPE_CLASSES)
    assert s.frames(5, **worker((HELMET, "helmet"))) == []
    assert s.frames(5, boxes=[PERSON], labels=["person"]) == []  # no head box: unknown
    assert kinds(s.frames(2, **worker((HELMET, "no-helmet")))) == ["new"]  # `no helmet`


def test_every_event_of_an_alert_carries_its_id_and_times() -> None:
    s = in_zone()
    s.frames(2, [IN], scores=[0.6])
    s.frames(10, [IN], scores=[0.9])
    s.frames(2, [OUT])
    assert kinds(s.events) == ["new", "update", "end"]
    assert len({e.after.id for e in s.events}) == 1 and len({e.id for e in s.events}) == 3
    assert all(e.after.start_time == s.events[0].after.start_time for e in s.events)
    assert s.events[-1].after.end_time == pytest.approx(s.ts)
    assert s.events[1].created_at - s.events[0].created_at >= STEP
