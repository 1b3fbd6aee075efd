"""Cameras: where frames come from, how often to detect, zones and the rules applied in them."""

from __future__ import annotations

import importlib
import re
from typing import TYPE_CHECKING, Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from atalaia.config.base import StrictModel
from atalaia.config.text import find_unstorable
from atalaia.plugins import PluginRegistry

if TYPE_CHECKING:
    from atalaia.rules.base import Rule
    from atalaia.rules.count_above import CountAboveRule as CountAboveRule
    from atalaia.rules.line_crossing import LineCrossingRule as LineCrossingRule
    from atalaia.rules.loitering import LoiteringRule as LoiteringRule
    from atalaia.rules.object_in_zone import ObjectInZoneRule as ObjectInZoneRule
    from atalaia.rules.ppe_missing import PpeMissingRule as PpeMissingRule

# Schemes a capture process can open. `demo` plays the built-in demo video.
NETWORK_SCHEMES = frozenset({"rtsp", "rtsps", "rtmp", "http", "https", "udp", "tcp", "srt"})
LOCAL_SCHEMES = frozenset({"file", "demo"})
VIDEO_SUFFIXES = (".mp4", ".mkv", ".avi", ".mov", ".webm", ".ts", ".m4v", ".mjpeg", ".mjpg", ".y4m")
_DEVICE = re.compile(r"^/dev/video\d+$")
_CAMERA_ID = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"

# Bounds on one camera's configuration. A camera is validated again each time it is loaded
# (the reconciler does so every few seconds) and a zone's self-crossing check is quadratic in
# its points, so these keep the worst case to a fraction of a second, far above what a person
# draws; a request or a file beyond them is refused before its items are looked at.
MAX_ZONES_PER_CAMERA = 100
MAX_POINTS_PER_ZONE = 100
MAX_RULES_PER_CAMERA = 100
MAX_URL_LENGTH = 2048
# The widths of the database columns that hold them.
MAX_CAMERA_NAME_LENGTH = 200
MAX_RULE_NAME_LENGTH = 100


def _too_many(items: Any, limit: int, what: str) -> str | None:
    """Why a list is over its cap, or None; checked before its items are validated."""
    if isinstance(items, list | tuple) and len(items) > limit:
        return f"expected at most {limit} {what}, got {len(items)}"
    return None


def check_source_url(url: str) -> str:
    """Accept a camera URL, a video file path or a `/dev/videoN` device; reject anything else.

    A typo such as `rtps://` or a bare host name would otherwise only show up later as a camera
    that never connects, so it is caught here with the forms that are accepted.
    """
    url = url.strip()
    if not url:
        raise ValueError("expected a camera URL, got an empty string")
    if "://" in url:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme in NETWORK_SCHEMES:
            if not parts.hostname:
                raise ValueError(f"expected a host in the {scheme}:// URL")
            try:
                _ = parts.port
            except ValueError:
                raise ValueError("expected a numeric port in the URL") from None
            return url
        if scheme in LOCAL_SCHEMES:
            return url
        allowed = ", ".join(sorted(NETWORK_SCHEMES | LOCAL_SCHEMES))
        raise ValueError(f"expected one of the schemes {allowed}; got {scheme}://")
    if _DEVICE.match(url) or url.lower().endswith(VIDEO_SUFFIXES):
        return url
    raise ValueError(
        "expected a URL such as rtsp://host/stream or http://host/mjpeg, "
        f"a video file ({', '.join(VIDEO_SUFFIXES)}) or /dev/videoN"
    )


