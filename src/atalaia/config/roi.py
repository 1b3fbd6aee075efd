"""The ROI file of the user's supervisor note (`--roi rois/roi_cam61.json --roi-polys NAME`).

Polygons are stored by name; `--roi-polys` (or `roi.polygons` in the YAML) picks some of them
as zones. Annotation tools and hand-written files use several JSON shapes, so all the plain
ones are accepted:

- `{"roi_epi_on": [[x, y], ...], "other": [[x, y], ...]}`
- `{"roi_epi_on": {"points": [[x, y], ...], "color": [0, 255, 0]}}` (extra keys ignored)
- `{"polygons": {"roi_epi_on": [[x, y], ...]}}` or `{"polygons": [{"name": ..., "points": ...}]}`
- `[{"name": "roi_epi_on", "points": [[x, y], ...], "color": ...}]`
- one polygon: `{"name": "roi_epi_on", "points": [...]}` (no name: the file's stem)
- LabelMe's `{"shapes": [{"label": ..., "points": ...}]}`

Points are `[x, y]` pairs or `{"x": .., "y": ..}` objects, in pixels or relative (0..1), as
zones allow. Every error names the file, the key path inside it and, where it can, the line.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from atalaia.config.errors import ConfigError, ConfigProblem, Loc, format_path

Polygon = list[tuple[float, float]]

# Keys under which files keep their polygons, and under which an item keeps its name.
_CONTAINERS = ("polygons", "rois", "zones", "shapes")
_NAME_KEYS = ("name", "label", "id")


@dataclass(frozen=True, slots=True)
class RoiPolygon:
    """One named polygon and where the file keeps it (for errors that name both places)."""

    name: str
    points: Polygon
    key: str
    line: int | None = None

    def where(self, path: Path | str) -> str:
        at = f"{self.key} (line {self.line})" if self.line else self.key
        return f"{path}: {at}"


class _Reader:
    """Walks one parsed file, collecting every problem instead of stopping at the first."""

    def __init__(self, path: Path, lines: dict[Loc, int]) -> None:
        self.path = path
        self.lines = lines
        self.problems: list[ConfigProblem] = []
        self.polygons: dict[str, RoiPolygon] = {}

    def problem(self, loc: Loc, message: str) -> None:
        line = next(
            (self.lines[loc[:n]] for n in range(len(loc), 0, -1) if loc[:n] in self.lines), None
        )
        self.problems.append(ConfigProblem(str(self.path), format_path(loc), message, line))

    def read(self, data: Any) -> None:
        if isinstance(data, dict):
            container = next((k for k in _CONTAINERS if k in data), None)
            if container is not None:
                self.collection(data[container], (container,))
            elif "points" in data:
                self.item(data, (), default_name=self.path.stem)
            else:
                self.collection(data, ())
        elif isinstance(data, list):
            self.collection(data, ())
        else:
            self.problem((), "expected a JSON object or list of named polygons")

    def collection(self, data: Any, loc: Loc) -> None:
        if isinstance(data, dict):
            for name, raw in data.items():
                if isinstance(raw, dict):
                    self.item(raw, (*loc, str(name)), default_name=str(name))
                else:
                    self.add(str(name), raw, (*loc, str(name)), (*loc, str(name)))
        elif isinstance(data, list):
            for i, raw in enumerate(data):
                self.item(raw, (*loc, i), default_name=None)
        else:
            self.problem(loc, "expected an object of name -> points or a list of polygons")
        if not self.polygons and not self.problems:
            self.problem(loc, "expected at least one polygon")

    def item(self, raw: Any, loc: Loc, default_name: str | None) -> None:
        """An object with `points` (and a name unless its key gave one); other keys such as
        `color` belong to the drawing tool and are ignored."""
        if not isinstance(raw, dict) or "points" not in raw:
            self.problem(loc, "expected an object with 'points' (and 'name')")
            return
        name_key = next((k for k in _NAME_KEYS if k in raw), None)
        name = str(raw[name_key]) if name_key is not None else default_name
        if name is None or not name.strip():
            self.problem(loc, "expected a 'name' for this polygon")
            return
        self.add(name, raw["points"], loc, (*loc, "points"))

    def add(self, name: str, raw: Any, loc: Loc, points_loc: Loc) -> None:
        points = self.points(raw, points_loc)
        if points is None:
            return
        key = format_path(loc) or name
        line = self.lines.get(loc) or self.lines.get(points_loc)
        if name in self.polygons:
            first = self.polygons[name]
            self.problem(loc, f"duplicate polygon name {name!r} (also {first.key})")
            return
        self.polygons[name] = RoiPolygon(name, points, key, line)

    def points(self, raw: Any, loc: Loc) -> Polygon | None:
        if not isinstance(raw, list):
            self.problem(loc, "expected a list of points")
            return None
        points: Polygon = []
        for i, p in enumerate(raw):
            if isinstance(p, dict) and "x" in p and "y" in p:
                p = [p["x"], p["y"]]
            if (
                not isinstance(p, list | tuple)
                or len(p) != 2
                or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in p)
            ):
                self.problem((*loc, i), f"expected a point [x, y] or {{x, y}}, got {p!r}")
                return None
            points.append((float(p[0]), float(p[1])))
        if len(points) < 3:
            self.problem(loc, f"expected at least 3 points, got {len(points)}")
            return None
        return points


def _json_lines(text: str) -> dict[Loc, int]:
    """Line numbers of the file's keys and items (JSON is read as YAML for its node tree);
    errors simply go without a line when that fails."""
    lines: dict[Loc, int] = {}
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return lines

    def walk(node: yaml.Node, loc: Loc) -> None:
        lines.setdefault(loc, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                lines.setdefault((*loc, str(key.value)), key.start_mark.line + 1)
                walk(value, (*loc, str(key.value)))
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                walk(item, (*loc, i))

    if node is not None:
        walk(node, ())
    return lines


def read_roi(path: Path) -> dict[str, RoiPolygon]:
    """Every named polygon of an ROI file, with where the file keeps it."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise _problem(path, "", "file not found") from None
    except IsADirectoryError:
        raise _problem(path, "", "expected a file, got a directory") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise _problem(path, "", f"cannot read: {exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            [ConfigProblem(str(path), "", f"invalid JSON: {exc.msg}", exc.lineno)]
        ) from None
    reader = _Reader(path, _json_lines(text))
    reader.read(data)
    if reader.problems:
        raise ConfigError(reader.problems)
    return reader.polygons


def load_roi(path: Path) -> dict[str, Polygon]:
    """Read every named polygon of an ROI file (name -> points)."""
    return {name: polygon.points for name, polygon in read_roi(path).items()}


def _problem(path: Path, key: str, message: str) -> ConfigError:
    return ConfigError([ConfigProblem(str(path), key, message)])


def unknown_names(names: Sequence[str], available: Sequence[str]) -> list[str]:
    return [n for n in names if n not in available]


def select_polygons(
    path: Path, polygons: dict[str, Polygon], names: Sequence[str]
) -> dict[str, Polygon]:
    """The polygons named by `--roi-polys` (all of them when none are named)."""
    if not names:
        return polygons
    missing = unknown_names(names, list(polygons))
    if missing:
        raise _problem(
            path,
            "",
            f"no polygon named {', '.join(map(repr, missing))}; "
            f"the file has: {', '.join(polygons)}",
        )
    return {n: polygons[n] for n in names}
