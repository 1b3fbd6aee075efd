"""Rule types are plugins: a config model and its `Rule` registered together in one module.
A type registered outside the package is accepted in a camera's `rules:` and runs like a
built-in; the built-ins' models stay importable from `atalaia.config.cameras`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import pytest
from pydantic import Field

from atalaia.config import ConfigError, load_config
from atalaia.config.cameras import RULE_PLUGINS, CameraConfig, RuleBase
from atalaia.rules.base import Key, Observation, Rule, RuleFrame, observe, register_rule_type
from atalaia.rules.line_crossing import Direction, LineCrossingRule
from atalaia.rules.ppe_missing import PpeMissingRule, Unseen
from tests.rules.scene import Scene
from tests.track.support import box_at

BUILT_IN = ["count_above", "line_crossing", "loitering", "object_in_zone", "ppe_missing"]


class TallObjectRule(RuleBase):
    """A deployment's own rule: a watched object's box is taller than `min_height` pixels."""

    type: Literal["tall_object"]
    min_height: float = Field(gt=0)


class TallObject(Rule[TallObjectRule]):
    def evaluate(self, frame: RuleFrame) -> dict[Key, Observation]:
        return {
            t.track_id: observe(t, height=t.box[3] - t.box[1])
            for t in frame.tracks
            if self.watches(t) and t.box[3] - t.box[1] > self.config.min_height
        }


@pytest.fixture
def tall_object() -> Iterator[None]:
    register_rule_type(TallObjectRule)(TallObject)
    yield
    RULE_PLUGINS.unregister("tall_object")


def test_an_out_of_tree_rule_type_is_validated_and_runs(tall_object: None) -> None:
    assert "tall_object" in RULE_PLUGINS.types()
    scene = Scene([{"type": "tall_object", "min_height": 100}])
    rule = scene.engine.camera.rules[0]
    assert isinstance(rule, TallObjectRule) and rule.min_height == 100
    assert [type(r) for r in scene.engine.rules] == [TallObject]
    assert scene.frames(5, [box_at(100, 100)]) == []  # box_at boxes are 80 px tall
    events = scene.frames(2, [(100.0, 100.0, 140.0, 260.0)])
    assert [e.type for e in events] == ["new"]
    assert (events[0].after.rule, events[0].after.rule_type) == ("tall_object", "tall_object")
    assert events[0].after.extra == {"height": pytest.approx(160)}


def config_problems(tmp_path: Path, rule: str) -> str:
    """What `load_config` says of a camera with this one rule (a YAML flow mapping, line 5)."""
    path = tmp_path / "atalaia.yaml"
    path.write_text(
        f"cameras:\n  - id: a\n    source: rtsp://cam.local/s\n    rules:\n      - {rule}\n"
    )
    with pytest.raises(ConfigError) as err:
        load_config(path)
    return str(err.value).replace(str(path), "atalaia.yaml")


def test_an_out_of_tree_rule_type_keeps_its_keys_in_errors(
    tall_object: None, tmp_path: Path
) -> None:
    text = config_problems(tmp_path, "{type: tall_object, min_hieght: 3}")
    assert "cameras[0].rules[0].min_hieght (line 5): unknown key 'min_hieght'" in text
    assert "did you mean 'min_height'?" in text


def test_an_unknown_rule_type_names_the_file_the_key_and_the_known_types(tmp_path: Path) -> None:
    known = ", ".join(f"'{name}'" for name in BUILT_IN)
    assert (
        f"atalaia.yaml: cameras[0].rules[0].type (line 5): expected one of {known}; got 'teleport'"
    ) in config_problems(tmp_path, "{type: teleport}")


def test_the_built_in_models_live_with_their_rules_and_stay_importable_from_config() -> None:
    from atalaia.config import cameras

    assert RULE_PLUGINS.types() == BUILT_IN
    for plugin in RULE_PLUGINS.plugins():
        assert plugin.config.__module__ == plugin.implementation.__module__
        assert getattr(cameras, plugin.config.__name__) is plugin.config
    with pytest.raises(AttributeError):
        _ = cameras.NoSuchRule


def test_rule_choices_are_enums_that_read_and_write_their_strings() -> None:
    camera = CameraConfig.model_validate(
        {
            "id": "a",
            "source": "rtsp://cam.local/s",
            "rules": [
                {"type": "line_crossing", "line": [[0, 0], [1, 1]], "direction": "in"},
                {"type": "ppe_missing", "required": ["helmet"]},
            ],
        }
    )
    crossing, ppe = camera.rules
    assert isinstance(crossing, LineCrossingRule) and crossing.direction is Direction.IN
    assert isinstance(ppe, PpeMissingRule) and ppe.unseen is Unseen.AUTO
    dumped = json.loads(camera.model_dump_json())["rules"]
    assert (dumped[0]["direction"], dumped[1]["unseen"]) == ("in", "auto")
    assert CameraConfig.model_validate(camera.model_dump()) == camera
