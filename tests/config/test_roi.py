"""ROI files: the shapes people write, located errors, and the merge into the cameras' zones
before rules are checked (`zone: roi_epi_on` in a rule)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from atalaia.config import ConfigError, load_config
from atalaia.config.roi import load_roi, read_roi
from atalaia.config.roi_merge import RoiSource

SQUARE = [[0.1, 0.1], [0.9, 0.1], [0.9, 0.9], [0.1, 0.9]]
TRIANGLE_PX = [[10, 10], [100, 10], [100, 80]]


def roi_file(tmp_path: Path, data: Any, name: str = "roi.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data, indent=2))
    return path


@pytest.mark.parametrize(
    "data",
    [
        pytest.param({"roi_epi_on": SQUARE, "gate": TRIANGLE_PX}, id="name-to-points"),
        pytest.param(
            {"polygons": {"roi_epi_on": SQUARE, "gate": TRIANGLE_PX}}, id="polygons-mapping"
        ),
        pytest.param(
            {
                "polygons": [
                    {"name": "roi_epi_on", "points": SQUARE},
                    {"name": "gate", "points": TRIANGLE_PX},
                ]
            },
            id="polygons-list",
        ),
        pytest.param(
            [
                {"name": "roi_epi_on", "points": SQUARE, "color": [0, 255, 0]},
                {"name": "gate", "points": TRIANGLE_PX, "color": "#ff0000", "closed": True},
            ],
            id="list-of-objects-with-extra-keys",
        ),
        pytest.param(
            {
                "roi_epi_on": {"points": SQUARE, "color": [0, 255, 0], "thickness": 2},
                "gate": {"points": [{"x": x, "y": y} for x, y in TRIANGLE_PX]},
            },
            id="name-to-object-with-xy-points",
        ),
        pytest.param(
            {
                "version": "5.0",
                "shapes": [
                    {"label": "roi_epi_on", "points": SQUARE, "shape_type": "polygon"},
                    {"label": "gate", "points": TRIANGLE_PX, "shape_type": "polygon"},
                ],
            },
            id="labelme-shapes",
        ),
    ],
)
def test_every_common_roi_shape_loads_the_same_polygons(tmp_path: Path, data: Any) -> None:
    polygons = load_roi(roi_file(tmp_path, data))
    assert list(polygons) == ["roi_epi_on", "gate"]
    assert polygons["roi_epi_on"] == [tuple(p) for p in SQUARE]
    assert polygons["gate"] == [(10.0, 10.0), (100.0, 10.0), (100.0, 80.0)]


def test_a_single_polygon_object_is_named_by_its_key_or_the_file(tmp_path: Path) -> None:
    named = roi_file(tmp_path, {"name": "roi_epi_on", "points": SQUARE, "color": [1, 2, 3]})
    assert list(load_roi(named)) == ["roi_epi_on"]
    unnamed = roi_file(tmp_path, {"points": SQUARE, "color": [1, 2, 3]}, "roi_cam61.json")
    assert list(load_roi(unnamed)) == ["roi_cam61"]


def test_bad_roi_files_name_the_file_the_key_and_the_line(tmp_path: Path) -> None:
    path = roi_file(
        tmp_path,
        {"polygons": [{"name": "ok", "points": SQUARE}, {"name": "bad", "points": [[0, 0], "x"]}]},
    )
    with pytest.raises(ConfigError) as err:
        read_roi(path)
    (problem,) = err.value.problems
    assert problem.origin == str(path) and problem.path == "polygons[1].points[1]"
    text = path.read_text().splitlines()
    assert problem.line == next(n for n, line in enumerate(text, 1) if line.strip() == '"x"')
    assert problem.message == "expected a point [x, y] or {x, y}, got 'x'"

    few = roi_file(tmp_path, {"tiny": [[0, 0], [1, 1]]})
    with pytest.raises(ConfigError, match=r"tiny \(line 2\): expected at least 3 points, got 2"):
        read_roi(few)

    duplicate = roi_file(
        tmp_path, [{"name": "a", "points": SQUARE}, {"name": "a", "points": SQUARE}]
    )
    with pytest.raises(ConfigError, match=r"\[1\] \(line \d+\): duplicate polygon name 'a'"):
        read_roi(duplicate)

    nameless = roi_file(tmp_path, [{"points": SQUARE}])
    with pytest.raises(ConfigError, match=r"\[0\].*expected a 'name'"):
        read_roi(nameless)

    broken = tmp_path / "broken.json"
    broken.write_text('{"a": [[0, 0],\n  [1, 1]\n')
    with pytest.raises(ConfigError, match=r"broken.json: .*invalid JSON"):
        read_roi(broken)
    with pytest.raises(ConfigError, match=r"none.json: file not found"):
        read_roi(tmp_path / "none.json")


def site(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "site.yaml"
    path.write_text(text)
    return path


CAMERAS = """
cameras:
  - id: cam61
    source: demo://people
    zones:
      - {name: door, points: [[0, 0], [0.5, 0], [0.5, 0.5]]}
    rules:
      - {type: object_in_zone, zone: roi_epi_on}
      - {type: object_in_zone, zone: door}
  - id: cam62
    source: demo://people
