"""Zones and rules: tracks in, alert events out.

`RuleEngine(camera, class_names, FrameSize(w, h), prompts=...)` once the first frame and the
detector's classes are known, then `engine.step(tracker_update, detections)` per detection
result; it returns `AlertEvent`s (new, update, end) ready to be recorded.
"""

from atalaia.rules.base import Observation, Rule, RuleFrame
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
    "RuleEngine",
    "RuleFrame",
    "Zone",
    "ZoneError",
    "ZoneOccupancy",
    "default_prompts",
    "resolve_zone",
    "whole_frame",
    "zones_from_roi",
]
