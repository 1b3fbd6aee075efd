"""ROI polygons become named zones of the cameras, before the cameras' rules are validated.

Design note 003 draws its regions in a separate JSON file (`--roi rois/roi_cam61.json
--roi-polys roi_epi_on`) and writes rules against them (`zone: roi_epi_on`). A rule is checked
against its camera's zones when the camera is validated, so the polygons are merged into the
raw configuration first: every selected polygon is added to the zones of every camera it
applies to (all of them unless `cameras` says otherwise), next to the camera's own zones. A
polygon with the name of one of a camera's own zones is an error naming both places, never a
silent replacement in either direction.

In YAML the same thing is the top-level `roi:` key: a file name, a mapping
`{file, polygons, cameras, anchor, inertia}`, or a list of them. `--roi` on the command line
replaces the file's `roi:` key, as the other flags of `atalaia supervisor` replace theirs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError, field_validator, model_validator

from atalaia.config.base import StrictModel
from atalaia.config.cameras import Anchor, ZoneConfig, demo_camera
from atalaia.config.errors import ConfigError, ConfigProblem, Loc, clean_loc, describe, format_path
from atalaia.config.roi import RoiPolygon, read_roi, unknown_names

CLI_ORIGIN = "--roi-polys"


class RoiSource(StrictModel):
    """Polygons of one ROI file used as zones; `polygons` empty means all of the file's."""

    file: Path
    polygons: list[str] = Field(
        [], description="names of the file's polygons to use as zones; empty: all of them"
    )
    cameras: list[str] | None = Field(
        None, description="ids of the cameras that get these zones; unset: every camera"
    )
    anchor: Anchor = "bottom_center"
    inertia: int = Field(3, ge=1, le=100)

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, data: Any) -> Any:
        # `roi: rois/roi_cam61.json` is shorthand for `roi: {file: rois/roi_cam61.json}`.
        return {"file": data} if isinstance(data, str) else data

    @field_validator("polygons", "cameras")
    @classmethod
    def _no_blank_names(cls, names: list[str] | None) -> list[str] | None:
        if names is not None and any(not n.strip() for n in names):
            raise ValueError("expected non-empty names")
        return names

    def applies_to(self, camera_id: str) -> bool:
        return self.cameras is None or camera_id in self.cameras


def as_source_list(raw: Any) -> Any:
    """`roi:` as written (a file, one mapping or a list) as a list of sources."""
    return [raw] if isinstance(raw, str | dict) else raw


