"""The ROI file of the user's supervisor note (`--roi rois/roi_cam61.json --roi-polys NAME`).

Polygons are stored by name; `--roi-polys` picks some of them as zones. Several JSON shapes
are in use, so all the plain ones are accepted:

- `{"roi_epi_on": [[x, y], ...], "other": [[x, y], ...]}`
- `{"polygons": {"roi_epi_on": [[x, y], ...]}}` or `{"polygons": [{"name": ..., "points": ...}]}`
- `[{"name": "roi_epi_on", "points": [[x, y], ...]}]`

Points are `[x, y]` pairs or `{"x": .., "y": ..}` objects, in pixels or relative (0..1).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from atalaia.config.errors import ConfigError, ConfigProblem

Polygon = list[tuple[float, float]]


def _problem(path: Path, key: str, message: str) -> ConfigError:
    return ConfigError([ConfigProblem(str(path), key, message)])


def _points(path: Path, name: str, raw: Any) -> Polygon:
    if not isinstance(raw, list):
        raise _problem(path, name, "expected a list of points")
    points: Polygon = []
    for i, p in enumerate(raw):
        if isinstance(p, dict) and "x" in p and "y" in p:
            p = [p["x"], p["y"]]
        if (
            not isinstance(p, list | tuple)
            or len(p) != 2
            or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in p)
        ):
            raise _problem(path, f"{name}[{i}]", f"expected a point [x, y], got {p!r}")
        points.append((float(p[0]), float(p[1])))
    if len(points) < 3:
        raise _problem(path, name, f"expected at least 3 points, got {len(points)}")
    return points


def load_roi(path: Path) -> dict[str, Polygon]:
    """Read every named polygon of an ROI file."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise _problem(path, "", "file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise _problem(path, "", f"cannot read: {exc}") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(
            [ConfigProblem(str(path), "", f"invalid JSON: {exc.msg}", exc.lineno)]
        ) from None
    if isinstance(data, dict) and "polygons" in data:
        data = data["polygons"]
    polygons: dict[str, Polygon] = {}
    if isinstance(data, dict):
        for name, raw in data.items():
            polygons[str(name)] = _points(path, str(name), raw)
    elif isinstance(data, list):
        for i, item in enumerate(data):
            if not isinstance(item, dict) or "name" not in item or "points" not in item:
                raise _problem(path, f"[{i}]", "expected an object with 'name' and 'points'")
            polygons[str(item["name"])] = _points(path, str(item["name"]), item["points"])
    else:
        raise _problem(path, "", "expected a JSON object or list of named polygons")
    if not polygons:
        raise _problem(path, "", "expected at least one polygon")
    return polygons


def select_polygons(
    path: Path, polygons: dict[str, Polygon], names: Sequence[str]
) -> dict[str, Polygon]:
    """The polygons named by `--roi-polys` (all of them when none are named)."""
    if not names:
        return polygons
    missing = [n for n in names if n not in polygons]
    if missing:
        raise _problem(
            path, "", f"no polygon named {', '.join(missing)}; the file has: {', '.join(polygons)}"
        )
    return {n: polygons[n] for n in names}
