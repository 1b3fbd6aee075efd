"""Zones and rules: tracks in, alert events out.

`RuleEngine(camera, class_names, FrameSize(w, h), prompts=...)` once the first frame and the
detector's classes are known, then `engine.step(tracker_update, detections)` per detection
result; it returns `AlertEvent`s (new, update, end) ready to be recorded.

A rule type is a plugin: one module with its config model and its `Rule`, registered together
with `register_rule_type` (see `atalaia.rules.base`); a deployment registers its own before
loading its configuration.
"""

from atalaia.rules.base import Observation, Rule, RuleContext, RuleFrame, register_rule_type
from atalaia.rules.engine import FrameSize, RuleEngine, default_prompts
from atalaia.rules.errors import RuleConfigError
from atalaia.rules.lifecycle import AlertLifecycle
from atalaia.rules.occupancy import OccupancyChange, ZoneOccupancy
from atalaia.rules.zones import Zone, ZoneError, resolve_zone, whole_frame, zones_from_roi

__all__ = [
    "AlertLifecycle",
    "FrameSize",
    "Observation",
    "OccupancyChange",
    "Rule",
    "RuleConfigError",
    "RuleContext",
    "RuleEngine",
    "RuleFrame",
    "Zone",
    "ZoneError",
    "ZoneOccupancy",
    "default_prompts",
    "register_rule_type",
    "resolve_zone",
    "whole_frame",
    "zones_from_roi",
]