class _Merge:
    """One merge of ROI sources into the raw cameras; collects every problem."""

    def __init__(self, data: dict[str, Any], lines: dict[Loc, int], origin: str) -> None:
        self.data = data
        self.lines = lines
        self.origin = origin
        self.problems: list[ConfigProblem] = []
        # Per camera index: its own zones (name -> index) and the ROI zones given to it
        # (name -> where the polygon came from).
        self.own: dict[int, dict[Any, int]] = {}
        self.added: dict[int, dict[str, str]] = {}

    def problem(self, origin: str, loc: Loc, message: str) -> None:
        line = None
        if origin == self.origin:
            line = next(
                (self.lines[loc[:n]] for n in range(len(loc), 0, -1) if loc[:n] in self.lines),
                None,
            )
        self.problems.append(ConfigProblem(origin, format_path(loc), message, line))

    def sources(self, raw: Any) -> list[tuple[RoiSource, Loc | None]]:
        """The `roi:` key, validated entry by entry so errors name the key as written."""
        if isinstance(raw, str | dict):
            entries: list[tuple[Any, Loc]] = [(raw, ("roi",))]
        elif isinstance(raw, list):
            entries = [(item, ("roi", i)) for i, item in enumerate(raw)]
        else:
            self.problem(
                self.origin,
                ("roi",),
                "expected an ROI file name, a mapping {file, polygons, cameras} or a list of them",
            )
            return []
        out: list[tuple[RoiSource, Loc | None]] = []
        for item, loc in entries:
            try:
                out.append((RoiSource.model_validate(item), loc))
            except ValidationError as exc:
                for error in exc.errors(include_url=False):
                    sub = clean_loc(tuple(error["loc"]), item)
                    sub, message = describe(error, sub, RoiSource, item)
                    self.problem(self.origin, (*loc, *sub), message)
        return out

    def cameras(self) -> list[tuple[int, dict[str, Any]]]:
        """The raw cameras that can take zones (a malformed one is left to validation)."""
        if "cameras" not in self.data:
            # The defaults' demo camera gets the ROI as any configured camera would.
            self.data["cameras"] = [demo_camera().model_dump(mode="json")]
        cameras = self.data["cameras"]
        if not isinstance(cameras, list):
            return []
        return [(i, c) for i, c in enumerate(cameras) if isinstance(c, dict)]

    def zones(
        self, source: RoiSource, loc: Loc | None
    ) -> tuple[list[str], list[tuple[RoiPolygon, ZoneConfig]]]:
        """The selected polygons of one source as zones, and the names selected."""
        try:
            polygons = read_roi(source.file)
        except ConfigError as exc:
            self.problems += exc.problems
            return [], []
        names = list(dict.fromkeys(source.polygons)) or list(polygons)  # `a a`: once
        for name in unknown_names(names, list(polygons)):
            where = (*loc, "polygons", source.polygons.index(name)) if loc else ()
            self.problem(
                self.origin if loc else CLI_ORIGIN,
                where,
                f"no polygon named {name!r} in the ROI file {source.file}; "
                f"the file has: {', '.join(polygons)}",
            )
        zones = []
        for name in names:
            if name in polygons:
                zone = self.zone(source, polygons[name])
                if zone is not None:
                    zones.append((polygons[name], zone))
        return names, zones

    def zone(self, source: RoiSource, polygon: RoiPolygon) -> ZoneConfig | None:
        try:
            return ZoneConfig(
                name=polygon.name,
                points=polygon.points,
                anchor=source.anchor,
                inertia=source.inertia,
            )
        except ValidationError as exc:
            for error in exc.errors(include_url=False):
                message = str((error.get("ctx") or {}).get("error") or error["msg"])
                self.problems.append(
                    ConfigProblem(
                        str(source.file),
                        polygon.key,
                        message.removeprefix("Value error, "),
                        polygon.line,
                    )
                )
            return None

    def add(
        self, source: RoiSource, loc: Loc | None, zones: list[tuple[RoiPolygon, ZoneConfig]]
    ) -> None:
        cameras = self.cameras()
        known = [c.get("id") for _, c in cameras]
        for j, camera_id in enumerate(source.cameras or []):
            if camera_id not in known:
                self.problem(
                    self.origin,
                    (*(loc or ("roi",)), "cameras", j),
                    f"unknown camera {camera_id!r}; expected one of: "
                    f"{', '.join(map(str, known)) or 'none defined'}",
                )
        for i, camera in cameras:
            if not source.applies_to(str(camera.get("id"))):
                continue
            if camera.get("zones") is None:
                camera["zones"] = []
            zone_list = camera["zones"]
            if not isinstance(zone_list, list):
                continue  # validation reports it
            own = self.own.setdefault(
                i,
                {z.get("name"): j for j, z in enumerate(zone_list) if isinstance(z, dict)},
            )
            added = self.added.setdefault(i, {})
            for polygon, zone in zones:
                from_roi = polygon.where(source.file)
                if zone.name in own:
                    self.problem(
                        self.origin,
                        ("cameras", i, "zones", own[zone.name], "name"),
                        f"zone {zone.name!r} of camera {camera.get('id')!r} clashes with the "
                        f"ROI polygon of the same name ({from_roi}); rename one of them",
                    )
                elif zone.name in added:
                    self.problems.append(
                        ConfigProblem(
                            str(source.file),
                            polygon.key,
                            f"polygon {zone.name!r} clashes with the ROI zone of the same name "
                            f"already given to camera {camera.get('id')!r} by "
                            f"{added[zone.name]}; rename one of them",
                            polygon.line,
                        )
                    )
                else:
                    zone_list.append(zone.model_dump(mode="json"))
                    added[zone.name] = from_roi


def merge_roi(
    data: dict[str, Any],
    lines: dict[Loc, int],
    origin: str,
    command_line: RoiSource | None = None,
) -> list[ConfigProblem]:
    """Add the ROI zones to the raw cameras in `data`; return the problems found.

    `data["roi"]` is left as the resolved sources (the polygon names actually used), so the
    effective configuration says which zones came from where; it is removed when it cannot be
    read, so the same mistake is not reported twice.
    """
    merge = _Merge(data, lines, origin)
    if command_line is not None:
        sources: list[tuple[RoiSource, Loc | None]] = [(command_line, None)]
    elif data.get("roi") is not None:
        sources = merge.sources(data["roi"])
    else:
        return []
    resolved = []
    for source, loc in sources:
        names, zones = merge.zones(source, loc)
        merge.add(source, loc, zones)
        resolved.append({**source.model_dump(mode="json"), "polygons": names})
    if merge.problems:
        data.pop("roi", None)
    else:
        data["roi"] = resolved
    return merge.problems


def roi_zones_report(roi: list[RoiSource], cameras: list[Any]) -> list[str]:
    """`config check`'s summary: per camera, its ROI zones (and their file) and its own."""
    if not roi:
        return []
    out = ["ROI zones merged into the cameras:"]
    for camera in cameras:
        from_roi = {
            name: str(source.file)
            for source in roi
            if source.applies_to(camera.id)
            for name in source.polygons
        }
        shown = [f"{name} (from {file})" for name, file in from_roi.items()]
        own = [z.name for z in camera.zones if z.name not in from_roi]
        line = f"  {camera.id}: " + (", ".join(shown) or "no ROI zones")
        out.append(line + (f"; own zones: {', '.join(own)}" if own else ""))
    return out