class DeviceSettings(StrictModel):
    """What to ask of a USB camera (`/dev/videoN`); unset keeps the driver's choice.

    Why it matters: many USB cameras default to raw YUYV at a size the bus cannot carry at full
    rate, and only reach their advertised fps in `mjpeg`. A device that cannot do what is asked
    picks its nearest mode; the camera's log then says what it gave instead.
    """

    width: int | None = Field(None, ge=16, le=7680)
    height: int | None = Field(None, ge=16, le=4320)
    fps: float | None = Field(None, gt=0, le=240)
    pixel_format: Literal["mjpeg", "yuyv", "h264"] | None = None

    @model_validator(mode="after")
    def _size_in_pairs(self) -> DeviceSettings:
        if (self.width is None) != (self.height is None):
            missing = "height" if self.height is None else "width"
            raise keyed_error((missing,), "width and height go together: set both or neither")
        return self

    @property
    def requested(self) -> bool:
        return any(v is not None for v in (self.width, self.fps, self.pixel_format))


class SourceConfig(StrictModel):
    """How to open and keep reading one camera; timeouts are always set (readers never reconnect
    by themselves and can block for as long as a server is frozen)."""

    url: str = Field(max_length=MAX_URL_LENGTH)
    transport: Literal["tcp", "udp"] = "tcp"
    backend: Literal["auto", "opencv", "pyav"] = "auto"
    open_timeout: float = Field(10.0, gt=0, le=300)
    read_timeout: float = Field(5.0, gt=0, le=300)
    stall_timeout: float | None = Field(None, gt=0, le=600)
    reconnect_initial: float = Field(1.0, gt=0, le=60)
    reconnect_max: float = Field(30.0, gt=0, le=3600)
    loop: bool = True
    realtime: bool = True
    device: DeviceSettings = DeviceSettings()

    @field_validator("url")
    @classmethod
    def _valid_url(cls, url: str) -> str:
        return check_source_url(url)

    @model_validator(mode="after")
    def _device_settings_need_a_device(self) -> SourceConfig:
        if self.device.requested and not _DEVICE.match(self.url):
            raise keyed_error(
                ("device",), "device settings apply only to USB cameras (url: /dev/videoN)"
            )
        return self

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, data: Any) -> Any:
        # `source: rtsp://...` is shorthand for `source: {url: rtsp://...}`.
        return {"url": data} if isinstance(data, str) else data


class MotionConfig(StrictModel):
    """Motion gating: detect only when enough of a small grey copy changed."""

    enabled: bool = False
    threshold: int = Field(25, ge=1, le=255)
    min_area: float = Field(0.002, gt=0, le=1, description="fraction of the frame that must change")
    keepalive_s: float = Field(5.0, ge=0, description="detect at least this often even when still")


class DetectSettings(StrictModel):
    """How often a camera asks for detection, with which detector(s) and filters.

    `detector: name` is the one-model form; `detectors: [default, ppe]` runs several models
    on the same frames (each model is loaded once, in its own process, and shared by every
    camera that names it; the camera merges their answers for each frame). Exactly one of
    the two forms; neither means `detector: default`.
    """

    enabled: bool = True
    detector: str | None = Field(None, description="the one model this camera uses")
    detectors: list[str] | None = Field(
        None,
        min_length=1,
        max_length=8,
        description="several models run on every detected frame, merged in this order",
    )
    fps: float = Field(5.0, gt=0, le=120)
    max_age_ms: float = Field(500.0, gt=0, le=60000)
    min_score: float = Field(
        0.25, ge=0, le=1, description="this camera ignores detections below this confidence"
    )
    classes: list[str] | None = Field(
        None,
        description="class names this camera shows and stores (overlay, track table, "
        "published detections); tracking and rules still see every class",
    )
    motion: MotionConfig = MotionConfig()

    @model_validator(mode="after")
    def _one_form(self) -> DetectSettings:
        if self.detector is not None and self.detectors is not None:
            raise keyed_error(
                ("detectors",),
                "set either detector (one model) or detectors (a list), not both "
                f"(detector: {self.detector!r})",
            )
        if self.detectors is not None:
            seen: dict[str, int] = {}
            for j, name in enumerate(self.detectors):
                if name in seen:
                    raise keyed_error(
                        ("detectors", j),
                        f"detector {name!r} is listed twice (also detectors[{seen[name]}])",
                    )
                seen[name] = j
        elif self.detector is None:
            self.detector = "default"
        return self

    @property
    def detector_names(self) -> list[str]:
        """The models this camera runs on each frame, in merge order."""
        if self.detectors is not None:
            return list(self.detectors)
        return [self.detector or "default"]

    def detector_key(self, j: int) -> tuple[str | int, ...]:
        """Where the j-th model is named, for errors: `detectors[j]` or `detector`."""
        return ("detectors", j) if self.detectors is not None else ("detector",)


