"""Soak: five minutes of a busy RTSP camera, and one playable clip for every alert.

A real RTSP server plays a video where the street is empty for two and a half seconds, then two
people appear for two, over and over; the real model, tracker and rules run in a real
`Pipeline`, so alerts start and end every few seconds and each asks for a clip. The camera's
capture times carry the jitter of a real stream, and the clip history is sampled at 5 fps from a
10 fps stream: before the encoder stamped frames in its own time base, most clips of such a
camera failed ("non monotonically increasing dts to muxer"). The test asserts counts and
playability only (`ffprobe` decodes every clip), never timing, so a loaded machine only slows it.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from fractions import Fraction
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
from atalaia.demo import demo_frames
from atalaia.logs import LogWriter
from atalaia.pipeline.runner import Pipeline
from atalaia.pipeline.snapshots import AnalyticsSnapshot, CameraSnapshot, camera_snapshot
from atalaia.storage import Database
from atalaia.storage.models import Alert
from tests.conftest import in_ci
from tests.fixtures.cameras import rtsp_camera, rtsp_server_available

SOAK_S = 300.0  # the five minutes of alerts
STREAM_FPS = 10
WIDTH, HEIGHT = 320, 240
PEOPLE_S, EMPTY_S = 2.0, 2.5  # one cycle: an empty street, then people in view
TAIL_S = 60.0  # empty street after the soak: alerts end, clips finish, nothing new starts
PRE_ROLL, POST_ROLL, CLIP_FPS = 2.0, 3.0, 5.0

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(SOAK_S + 300),
    pytest.mark.skipif(
        not rtsp_server_available() and not in_ci(),
        reason="needs GStreamer's RTSP server (Debian gir1.2-gst-rtsp-server-1.0, python3-gi)",
    ),
    pytest.mark.skipif(shutil.which("ffprobe") is None, reason="needs ffprobe (ffmpeg)"),
]


def cycles() -> int:
    return math.ceil(SOAK_S / (PEOPLE_S + EMPTY_S))


def write_busy_video(path: Path) -> None:
    """`cycles()` times: an empty grey street for EMPTY_S (the first alert's pre-roll), then
    people for PEOPLE_S; then TAIL_S of empty street. Written frame by frame: five minutes of
    decoded frames would not fit in a list."""
    people = [
        cv2.resize(f, (WIDTH, HEIGHT), interpolation=cv2.INTER_AREA)
        for f in demo_frames(seconds=PEOPLE_S, fps=STREAM_FPS)
    ]
    empty = np.full_like(people[0], 128)
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=Fraction(STREAM_FPS))
        stream.width, stream.height = WIDTH, HEIGHT
        stream.pix_fmt = "yuv420p"
        stream.options = {"preset": "ultrafast", "crf": "26", "g": str(STREAM_FPS)}

        def put(image: np.ndarray) -> None:
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="bgr24")):
                container.mux(packet)

        for _ in range(cycles()):
            for _ in range(round(EMPTY_S * STREAM_FPS)):
                put(empty)
            for image in people:
                put(image)
        for _ in range(round(TAIL_S * STREAM_FPS)):
            put(empty)
        for packet in stream.encode():
            container.mux(packet)


def ffprobe(path: Path) -> tuple[int, float]:
    """Frames decoded and duration, as ffprobe reads them; fails the test if it cannot."""
    result = subprocess.run(
        [
            "ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0",
            "-show_entries", "stream=nb_read_frames:format=duration", "-of", "json", str(path),
        ],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, f"{path}: {result.stderr}"
    data = json.loads(result.stdout)
    return int(data["streams"][0]["nb_read_frames"]), float(data["format"]["duration"])


def wait_for(cond: Callable[[], bool], timeout: float, step: float = 0.5) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(step)
    return cond()


@pytest.fixture
def running_pipeline(tmp_path: Path) -> Iterator[Callable[[AtalaiaConfig], Pipeline]]:
    started: list[tuple[Pipeline, LogWriter]] = []

    def start(config: AtalaiaConfig) -> Pipeline:
        writer = LogWriter(file=tmp_path / "pipeline.log", console=False)
        pipeline = Pipeline(config, writer.queue)
        pipeline.start()
        started.append((pipeline, writer))
        return pipeline

    yield start
    for pipeline, writer in started:
        pipeline.stop()
        writer.stop()


def test_a_busy_rtsp_camera_gets_one_playable_clip_per_alert_for_five_minutes(
    tmp_path: Path, running_pipeline: Callable[[AtalaiaConfig], Pipeline]
) -> None:
    video = tmp_path / "busy.mp4"
    write_busy_video(video)
    database = Database(f"sqlite:///{tmp_path / 'atalaia.db'}")
    database.migrate()
    with rtsp_camera(file=video, width=WIDTH, height=HEIGHT, fps=STREAM_FPS) as cam:
        camera = CameraConfig.model_validate(
            {
                "id": "busy",
                "source": {"url": cam.url, "read_timeout": 2, "open_timeout": 5, "loop": False},
                "detect": {"fps": 5},
                "track": {"lost_timeout": 1.0},
                "rules": [
                    {
                        "type": "object_in_zone",
                        "name": "person_seen",
                        "labels": ["person"],
                        "cooldown": 0,
                    }
                ],
            }
        )
        config = AtalaiaConfig(
            data_dir=tmp_path,
            # Generous: a loaded machine must slow the soak, never restart the camera.
            supervisor=SupervisorConfig(heartbeat_interval=0.5, heartbeat_timeout=60),
            detectors={"default": OnnxDetectorConfig(input_size=320)},
            cameras=[camera],
            media=MediaConfig(
                pre_roll=PRE_ROLL,
                post_roll=POST_ROLL,
                clip_fps=CLIP_FPS,
                clip_max_width=WIDTH,
                live=False,
            ),
        )
        pipeline = running_pipeline(config)

        def camera_stats() -> CameraSnapshot | None:
            return camera_snapshot(pipeline.status()["cameras"].get("busy"))

        def analytics() -> AnalyticsSnapshot | None:
            stats = camera_stats()
            return stats.analytics if stats is not None else None

        def clip_stats() -> dict[str, Any]:
            found = analytics()
            return dict(found.clips or {}) if found is not None else {}

        def captured() -> int:
            stats = camera_stats()
            return stats.counters.captured if stats is not None else 0

        assert wait_for(lambda: captured() > 0, 60)
        streaming_since = time.monotonic()
        # The whole busy part of the video streams (the server plays it in real time).
        busy_s = cycles() * (PEOPLE_S + EMPTY_S)
        while time.monotonic() - streaming_since < busy_s + 2:
            time.sleep(5)
            assert pipeline.status()["cameras"]["busy"].get("restarts", 0) == 0, camera_stats()

        def settled() -> bool:
            clips = clip_stats()
            found = analytics()
            done = clips.get("clips_written", 0) + clips.get("clips_failed", 0)
            done += clips.get("clips_skipped", 0)
            return (
                found is not None
                and found.alerts_active == 0
                and clips.get("clips_waiting") == 0
                and done == clips.get("clips_requested")
            )

        assert wait_for(settled, TAIL_S - 10), clip_stats()
        clips = clip_stats()
        found = analytics()
        recorder = found.recorder if found is not None else None
        restarts = pipeline.status()["cameras"]["busy"].get("restarts", 0)
        pipeline.stop()

    assert restarts == 0
    assert clips["clips_failed"] == 0, clips["clip_last_error"]
    assert clips["clips_skipped"] == 0, clips
    assert clips["clips_written"] == clips["clips_requested"], clips
    assert recorder is not None and recorder.dropped == 0, recorder
    with database.session() as session:
        asked = [a for a in session.scalars(select(Alert)) if a.clip_path]
    database.dispose()
    # Busy: alerts kept starting and ending through the five minutes.
    assert len(asked) >= cycles() // 2, (len(asked), clips)
    assert len(asked) == clips["clips_requested"]
    assert all(a.state == "ended" for a in asked)
    clip_files = sorted((tmp_path / "media" / "busy" / "clips").rglob("*.mp4"))
    assert sorted(Path(a.clip_path or "") for a in asked) == clip_files  # one each, none else
    nominal = (PRE_ROLL + POST_ROLL) * CLIP_FPS
    for alert in asked:
        frames, duration = ffprobe(Path(alert.clip_path or ""))
        assert frames >= nominal / 2, (alert.id, frames)
        assert PRE_ROLL + POST_ROLL - 2.0 <= duration <= PRE_ROLL + POST_ROLL + 1.0, duration
