"""A camera with two models, through the real pipeline: a real camera process, two real
detector processes (the built-in YOLO11n and a tiny real ONNX PPE-style model), the demo
video. Each frame's answers are merged with each model's name; each model is counted on its
own; a model killed with -9 leaves the camera tracking on the other, and merging resumes after
the supervisor restarts it."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

from atalaia.config import AtalaiaConfig, CameraConfig, SupervisorConfig
from atalaia.config.detectors import OnnxDetectorConfig
from atalaia.pipeline.runner import Pipeline
from tests.detect.tiny_models import constant_head_model, rtdetr_head
from tests.pipeline.test_pipeline import cam_status, counters, run_pipeline, wait_for

__all__ = ["run_pipeline"]  # the fixture, used by name

PPE_NAMES = {"names": "{0: 'With Helmet', 1: 'Without Helmet'}"}


def helmet_model(tmp_path: Path) -> Path:
    """A real ONNX model (RT-DETR head) that sees one 'Without Helmet' box in every image."""
    head = rtdetr_head(300, 2, {0: [0.5, 0.3, 0.1, 0.1, 0.0, 0.9]})
    return constant_head_model(tmp_path / "ppe.onnx", [("output0", head)], metadata=PPE_NAMES)


def two_model_config(tmp_path: Path) -> AtalaiaConfig:
    camera = CameraConfig.model_validate(
        {
            "id": "floor",
            "source": {"url": "demo://people", "read_timeout": 1.5},
            "detect": {"fps": 5, "detectors": ["default", "ppe"]},
        }
    )
    return AtalaiaConfig(
        data_dir=tmp_path,
        supervisor=SupervisorConfig(
            heartbeat_interval=0.3, heartbeat_timeout=8.0, max_restarts=3, restart_window=120
        ),
        detectors={
            "default": OnnxDetectorConfig(input_size=320),
            "ppe": OnnxDetectorConfig(model=helmet_model(tmp_path), input_size=320),
        },
        cameras=[camera],
    )


def stats(p: Pipeline) -> dict[str, Any]:
    return dict(cam_status(p, "floor").get("stats") or {})


def model(p: Pipeline, name: str) -> dict[str, Any]:
    return dict((stats(p).get("models") or {}).get(name) or {})


def merged(p: Pipeline) -> bool:
    """The latest frame holds both models' detections."""
    last = stats(p).get("last_result") or {}
    found = last.get("detections") or {}
    return not last.get("missing") and found.get("default", 0) > 0 and found.get("ppe", 0) > 0


def track_labels(p: Pipeline) -> set[str]:
    table = (stats(p).get("analytics") or {}).get("track_table") or []
    return {t["label"] for t in table}


def tracked_without(p: Pipeline, missing: str) -> bool:
    """In one heartbeat: the latest frame lacked `missing`'s answer (its detector is down)
    and a person track was matched on that very frame."""
    s = stats(p)
    last = s.get("last_result") or {}
    if (last.get("missing") or {}).get(missing) != "no_detector":
        return False
    table = (s.get("analytics") or {}).get("track_table") or []
    return any(t["label"] == "person" and abs(t["last_seen"] - last["ts"]) < 1e-6 for t in table)


def test_two_models_merge_per_frame_and_count_per_model(run_pipeline: Any, tmp_path: Path) -> None:
    p = run_pipeline(two_model_config(tmp_path))
    assert wait_for(lambda: counters(p, "floor").get("detected", 0) > 10 and merged(p), 90)
    # Tracking runs on the merged table: persons from YOLO11n, the helmet model's class too.
    assert wait_for(lambda: {"person", "Without Helmet"} <= track_labels(p), 30)
    s = stats(p)
    assert s["detector_connected"] is True
    for name in ("default", "ppe"):
        m = s["models"][name]
        assert m["connected"] and m["sent"] > 5 and m["detected"] > 5
        assert m["latency_ms"]["p50"] > 0 and sum(m["latency_hist"].values()) == m["detected"]
    # One frame reference went to both detector processes: each inferred the camera's frames.
    detectors = p.status()["detectors"]
    assert detectors["default"]["stats"]["frames"] > 5 and detectors["ppe"]["stats"]["frames"] > 5


def test_a_killed_model_leaves_the_camera_tracking_on_the_other(
    run_pipeline: Any, tmp_path: Path
) -> None:
    p = run_pipeline(two_model_config(tmp_path))
    assert wait_for(lambda: merged(p) and "person" in track_labels(p), 90)
    camera_pid = cam_status(p, "floor")["pid"]
    ppe_pid = p.status()["detectors"]["ppe"]["pid"]
    before = counters(p, "floor")
    drops_before = model(p, "ppe").get("dropped_no_detector", 0)

    os.kill(ppe_pid, signal.SIGKILL)
    # While it is down the camera goes on with YOLO11n alone: frames analysed as partial,
    # persons still tracked, the dead model's drops counted under its name.
    assert wait_for(lambda: tracked_without(p, "ppe"), 30)
    assert counters(p, "floor")["partial"] > before.get("partial", 0)
    assert model(p, "ppe")["dropped_no_detector"] > drops_before

    assert wait_for(
        lambda: (
            p.status()["detectors"]["ppe"]["pid"] not in (None, ppe_pid)
            and p.status()["detectors"]["ppe"]["state"] == "running"
        ),
        60,
    )
    assert wait_for(lambda: merged(p), 60)  # both models again, in one frame
    after = counters(p, "floor")
    assert after["detected"] > before["detected"]
    assert cam_status(p, "floor")["pid"] == camera_pid  # the camera never restarted
    assert p.status()["detectors"]["default"]["restarts"] == 0
