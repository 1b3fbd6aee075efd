"""Prometheus metrics and /api/stats from a real running pipeline."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from atalaia.config import CameraConfig
from atalaia.pipeline.snapshots import camera_snapshot
from tests.api.conftest import AUTH, make_config
from tests.pipeline.test_pipeline import wait_for


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def test_metrics_from_a_running_camera(
    make_client: Callable[..., TestClient], tmp_path: Path
) -> None:
    camera = CameraConfig.model_validate(  # a rule, so the camera records alert clips
        {"id": "demo", "source": "demo://people", "rules": [{"type": "object_in_zone"}]}
    )
    client = make_client(make_config(tmp_path, [camera]), processing=True)
    manager = client.app.state.manager  # type: ignore[attr-defined]

    def detected() -> int:
        stats = camera_snapshot(manager.pipeline_status()["cameras"].get("demo"))
        return stats.counters.detected if stats is not None else 0

    assert wait_for(lambda: detected() > 3, 60)
    response = client.get("/metrics")  # open by default
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    values = samples(response.text)
    assert values[("atalaia_camera_frames_captured_total", (("camera", "demo"),))] > 0
    assert values[("atalaia_camera_frames_detected_total", (("camera", "demo"),))] > 0
    assert (
        "atalaia_camera_frames_dropped_total",
        (("camera", "demo"), ("cause", "stale")),
    ) in values
    assert values[("atalaia_capture_to_result_seconds_count", (("camera", "demo"),))] > 0
    assert values[("atalaia_process_running", (("process", "camera:demo"),))] == 1.0
    assert values[("atalaia_detector_frames_total", (("detector", "default"),))] > 0
    # Per camera and model (a camera with several detectors shows each one by name).
    model = (("camera", "demo"), ("model", "default"))
    assert values[("atalaia_camera_model_results_total", model)] > 0
    assert values[("atalaia_camera_model_requests_total", model)] > 0
    assert values[("atalaia_camera_model_connected", model)] == 1.0
    assert values[("atalaia_camera_model_result_seconds_count", model)] > 0
    assert (
        "atalaia_camera_model_dropped_total",
        (model[0], ("cause", "stale"), model[1]),
    ) in values
    # Clip failures are a counter per camera beside the clips written, never silent.
    assert values[("atalaia_clip_failures_total", (("camera", "demo"),))] == 0
    assert ("atalaia_clips_written_total", (("camera", "demo"),)) in values
    stats = client.get("/api/stats", headers=AUTH).json()
    assert stats["pipeline"]["cameras"]["demo"]["stats"]["counters"]["detected"] > 0
    assert stats["pipeline"]["cameras"]["demo"]["stats"]["models"]["default"]["detected"] > 0
    assert client.get("/api/stats").status_code == 401


def test_metrics_can_be_closed(make_client: Callable[..., TestClient], tmp_path: Path) -> None:
    client = make_client(make_config(tmp_path, public_metrics=False))
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers=AUTH).status_code == 200
