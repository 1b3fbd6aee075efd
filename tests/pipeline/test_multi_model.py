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
from atalaia.pipeline.snapshots import CameraSnapshot, ModelSnapshot, detector_snapshot
from atalaia.track import Track
from tests.detect.tiny_models import constant_head_model, rtdetr_head
from tests.pipeline.test_pipeline import cam_stats, cam_status, counters, run_pipeline, wait_for

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


def stats(p: Pipeline) -> CameraSnapshot | None:
    return cam_stats(p, "floor")


def model(p: Pipeline, name: str) -> ModelSnapshot | None:
    s = stats(p)
    return s.models.get(name) if s is not None else None


def model_drops(p: Pipeline, name: str) -> int:
    m = model(p, name)
    return m.dropped_no_detector if m is not None else 0


def merged(p: Pipeline) -> bool:
    """The latest frame holds both models' detections."""
    s = stats(p)
    last = s.last_result if s is not None else None
    if last is None:
        return False
    found = last.detections
    return not last.missing and found.get("default", 0) > 0 and found.get("ppe", 0) > 0


def track_table(s: CameraSnapshot | None) -> tuple[Track, ...]:
    return s.analytics.track_table if s is not None and s.analytics is not None else ()


def track_labels(p: Pipeline) -> set[str]:
    return {t.label for t in track_table(stats(p))}


def tracked_without(p: Pipeline, missing: str) -> bool:
    """In one heartbeat: the latest frame lacked `missing`'s answer (its detector is down)
    and a person track was matched on that very frame."""
    s = stats(p)
    last = s.last_result if s is not None else None
    if last is None or last.missing.get(missing) != "no_detector":
        return False
    return any(t.label == "person" and abs(t.last_seen - last.ts) < 1e-6 for t in track_table(s))


def detector_frames(p: Pipeline, name: str) -> int:
    s = detector_snapshot(p.status()["detectors"][name])
    return s.frames if s is not None else 0


def test_two_models_merge_per_frame_and_count_per_model(run_pipeline: Any, tmp_path: Path) -> None:
    p = run_pipeline(two_model_config(tmp_path))
    assert wait_for(lambda: counters(p, "floor").detected > 10 and merged(p), 90)
    # Tracking runs on the merged table: persons from YOLO11n, the helmet model's class too.
    assert wait_for(lambda: {"person", "Without Helmet"} <= track_labels(p), 30)
    s = stats(p)
    assert s is not None and s.detector_connected is True
    for name in ("default", "ppe"):
        m = s.models[name]
        assert m.connected and m.sent > 5 and m.detected > 5
        assert m.latency_ms["p50"] > 0 and sum(m.latency_hist.values()) == m.detected
    # One frame reference went to both detector processes: each inferred the camera's frames.
    assert detector_frames(p, "default") > 5 and detector_frames(p, "ppe") > 5


def test_a_killed_model_leaves_the_camera_tracking_on_the_other(
    run_pipeline: Any, tmp_path: Path
) -> None:
    p = run_pipeline(two_model_config(tmp_path))
    assert wait_for(lambda: merged(p) and "person" in track_labels(p), 90)
    camera_pid = cam_status(p, "floor")["pid"]
    ppe_pid = p.status()["detectors"]["ppe"]["pid"]
    before = counters(p, "floor")
    drops_before = model_drops(p, "ppe")

    os.kill(ppe_pid, signal.SIGKILL)
    # While it is down the camera goes on with YOLO11n alone: frames analysed as partial,
    # persons still tracked, the dead model's drops counted under its name.
    assert wait_for(lambda: tracked_without(p, "ppe"), 30)
    assert counters(p, "floor").partial > before.partial
    assert model_drops(p, "ppe") > drops_before

    assert wait_for(
        lambda: (
            p.status()["detectors"]["ppe"]["pid"] not in (None, ppe_pid)
            and p.status()["detectors"]["ppe"]["state"] == "running"
        ),
        60,
    )
    assert wait_for(lambda: merged(p), 60)  # both models again, in one frame
    after = counters(p, "floor")
    assert after.detected > before.detected
    assert cam_status(p, "floor")["pid"] == camera_pid  # the camera never restarted
    assert p.status()["detectors"]["default"]["restarts"] == 0
