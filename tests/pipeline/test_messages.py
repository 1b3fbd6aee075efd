"""The typed messages between camera and detector, and the heartbeat stats snapshots: each
survives the pipe unchanged, pickles as its constructor and its fields, and the stats' JSON
keeps the exact shape `/api/stats` and the health details always had."""

from __future__ import annotations

import json
import pickle
from multiprocessing import Pipe
from pathlib import Path
from typing import Any

import pytest

from atalaia.capture.status import CameraState, CameraStatus
from atalaia.config import CameraConfig
from atalaia.config.detectors import OnnxDetectorConfig
from atalaia.config.media import MediaConfig
from atalaia.detect.protocol import DetectorInfo
from atalaia.pipeline.alert_stats import RecorderSnapshot
from atalaia.pipeline.detector_messages import Detect, Dropped, Hello, Result, Welcome
from atalaia.pipeline.snapshots import (
    AnalyticsSnapshot,
    CameraSnapshot,
    DetectorSnapshot,
    FrameCounts,
    LastResult,
    ModelSnapshot,
    camera_snapshot,
    detector_snapshot,
    jsonable,
)
from atalaia.pipeline.specs import CameraSpec, DetectorSpec
from atalaia.track import Track

INFO = DetectorInfo("onnx", "m.onnx", "onnx", 640, 640, 2, ("CPU",), None, 2, 1, True, False)
MESSAGES = [
    Hello("yard", "atalaia-ring-yard", 0.5),
    Detect(3, 17, 1700000000.25),
    Welcome(("person", "car"), INFO),
    Result(17, 1700000000.25, b"\x00\x01wire", 12.5, 4),
    Dropped(17, "overload"),
]


@pytest.mark.parametrize("message", MESSAGES, ids=lambda m: type(m).__name__)
def test_each_message_crosses_a_pipe_unchanged(message: object) -> None:
    sender, receiver = Pipe()
    sender.send(message)
    got = receiver.recv()
    assert type(got) is type(message) and got == message


@pytest.mark.parametrize("message", MESSAGES, ids=lambda m: type(m).__name__)
def test_each_message_pickles_as_its_constructor_and_fields(message: object) -> None:
    reduced = message.__reduce__()
    assert reduced[0] is type(message)
    assert type(message)(*reduced[1]) == message
    assert pickle.loads(pickle.dumps(message, pickle.HIGHEST_PROTOCOL)) == message


def test_messages_are_frozen() -> None:
    with pytest.raises(AttributeError):
        Detect(1, 2, 3.0).seq = 5  # type: ignore[misc]


def test_start_specs_pickle_with_their_config_models(tmp_path: Path) -> None:
    camera = CameraConfig.model_validate({"id": "yard", "source": "demo://people"})
    spec = CameraSpec(
        camera=camera,
        ring="atalaia-ring-yard",
        data_dir=tmp_path,
        target_fps=None,
        detector_addresses={"default": str(tmp_path / "d.sock")},
        authkey=b"k" * 16,
        database_url="sqlite://",
        sinks=("database",),
        media=MediaConfig(),
        prompts=None,
        fence=None,
    )
    assert pickle.loads(pickle.dumps(spec)) == spec
    detector = DetectorSpec(OnnxDetectorConfig(input_size=320), "/tmp/d.sock", b"k" * 16)
    assert pickle.loads(pickle.dumps(detector)) == detector


def reader_status() -> CameraStatus:
    return CameraStatus(
        "yard", "demo://people", CameraState.ONLINE, 1.0, 2.0, 10, 9, 1, 0, 0, None, None, 5.0
    )


