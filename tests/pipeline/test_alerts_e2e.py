"""End to end: a real RTSP camera playing people, the real model in a real `Pipeline`, and
alerts in the database with a snapshot and a clip that decode.

The video opens with four seconds of an empty grey picture, so the first person is seen
only once the camera has history for the clip's pre-roll.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np
import pytest
from sqlalchemy import select

from atalaia.config import AtalaiaConfig, CameraConfig, SupervisorConfig
from atalaia.config.detectors import OnnxDetectorConfig
from atalaia.config.media import MediaConfig
from atalaia.demo import demo_frames, write_video
from atalaia.logs import LogWriter
from atalaia.media import live_frame_path
from atalaia.pipeline.camera_messages import AlertCommitted
from atalaia.pipeline.runner import Pipeline
from atalaia.pipeline.snapshots import camera_snapshot
from atalaia.storage import Database
from atalaia.storage.models import Alert, AlertEvent, Delivery
from tests.conftest import in_ci
from tests.fixtures.cameras import rtsp_camera, rtsp_server_available

FPS = 15
PRE_ROLL, POST_ROLL = 2.0, 3.0

pytestmark = pytest.mark.skipif(
    not rtsp_server_available() and not in_ci(),
    reason="needs GStreamer's RTSP server (Debian gir1.2-gst-rtsp-server-1.0, python3-gi)",
)


def wait_for(cond: Callable[[], bool], timeout: float, step: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(step)
    return cond()


@pytest.fixture
def people_video(tmp_path: Path) -> Path:
    people = demo_frames(seconds=7, fps=FPS)
    empty = [np.full_like(people[0], 128) for _ in range(4 * FPS)]
    path = tmp_path / "people.mp4"
    write_video(path, empty + people, FPS)
    return path


@pytest.fixture
def pipeline_with_messages(
    tmp_path: Path,
) -> Iterator[Callable[[AtalaiaConfig], tuple[Pipeline, list[object]]]]:
    started: list[tuple[Pipeline, LogWriter]] = []

    def start(config: AtalaiaConfig) -> tuple[Pipeline, list[object]]:
        messages: list[object] = []
        lock = threading.Lock()

        def on_message(child: str, message: object) -> None:
            with lock:
                messages.append(message)

        writer = LogWriter(file=tmp_path / "pipeline.log", console=False)
        pipeline = Pipeline(config, writer.queue, on_message=on_message)
        pipeline.start()
        started.append((pipeline, writer))
        return pipeline, messages

    yield start
    for pipeline, writer in started:
        pipeline.stop()
        writer.stop()


def clip_duration(path: Path) -> tuple[int, float]:
    with av.open(str(path)) as container:
        times = [float(f.pts * f.time_base) for f in container.decode(video=0)]
    step = (times[-1] - times[0]) / max(1, len(times) - 1)
    return len(times), times[-1] - times[0] + step


def test_people_on_an_rtsp_camera_raise_alerts_with_snapshot_and_clip(
    tmp_path: Path, people_video: Path, pipeline_with_messages: Any
) -> None:
    database = Database(f"sqlite:///{tmp_path / 'atalaia.db'}")
    database.migrate()  # as the service does at start
    with rtsp_camera(file=people_video, width=640, height=480, fps=FPS) as cam:
        camera = CameraConfig.model_validate(
            {
                "id": "yard",
                "source": {"url": cam.url, "read_timeout": 2, "open_timeout": 5, "loop": False},
                "detect": {"fps": 5},
                "rules": [{"type": "object_in_zone", "name": "person_seen", "labels": ["person"]}],
            }
        )
        config = AtalaiaConfig(
            data_dir=tmp_path,
            supervisor=SupervisorConfig(heartbeat_interval=0.5, heartbeat_timeout=20),
            detectors={"default": OnnxDetectorConfig(input_size=320)},
            cameras=[camera],
            # live.jpg read from the disk below, with no API watching: written always.
            media=MediaConfig(
                pre_roll=PRE_ROLL, post_roll=POST_ROLL, clip_fps=5, live_fps=2, live_when="always"
            ),
        )
        pipeline, messages = pipeline_with_messages(config)

        def first_alert_with_clip() -> Alert | None:
            with database.session() as session:
                for alert in session.scalars(select(Alert).order_by(Alert.start_time)):
                    if alert.clip_path and Path(alert.clip_path).exists():
                        return alert
            return None

        assert wait_for(lambda: first_alert_with_clip() is not None, 50), pipeline.status()[
            "cameras"
        ]["yard"]
        alert = first_alert_with_clip()
        assert alert is not None
        assert (alert.camera_id, alert.label, alert.rule) == ("yard", "person", "person_seen")
        assert alert.score >= 0.5 and alert.track_id is not None and alert.zone is None

        snapshot = Path(alert.snapshot_path or "")
        assert snapshot.is_relative_to(tmp_path / "media" / "yard" / "snapshots")
        image = cv2.imdecode(np.frombuffer(snapshot.read_bytes(), np.uint8), cv2.IMREAD_COLOR)
        assert image is not None and image.shape == (480, 640, 3)

        frames, duration = clip_duration(Path(alert.clip_path or ""))
        assert PRE_ROLL + POST_ROLL - 1.5 <= duration <= PRE_ROLL + POST_ROLL + 1.0, duration
        assert frames >= 15

        live = cv2.imread(str(live_frame_path(tmp_path, "yard")))
        assert live is not None and live.shape == (480, 640, 3)
        # The supervisor heard of committed events only.
        announced = {
            m.event_id for m in messages if isinstance(m, AlertCommitted) and m.camera_id == "yard"
        }
        with database.session() as session:
            payload_ids = {p["id"] for p in session.scalars(select(AlertEvent.payload))}
            sinks = set(session.scalars(select(Delivery.sink)))
        assert announced and announced <= payload_ids and sinks == {"database"}
        stats = camera_snapshot(pipeline.status()["cameras"]["yard"])
        analytics = stats.analytics if stats is not None else None
        assert analytics is not None and analytics.recorder is not None
        assert analytics.recorder.dropped == 0 and analytics.problems == ()
    pipeline.stop()
    # A clean stop ends every alert the camera still had open, and writes every clip.
    with database.session() as session:
        alerts = list(session.scalars(select(Alert)))
    assert {a.state for a in alerts} == {"ended"}
    assert all(a.clip_path and Path(a.clip_path).exists() for a in alerts)
    database.dispose()
