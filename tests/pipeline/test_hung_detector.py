"""A detector whose model call hangs: the process is alive, its heartbeat thread keeps
beating, but its progress (the start of its oldest unfinished call) stops. The supervisor
restarts it after `heartbeat_timeout`, the camera keeps capturing, and detection resumes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from atalaia.config import AtalaiaConfig, SupervisorConfig
from tests.pipeline.hanging_detector import HangingDetectorConfig
from tests.pipeline.test_pipeline import (  # noqa: F401  (run_pipeline is a fixture)
    cam_status,
    camera,
    counters,
    detected,
    run_pipeline,
    wait_for,
)


def test_a_hung_model_call_restarts_the_detector_and_detection_resumes(
    run_pipeline: Any,  # noqa: F811
    tmp_path: Path,
) -> None:
    marker = tmp_path / "hang-now"
    config = AtalaiaConfig(
        data_dir=tmp_path,
        supervisor=SupervisorConfig(
            heartbeat_interval=0.3, heartbeat_timeout=3.0, max_restarts=3, restart_window=120
        ),
        detectors={"default": HangingDetectorConfig(input_size=320, marker=marker)},
        cameras=[camera("demo", "demo://people")],
    )
    p = run_pipeline(config)
    assert wait_for(lambda: detected(p, "demo") > 2, 60)
    camera_pid = cam_status(p, "demo")["pid"]
    detector_pid = p.status()["detectors"]["default"]["pid"]
    marker.touch()
    assert wait_for(lambda: not marker.exists(), 10), "no model call took the marker"
    assert wait_for(lambda: p.status()["detectors"]["default"]["restarts"] == 1, 30)
    status = p.status()["detectors"]["default"]
    assert "no heartbeat progress" in status["reason"], status["reason"]
    assert wait_for(lambda: p.status()["detectors"]["default"]["pid"] not in (None, detector_pid))
    seen = detected(p, "demo")
    assert wait_for(lambda: detected(p, "demo") > seen + 2, 60), "detection did not resume"
    assert cam_status(p, "demo")["pid"] == camera_pid  # the camera was never restarted
    assert counters(p, "demo").captured > 0
    assert p.status()["detectors"]["default"]["restarts"] == 1