def camera_stats() -> CameraSnapshot:
    track = Track(
        7, 0, "person", (1.0, 2.0, 3.0, 4.0), (0, 0, 0, 0), 0.9, 0.95, "tracked", 1, 2, 2, 3
    )
    model = ModelSnapshot(True, 5, 4, 1, 0, 0, 0, {"p50": 20.0}, {19: 4})
    return CameraSnapshot(
        camera="yard",
        counters=FrameCounts(captured=10, sent=5, detected=4, dropped_stale=1),
        fps_captured=10.0,
        fps_detected=4.0,
        latency_ms={"p50": 21.0},
        latency_hist={20: 4},
        detector_connected=True,
        models={"default": model},
        reader=reader_status(),
        ring="atalaia-ring-yard",
        analytics=AnalyticsSnapshot(
            tracks=1,
            track_table=(track,),
            alerts_active=0,
            alert_events={"new": 1},
            held_frames=0,
            rules=1,
            problems=("a problem",),
            recorder=RecorderSnapshot(committed=1),
            clips={"clips_written": 1},
        ),
        last_result=LastResult(9, 2.0, {"default": 1}, {}),
    )


def test_camera_stats_json_keeps_the_api_shape() -> None:
    stats = camera_stats()
    assert pickle.loads(pickle.dumps(stats)) == stats
    data = json.loads(json.dumps(stats.as_json()))
    assert list(data) == [
        "camera",
        "counters",
        "fps_captured",
        "fps_detected",
        "latency_ms",
        "latency_hist",
        "detector_connected",
        "models",
        "reader",
        "ring",
        "analytics",
        "last_result",
    ]
    assert data["counters"] == {
        "captured": 10,
        "sent": 5,
        "detected": 4,
        "skipped_schedule": 0,
        "skipped_motion": 0,
        "partial": 0,
        "converted": 0,
        "unconvertible": 0,
        "dropped_stale": 1,
        "dropped_overload": 0,
        "dropped_no_detector": 0,
        "dropped_error": 0,
    }
    assert data["latency_hist"] == {"20": 4}
    assert data["models"] == {
        "default": {
            "connected": True,
            "sent": 5,
            "detected": 4,
            "dropped_stale": 1,
            "dropped_overload": 0,
            "dropped_no_detector": 0,
            "dropped_error": 0,
            "latency_ms": {"p50": 20.0},
            "latency_hist": {"19": 4},
        }
    }
    assert data["reader"] == json.loads(json.dumps(reader_status().as_dict()))
    assert data["reader"]["state"] == "online"
    analytics = data["analytics"]
    assert list(analytics) == [
        "tracks",
        "track_table",
        "alerts_active",
        "alert_events",
        "held_frames",
        "rules",
        "problems",
        "recorder",
        "clips",
    ]
    assert analytics["track_table"][0]["track_id"] == 7 and analytics["problems"] == ["a problem"]
    assert analytics["recorder"]["committed"] == 1 and "replayed" in analytics["recorder"]
    assert data["last_result"] == {"seq": 9, "ts": 2.0, "detections": {"default": 1}, "missing": {}}


def test_detector_stats_json_keeps_the_api_shape() -> None:
    stats = DetectorSnapshot(10, 9, 3, 3.0, {4: 2, 1: 1}, {"p50": 12.0}, {"stale": 1}, 0, 2, 0)
    assert json.loads(json.dumps(stats.as_json())) == {
        "requests": 10,
        "frames": 9,
        "batches": 3,
        "mean_batch": 3.0,
        "batch_sizes": {"4": 2, "1": 1},
        "infer_ms": {"p50": 12.0},
        "drops": {"stale": 1},
        "errors": 0,
        "connections": 2,
        "pending": 0,
    }


def test_readers_take_snapshots_and_pass_over_anything_else() -> None:
    stats = camera_stats()
    cameras: dict[str, dict[str, Any]] = {
        "yard": {"state": "running", "stats": stats},
        "new": {"state": "starting", "stats": {}},  # before its first heartbeat
        "bug": {"state": "running", "stats": {"stats_error": "boom"}},
    }
    assert camera_snapshot(cameras["yard"]) is stats
    assert camera_snapshot(cameras["new"]) is None and camera_snapshot(cameras["bug"]) is None
    assert camera_snapshot(None) is None
    assert detector_snapshot(cameras["yard"]) is None
    status = {"running": True, "cameras": cameras, "detectors": {}}
    data = json.loads(json.dumps(jsonable(status)))
    assert data["cameras"]["yard"]["stats"] == json.loads(json.dumps(stats.as_json()))
    assert data["cameras"]["new"]["stats"] == {}
    assert data["cameras"]["bug"]["stats"] == {"stats_error": "boom"}