Point = tuple[float, float]
Anchor = Literal["bottom_center", "center", "top_center", "bottom_left", "bottom_right"]


def keyed_error(loc: tuple[str | int, ...], message: str) -> ValueError:
    """An error located at a key below the model raising it (`cameras[0].zones[1].points`),
    so `config check` names the exact key and line."""
    # Imported on the error path only: `config.app` imports this module at its top.
    from atalaia.config.app import KeyedValueError

    return KeyedValueError(loc, message)


def uses_relative(points: list[Point], relative: bool | None) -> bool:
    """Relative (fractions of the frame) when said so, or when every coordinate is within 0..1:
    a pixel polygon that small would be meaningless."""
    if relative is not None:
        return relative
    return all(x <= 1 and y <= 1 for x, y in points)


class ZoneConfig(StrictModel):
    """A named polygon, in pixels or in coordinates relative to the frame (0..1).

    `anchor` is the point of an object's box that must be inside (bottom centre: the feet);
    `inertia` is how many consecutive detections inside (or outside) it takes before an
    object counts as having entered (or left), so one jittery box on the border does not make
    an object flicker in and out.
    """

    name: str = Field(min_length=1, max_length=64)
    points: list[Point] = Field(
        description=f"3 to {MAX_POINTS_PER_ZONE} points, in order around the zone",
        json_schema_extra={"maxItems": MAX_POINTS_PER_ZONE},
    )
    relative: bool | None = Field(
        None, description="unset: relative when every coordinate is within 0..1"
    )
    anchor: Anchor = "bottom_center"
    inertia: int = Field(3, ge=1, le=100)

    @field_validator("points", mode="before")
    @classmethod
    def _not_too_many(cls, points: Any) -> Any:
        problem = _too_many(points, MAX_POINTS_PER_ZONE, "points in a zone")
        if problem is not None:
            raise ValueError(problem)
        return points

    @field_validator("points")
    @classmethod
    def _non_negative(cls, points: list[Point]) -> list[Point]:
        if any(x < 0 or y < 0 for x, y in points):
            raise ValueError("expected points with non-negative coordinates")
        return points

    @model_validator(mode="after")
    def _valid_polygon(self) -> ZoneConfig:
        from atalaia.geometry import polygon_problem

        if self.relative and any(x > 1 or y > 1 for x, y in self.points):
            raise keyed_error(
                ("points",),
                f"zone {self.name!r}: relative points must lie within 0..1 "
                "(or set relative: false for pixels)",
            )
        problem = polygon_problem(self.points)
        if problem is not None:
            raise keyed_error(("points",), f"zone {self.name!r}: {problem}")
        return self

    @property
    def is_relative(self) -> bool:
        return uses_relative(self.points, self.relative)


class TrackerConfig(StrictModel):
    """The per-camera multi-object tracker (ByteTrack-style, see docs/architecture.md).

    Detections at or above `high_score` are matched first and may start tracks; those between
    `low_score` and `high_score` only keep existing tracks alive (a person half hidden behind
    a pillar scores low but is still the same person).
    """

    high_score: float = Field(0.5, gt=0, le=1)
    low_score: float = Field(0.1, ge=0, le=1)
    new_track_score: float = Field(
        0.6, gt=0, le=1, description="a detection needs this score to start a track"
    )
    match_iou: float = Field(0.2, gt=0, le=1, description="least IoU to match a high detection")
    low_match_iou: float = Field(0.5, gt=0, le=1, description="least IoU for a low detection")
    min_hits: int = Field(2, ge=1, le=100, description="detections before a track is confirmed")
    lost_timeout: float = Field(
        3.0, gt=0, le=3600, description="seconds a track survives without detections"
    )
    class_aware: bool = Field(True, description="never match a track to another class's box")

    @model_validator(mode="after")
    def _ordered(self) -> TrackerConfig:
        if self.low_score > self.high_score:
            raise keyed_error(
                ("low_score",),
                f"expected low_score <= high_score ({self.high_score}), got {self.low_score}",
            )
        return self


