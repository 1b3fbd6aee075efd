"""Which alerts trigger which board command: `alert_commands` matching."""

from __future__ import annotations

from atalaia.config.monitors import SerialAlertCommand, SerialMonitorConfig
from atalaia.events.types import AlertEvent, AlertState
from atalaia.monitors.alert_commands import alert_matches, commands_for


def event(kind: str = "new", **fields: object) -> AlertEvent:
    values: dict[str, object] = {
        "id": "a1",
        "camera": "press",
        "label": "person",
        "rule": "helmet",
        "rule_type": "ppe_missing",
        "zone": "line-1",
        "score": 0.8,
        "top_score": 0.8,
        "box": (0, 0, 1, 1),
        "track_id": 1,
        "start_time": 0.0,
    }
    values.update(fields)
    return AlertEvent(type=kind, after=AlertState(**values))  # type: ignore[arg-type]


def entry(**match: object) -> SerialAlertCommand:
    return SerialAlertCommand.model_validate({"match": match, "command": {"action": "siren"}})


def test_every_set_field_must_match() -> None:
    rule = entry(rule_type="ppe_missing", camera="press").match
    assert alert_matches(rule, event())
    assert not alert_matches(rule, event(camera="gate"))
    assert not alert_matches(rule, event(rule_type="loitering"))
    assert alert_matches(entry().match, event(camera="anything", zone=None))


def test_lists_take_any_of_their_values_and_events_default_to_new() -> None:
    rule = entry(camera=["press", "gate"], zone="line-1").match
    assert rule.camera == ["press", "gate"] and rule.events == ["new"]
    assert alert_matches(rule, event(camera="gate"))
    assert not alert_matches(rule, event(zone=None))
    assert not alert_matches(rule, event(kind="update"))
    assert not alert_matches(rule, event(kind="end"))
    ends = entry(events="end").match
    assert alert_matches(ends, event(kind="end")) and not alert_matches(ends, event())


def test_commands_for_keeps_configuration_order() -> None:
    config = SerialMonitorConfig.model_validate(
        {
            "port": "/dev/ttyUSB0",
            "alert_commands": [
                {"match": {"camera": "press"}, "command": {"action": "siren", "duration_s": 5}},
                {"match": {"camera": "gate"}, "command": {"action": "gate_light"}},
                {"match": {}, "command": {"action": "relay", "channel": 1}},
            ],
        }
    )
    actions = [c.action for c in commands_for(event(), config.alert_commands)]
    assert actions == ["siren", "relay"]
    assert [c.action for c in commands_for(event(camera="x"), config.alert_commands)] == ["relay"]