"""


def test_roi_key_adds_zones_before_rules_are_checked(tmp_path: Path) -> None:
    roi = roi_file(tmp_path, {"roi_epi_on": SQUARE, "gate": TRIANGLE_PX})
    cfg = load_config(
        site(tmp_path, f"roi: {{file: {roi}, polygons: [roi_epi_on], inertia: 2}}\n{CAMERAS}"),
        env={},
    )
    cam61, cam62 = cfg.cameras
    # The camera keeps its own zone and gains the ROI zone; the other camera gets it too.
    assert [z.name for z in cam61.zones] == ["door", "roi_epi_on"]
    assert [z.name for z in cam62.zones] == ["roi_epi_on"]
    assert cam61.zones[1].points == [tuple(p) for p in SQUARE] and cam61.zones[1].inertia == 2
    assert cam61.zones[1].is_relative
    assert [r.zone for r in cam61.rules] == ["roi_epi_on", "door"]
    # The effective configuration says which polygons were used.
    assert cfg.roi == [RoiSource(file=roi, polygons=["roi_epi_on"], inertia=2)]


def test_roi_cameras_limit_which_cameras_get_the_zones(tmp_path: Path) -> None:
    roi = roi_file(tmp_path, {"roi_epi_on": SQUARE, "gate": TRIANGLE_PX})
    cfg = load_config(site(tmp_path, f"roi: {{file: {roi}, cameras: [cam61]}}\n{CAMERAS}"), env={})
    assert [z.name for z in cfg.cameras[0].zones] == ["door", "roi_epi_on", "gate"]
    assert cfg.cameras[1].zones == []
    assert cfg.roi[0].polygons == ["roi_epi_on", "gate"]  # all of them, by name


def test_command_line_roi_replaces_the_files_roi_key(tmp_path: Path) -> None:
    in_file = roi_file(tmp_path, {"other": SQUARE}, "other.json")
    roi = roi_file(tmp_path, {"roi_epi_on": SQUARE, "gate": TRIANGLE_PX})
    path = site(tmp_path, f"roi: {in_file}\n{CAMERAS}")
    cfg = load_config(path, env={}, roi=RoiSource(file=roi, polygons=["roi_epi_on"]))
    assert [z.name for z in cfg.cameras[0].zones] == ["door", "roi_epi_on"]
    assert [s.file for s in cfg.roi] == [roi]


def test_roi_without_cameras_applies_to_the_demo_camera(tmp_path: Path) -> None:
    roi = roi_file(tmp_path, {"roi_epi_on": SQUARE})
    cfg = load_config(site(tmp_path, f"roi: {roi}\n"), env={})
    assert [c.id for c in cfg.cameras] == ["demo"]
    assert "roi_epi_on" in [z.name for z in cfg.cameras[0].zones]


def test_rule_on_an_roi_zone_without_the_roi_is_an_unknown_zone(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(site(tmp_path, CAMERAS), env={})
    assert "cameras[0].rules[0].zone" in str(err.value) and "unknown zone 'roi_epi_on'" in str(
        err.value
    )


def test_unknown_roi_name_names_the_file_the_key_and_the_polygon(tmp_path: Path) -> None:
    roi = roi_file(tmp_path, {"roi_epi_on": SQUARE, "gate": TRIANGLE_PX})
    path = site(tmp_path, f"roi:\n  file: {roi}\n  polygons: [roi_epi_on, roi_nope]\n{CAMERAS}")
    with pytest.raises(ConfigError) as err:
        load_config(path, env={})
    (problem,) = err.value.problems
    assert problem.origin == str(path) and problem.path == "roi.polygons[1]" and problem.line == 3
    assert problem.message == (
        f"no polygon named 'roi_nope' in the ROI file {roi}; the file has: roi_epi_on, gate"
    )
    with pytest.raises(ConfigError) as err:
        load_config(site(tmp_path, CAMERAS), env={}, roi=RoiSource(file=roi, polygons=["x"]))
    assert "--roi-polys: no polygon named 'x'" in str(err.value)


def test_zone_name_clash_names_both_places(tmp_path: Path) -> None:
    roi = roi_file(tmp_path, {"polygons": {"door": SQUARE, "roi_epi_on": SQUARE}})
    path = site(tmp_path, f"roi: {roi}\n{CAMERAS}")
    with pytest.raises(ConfigError) as err:
        load_config(path, env={})
    (problem,) = err.value.problems
    assert problem.origin == str(path) and problem.path == "cameras[0].zones[0].name"
    assert problem.line == 7
    assert f"clashes with the ROI polygon of the same name ({roi}: polygons.door (line 3))" in (
        problem.message
    )


def test_two_roi_files_giving_one_camera_the_same_name_clash(tmp_path: Path) -> None:
    first = roi_file(tmp_path, {"roi_epi_on": SQUARE}, "a.json")
    second = roi_file(tmp_path, {"roi_epi_on": SQUARE}, "b.json")
    path = site(tmp_path, f"roi: [{first}, {{file: {second}, cameras: [cam62]}}]\n{CAMERAS}")
    with pytest.raises(ConfigError) as err:
        load_config(path, env={})
    (problem,) = err.value.problems
    assert problem.origin == str(second) and problem.path == "roi_epi_on"
    assert f"already given to camera 'cam62' by {first}: roi_epi_on" in problem.message


def test_bad_roi_key_is_located_and_reported_with_the_other_problems(tmp_path: Path) -> None:
    roi = roi_file(tmp_path, {"roi_epi_on": SQUARE})
    path = site(
        tmp_path,
        f"roi:\n  file: {roi}\n  polygns: [roi_epi_on]\n  cameras: [cam99]\n"
        "server: {port: 0}\n" + CAMERAS,
    )
    with pytest.raises(ConfigError) as err:
        load_config(path, env={})
    text = str(err.value)
    assert "roi.polygns (line 3): unknown key 'polygns'; did you mean 'polygons'?" in text
    assert "server.port" in text  # every problem in the file at once
    fixed = path.read_text().replace("polygns", "polygons")
    path.write_text(fixed)
    with pytest.raises(ConfigError) as err:
        load_config(path, env={})
    assert "roi.cameras[0] (line 4): unknown camera 'cam99'; expected one of: cam61, cam62" in str(
        err.value
    )


def test_invalid_roi_polygon_is_reported_in_the_roi_file(tmp_path: Path) -> None:
    roi = roi_file(tmp_path, {"polygons": {"roi_bowtie": [[0, 0], [100, 100], [100, 0], [0, 100]]}})
    with pytest.raises(ConfigError) as err:
        load_config(site(tmp_path, f"roi: {roi}\n{CAMERAS}"), env={})
    problem = err.value.problems[0]
    assert problem.origin == str(roi) and problem.path == "polygons.roi_bowtie"
    assert "the polygon crosses itself" in problem.message