class RuleBase(StrictModel):
    """What every rule has: a name, the labels it watches, a minimum score and a cooldown.

    A rule without a zone watches the whole frame. `cooldown` is per object: after an alert
    for one object ends, that object cannot raise another from the same rule for this long.
    Each rule type narrows this with its own `type: Literal[...]` and settings, in its module
    of `atalaia.rules`, registered in `RULE_PLUGINS` with the rule itself.
    """

    if TYPE_CHECKING:
        # Each rule type's model declares it as a one-value Literal (`atalaia.plugins`). Here
        # it is for type checkers only: as a field it would come first in every dump.
        type: str

    name: str | None = Field(
        None,
        max_length=MAX_RULE_NAME_LENGTH,
        description="unset: the rule's type, and its zone if any",
    )
    enabled: bool = True
    zone: str | None = Field(None, max_length=64)
    labels: list[str] = ["person"]
    min_score: float = Field(0.5, ge=0, le=1)
    cooldown: float = Field(30.0, ge=0, le=86400)

    def default_name(self) -> str:
        kind = str(getattr(self, "type", "rule"))
        return f"{kind}:{self.zone}" if self.zone else kind


RULE_PLUGINS: PluginRegistry[RuleBase, type[Rule[Any]]] = PluginRegistry(
    "rule",
    RuleBase,
    # Imported when a configuration first names them: the rules need the detection stack,
    # which loading a configuration does not.
    builtins={
        "object_in_zone": "atalaia.rules.object_in_zone",
        "ppe_missing": "atalaia.rules.ppe_missing",
        "loitering": "atalaia.rules.loitering",
        "line_crossing": "atalaia.rules.line_crossing",
        "count_above": "atalaia.rules.count_above",
    },
)

RuleConfig = Annotated[RuleBase, RULE_PLUGINS.union()]
"""Any registered rule's config, chosen by `type` when validated."""


class AlertUpdateConfig(StrictModel):
    """When an active alert sends an `update` event (sinks hear of real changes, not a flood):
    its best score rose by at least `min_score_gain`, or the rule's facts changed (a count,
    the missing equipment), and not more often than once per `min_interval` seconds."""

    min_score_gain: float = Field(0.05, ge=0, le=1)
    min_interval: float = Field(5.0, ge=0, le=3600, description="seconds between updates")


