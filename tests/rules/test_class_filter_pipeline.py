"""`detect.classes` through the real camera process: it narrows what the camera shows and
reports, never what its rules see. A camera showing only dogs still raises its person alerts
(the demo video, the built-in YOLO11n in its own detector process)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from atalaia.config import CameraConfig
from atalaia.pipeline.snapshots import AnalyticsSnapshot, camera_snapshot
from tests.pipeline.test_pipeline import cam_status, make_config, run_pipeline, wait_for

__all__ = ["run_pipeline"]  # the fixture, used by name


def test_a_class_filter_never_starves_a_rule(run_pipeline: Any, tmp_path: Path) -> None:
    camera = CameraConfig.model_validate(
        {
            "id": "yard",
            "source": {"url": "demo://people", "read_timeout": 1.5},
            "detect": {"fps": 5, "classes": ["dog"]},
            "track": {"min_hits": 1},
            "rules": [{"type": "object_in_zone", "name": "anyone", "labels": ["person"]}],
        }
    )
    p = run_pipeline(make_config(tmp_path, [camera]))

    def analytics() -> AnalyticsSnapshot | None:
        stats = camera_snapshot(cam_status(p, "yard"))
        return stats.analytics if stats is not None else None

    def alerts() -> int:
        found = analytics()
        return found.alert_events.get("new", 0) if found is not None else 0

    assert wait_for(lambda: alerts() > 0, 90)
    found = analytics()
    assert found is not None
    shown = {t.label for t in found.track_table}
    assert shown <= {"dog"}, shown  # persons are tracked and judged, not shown
    assert found.tracks == len(found.track_table)
