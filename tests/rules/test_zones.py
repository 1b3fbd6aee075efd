"""Zones: anchors, the seed's ROI file, concave polygons, edges, inertia, invalid polygons."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from atalaia.config import ConfigError, load_config
from atalaia.config.cameras import ZoneConfig
from atalaia.geometry import anchor_points, points_in_polygon, self_intersections
from atalaia.rules import (
    FrameSize,
    RuleEngine,
    ZoneError,
    ZoneOccupancy,
    resolve_zone,
    zones_from_roi,
)
from atalaia.track import Track
from tests.rules.scene import camera

SQUARE = [(100.0, 100.0), (300.0, 100.0), (300.0, 300.0), (100.0, 300.0)]
# A "U": two arms joined at the bottom, with a notch from (150, 100) to (250, 250).
U_SHAPE = [(100, 100), (150, 100), (150, 250), (250, 250), (250, 100), (300, 100), (300, 300),
           (100, 300)]  # fmt: skip


def zone(points: list[tuple[float, float]], **kw: object) -> ZoneConfig:
    return ZoneConfig.model_validate({"name": "press", "points": points, **kw})


def test_anchor_decides_which_point_of_the_box_must_be_inside() -> None:
    # Feet inside the square, head and centre above it.
    box = np.array([[180.0, 0.0, 220.0, 150.0]])
    inside = {
        anchor: bool(resolve_zone(zone(SQUARE, anchor=anchor), 640, 480).contains(box)[0])
        for anchor in ("bottom_center", "center", "top_center", "bottom_left", "bottom_right")
    }
    assert inside == {
        "bottom_center": True,
        "center": False,
        "top_center": False,
        "bottom_left": True,
        "bottom_right": True,
    }
    assert zone(SQUARE).anchor == "bottom_center"  # the default, as supervision and Frigate
    assert anchor_points(box, "center").tolist() == [[200.0, 75.0]]


def test_concave_polygon_leaves_its_notch_outside() -> None:
    points = np.array([[125, 200], [275, 200], [200, 200], [200, 280], [200, 120]])
    assert points_in_polygon(points, U_SHAPE).tolist() == [True, True, False, True, False]
    assert self_intersections(U_SHAPE) == []


def test_points_on_edges_and_vertices_are_inside() -> None:
    on_border = np.array([[100, 200], [300, 150], [200, 100], [200, 300], [100, 100], [300, 300]])
    assert points_in_polygon(on_border, SQUARE).all()
    # The notch's edges of the concave zone count too; just off them does not.
    notch = np.array([[150, 180], [200, 250], [250, 120], [200, 249.5], [151, 180]])
    assert points_in_polygon(notch, U_SHAPE).tolist() == [True, True, True, False, False]


def test_relative_zone_scales_to_the_frame() -> None:
    relative = zone([(0.25, 0.5), (0.75, 0.5), (0.75, 1.0), (0.25, 1.0)])
    assert relative.is_relative
    z = resolve_zone(relative, 640, 480)
    assert z.polygon.tolist() == [[160, 240], [480, 240], [480, 480], [160, 480]]
    explicit = zone([(0.25, 0.5), (0.75, 0.5), (0.75, 1.0)], relative=False)
    assert not explicit.is_relative  # tiny, but pixels when the user says so


def test_roi_file_of_the_seed_with_roi_polys_selection(tmp_path: Path) -> None:
    roi = tmp_path / "roi_cam61.json"
    roi.write_text(
        json.dumps(
            {
                "roi_epi_on": [[0.1, 0.2], [0.6, 0.2], [0.6, 0.9], [0.1, 0.9]],
                "roi_gate": [[400, 50], [600, 50], [600, 200]],
            }
        )
    )
    zones = zones_from_roi(roi, ["roi_epi_on"])
    assert [z.name for z in zones] == ["roi_epi_on"] and zones[0].is_relative
    assert [z.name for z in zones_from_roi(roi)] == ["roi_epi_on", "roi_gate"]
    pixels = resolve_zone(zones[0], 1000, 500)
    assert pixels.polygon.tolist()[0] == pytest.approx([100, 100])
    with pytest.raises(ConfigError) as err:
        zones_from_roi(roi, ["roi_missing"])
    assert "roi_missing" in str(err.value) and "roi_epi_on" in str(err.value)


def test_roi_file_with_a_crossed_polygon_names_it(tmp_path: Path) -> None:
    roi = tmp_path / "roi.json"
    roi.write_text(json.dumps({"roi_bowtie": [[0, 0], [100, 100], [100, 0], [0, 100]]}))
    with pytest.raises(ConfigError) as err:
        zones_from_roi(roi)
    (problem,) = err.value.problems
    assert problem.origin == str(roi) and problem.path == "roi_bowtie"
    assert "zone 'roi_bowtie': the polygon crosses itself" in problem.message


def track(tid: int, box: tuple[float, float, float, float]) -> Track:
    return Track(tid, 0, "person", box, (0, 0, 0, 0), 0.9, 0.9, "tracked", 0, 0, 0, 1)


def test_inertia_needs_consecutive_frames_to_enter_and_to_leave() -> None:
    occupancy = ZoneOccupancy(resolve_zone(zone(SQUARE, inertia=3), 640, 480))
    inside, outside = (180, 150, 220, 250), (180, 350, 220, 450)
    steps = [inside, inside, outside, inside, inside, inside, outside, outside, inside, outside,
             outside, outside]  # fmt: skip
    log = []
    for i, box in enumerate(steps):
        change = occupancy.update([track(1, box)], (), ts=float(i))
        log.append((change.entered, change.left))
    assert [i for i, (e, _) in enumerate(log) if e] == [5]  # third consecutive inside frame
    assert [i for i, (_, left) in enumerate(log) if left] == [11]
    # Entry time is the first of the three frames inside, not the one that confirmed it.
    occupancy2 = ZoneOccupancy(resolve_zone(zone(SQUARE, inertia=2), 640, 480))
    for i, box in enumerate([outside, inside, inside]):
        occupancy2.update([track(7, box)], (), ts=10.0 + i)
    assert occupancy2.inside() == {7: 11.0}
    assert occupancy2.update([], removed=[7], ts=13.0).left == (7,)


@pytest.mark.parametrize(
    ("points", "words"),
    [
        ([(0, 0), (10, 10)], "zone 'press': expected at least 3 points, got 2"),
        ([(0, 0), (100, 100), (100, 0), (0, 100)], "zone 'press': the polygon crosses itself"),
        ([(0, 0), (50, 50), (100, 100)], "zone 'press': the polygon has no area"),
        ([(0, 0), (100, 0), (100, 100), (50, 0)], "zone 'press': the polygon crosses itself"),
    ],
)
def test_invalid_polygons_are_refused_naming_the_zone(
    points: list[tuple[float, float]], words: str
) -> None:
    with pytest.raises(ValueError, match=words.replace("(", r"\(")):
        zone(points)


def test_config_check_names_the_key_path_of_a_crossed_zone(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        "cameras:\n"
        "  - id: gate\n"
        "    source: rtsp://cam.local/s\n"
        "    zones:\n"
        "      - name: ok\n"
        "        points: [[0.1, 0.1], [0.9, 0.1], [0.5, 0.9]]\n"
        "      - name: press\n"
        "        points: [[0, 0], [100, 100], [100, 0], [0, 100]]\n"
    )
    with pytest.raises(ConfigError) as err:
        load_config(path, env={})
    (problem,) = err.value.problems
    assert problem.path == "cameras[0].zones[1].points" and problem.line == 8
    assert "zone 'press'" in problem.message and "edge 0-1 meets edge 2-3" in problem.message


def test_relative_flag_with_pixel_coordinates_is_refused() -> None:
    with pytest.raises(ValueError, match=r"zone 'press': relative points must lie within 0\.\.1"):
        zone(SQUARE, relative=True)


def test_zone_outside_the_frame_is_reported_when_the_frame_size_is_known() -> None:
    big = zone([(100, 100), (900, 100), (900, 400)])
    outside = r"zone 'press': point \(900, 100\) lies outside the 640x480"
    with pytest.raises(ZoneError, match=outside):
        resolve_zone(big, 640, 480)
    resolve_zone(big, 1280, 720)  # fits a bigger camera
    # In a running camera: the rule on that zone is off, the others run, the problem is kept.
    cam = camera(
        [
            {"type": "object_in_zone", "zone": "press"},
            {"type": "loitering", "seconds": 5},
        ],
        zones=[{"name": "press", "points": [[100, 100], [900, 100], [900, 400]]}],
    )
    engine = RuleEngine(cam, ("person",), FrameSize(640, 480))
    assert [r.name for r in engine.rules] == ["loitering"]
    assert any("zone 'press'" in p and "640x480" in p for p in engine.problems)
    assert any("rule 'object_in_zone:press' is off" in p for p in engine.problems)