class CameraConfig(StrictModel):
    """One camera: a source, a capture cap, detection settings, tracking, zones and rules."""

    id: str = Field(pattern=_CAMERA_ID)
    name: str | None = Field(None, max_length=MAX_CAMERA_NAME_LENGTH)
    enabled: bool = True
    source: SourceConfig
    target_fps: float | None = Field(None, gt=0, le=240)
    detect: DetectSettings = DetectSettings()
    track: TrackerConfig = TrackerConfig()
    zones: list[ZoneConfig] = Field(
        [],
        description=f"at most {MAX_ZONES_PER_CAMERA} zones",
        json_schema_extra={"maxItems": MAX_ZONES_PER_CAMERA},
    )
    rules: list[RuleConfig] = Field(
        [],
        description=f"at most {MAX_RULES_PER_CAMERA} rules",
        json_schema_extra={"maxItems": MAX_RULES_PER_CAMERA},
    )
    alert_updates: AlertUpdateConfig = AlertUpdateConfig()
    node: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$",
        description="with cluster.enabled: run this camera only on the node of this id",
    )

    @model_validator(mode="before")
    @classmethod
    def _bounded_and_storable(cls, data: Any) -> Any:
        """Sizes first, so that a body far beyond the caps is refused before anything walks
        it; then text the database cannot store (the camera is stored as it is), refused at
        its key rather than failing inside the database call."""
        if not isinstance(data, dict):
            return data
        zones, rules = data.get("zones"), data.get("rules")
        caps: list[tuple[tuple[str | int, ...], str | None]] = [
            (("zones",), _too_many(zones, MAX_ZONES_PER_CAMERA, "zones per camera")),
            (("rules",), _too_many(rules, MAX_RULES_PER_CAMERA, "rules per camera")),
        ]
        if caps[0][1] is None and isinstance(zones, list | tuple):
            caps += [
                (
                    ("zones", i, "points"),
                    _too_many(z.get("points"), MAX_POINTS_PER_ZONE, "points in a zone"),
                )
                for i, z in enumerate(zones)
                if isinstance(z, dict)
            ]
        for loc, problem in caps:
            if problem is not None:
                raise keyed_error(loc, problem)
        found = find_unstorable(data)
        if found is not None:
            raise keyed_error(*found)
        return data

    @model_validator(mode="after")
    def _rules_reference_zones(self) -> CameraConfig:
        zones: dict[str, int] = {}
        for i, zone in enumerate(self.zones):
            if zone.name in zones:
                raise keyed_error(
                    ("zones", i, "name"),
                    f"duplicate zone name {zone.name!r} (also zones[{zones[zone.name]}])",
                )
            zones[zone.name] = i
        for i, rule in enumerate(self.rules):
            if rule.zone is not None and rule.zone not in zones:
                known = ", ".join(zones) or "none defined"
                if len(known) > 200:
                    known = known[:200] + ", ..."
                raise keyed_error(
                    ("rules", i, "zone"),
                    f"rule refers to unknown zone {rule.zone!r} (zones: {known})",
                )
        seen: dict[str, int] = {}
        for i, rule in enumerate(self.rules):
            name = rule.name or rule.default_name()
            if name in seen:
                raise keyed_error(
                    ("rules", i, "name"),
                    f"duplicate rule name {name!r} (also rules[{seen[name]}]); "
                    "give each rule a name",
                )
            seen[name] = i
        return self

    def rule_names(self) -> list[str]:
        """Each rule's name as alerts carry it (its own, or its type and zone)."""
        return [rule.name or rule.default_name() for rule in self.rules]


def demo_camera() -> CameraConfig:
    """The camera the embedded defaults run: the built-in demo video, looped in real time, with
    a zone and a rule, so a newcomer sees alerts (snapshot and clip) within a minute.

    The zone is the middle of the ground, where each person of the demo's sweep stands for a
    few seconds at a time (`atalaia.demo.sweep_frames`, a 20 s loop): every alert starts and
    ends, and the cooldown keeps one person to one alert a minute.
    """
    return CameraConfig.model_validate(
        {
            "id": "demo",
            "name": "Demo camera",
            "source": {"url": "demo://people"},
            "zones": [
                {
                    "name": "path",
                    "points": [[0.40, 0.62], [0.75, 0.62], [0.78, 1.0], [0.37, 1.0]],
                }
            ],
            "rules": [
                {
                    "type": "object_in_zone",
                    "name": "person_on_path",
                    "zone": "path",
                    "labels": ["person"],
                    "cooldown": 45,
                }
            ],
        }
    )


# Rule config models other modules import from here, now defined with their rules.
_MOVED = {
    "ObjectInZoneRule": "atalaia.rules.object_in_zone",
    "PpeMissingRule": "atalaia.rules.ppe_missing",
    "LoiteringRule": "atalaia.rules.loitering",
    "LineCrossingRule": "atalaia.rules.line_crossing",
    "CountAboveRule": "atalaia.rules.count_above",
}


def __getattr__(name: str) -> object:
    """Load a moved rule config model from its rule's module on first use (PEP 562): the rule
    modules import this one, and importing a configuration must not import the rules."""
    if name not in _MOVED:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_MOVED[name]), name)
