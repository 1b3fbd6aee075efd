"""A camera converts only the frames it uses (real camera process, real model).

Converting a decoded frame to BGR and writing it into the ring costs about as much as
decoding it; a 30 fps camera detected 5 times a second used to pay for 30 conversions.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from atalaia.config import AtalaiaConfig, CameraConfig, SupervisorConfig
from atalaia.config.detectors import OnnxDetectorConfig
from atalaia.demo import demo_frames, write_video
from atalaia.logs import LogWriter
from atalaia.pipeline.runner import Pipeline
from atalaia.pipeline.snapshots import FrameCounts, camera_snapshot, detector_snapshot


@pytest.fixture(scope="module")
def video_30fps(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("video") / "demo_30fps.mp4"
    write_video(path, demo_frames(4.0, 30), 30)
    return path


def start(tmp_path: Path, cameras: list[CameraConfig], input_size: int) -> Iterator[Pipeline]:
    config = AtalaiaConfig(
        data_dir=tmp_path,
        supervisor=SupervisorConfig(heartbeat_interval=0.3),
        detectors={"default": OnnxDetectorConfig(input_size=input_size)},
        cameras=cameras,
        media={"clips": False, "live": False, "snapshots": False},
    )
    writer = LogWriter(file=tmp_path / "pipeline.log", console=False)
    p = Pipeline(config, writer.queue)
    p.start()
    yield p
    p.stop()
    writer.stop()


@pytest.fixture
def pipeline(tmp_path: Path, video_30fps: Path) -> Iterator[Pipeline]:
    camera = {"source": {"url": str(video_30fps), "loop": True}, "detect": {"fps": 5}}
    yield from start(
        tmp_path,
        [
            CameraConfig.model_validate({"id": "plain", **camera}),
            CameraConfig.model_validate({"id": "off", **camera, "detect": {"enabled": False}}),
        ],
        320,
    )


@pytest.fixture
def saturated(tmp_path: Path, video_30fps: Path) -> Iterator[Pipeline]:
    """Three 30 fps cameras asking for detection on every frame, a model at 640: far more
    than two cores detect."""
    camera = {"source": {"url": str(video_30fps), "loop": True}, "detect": {"fps": 30}}
    cameras = [CameraConfig.model_validate({"id": f"cam{i}", **camera}) for i in range(3)]
    yield from start(tmp_path, cameras, 640)


def counts(p: Pipeline, camera: str) -> FrameCounts:
    stats = camera_snapshot(p.status()["cameras"][camera])
    return stats.counters if stats is not None else FrameCounts()


def test_only_the_frames_used_are_converted(pipeline: Pipeline) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and counts(pipeline, "plain").detected < 10:
        time.sleep(0.2)
    start = {cam: counts(pipeline, cam) for cam in ("plain", "off")}
    time.sleep(3.0)
    end = {cam: counts(pipeline, cam) for cam in ("plain", "off")}
    captured = end["plain"].captured - start["plain"].captured
    converted = end["plain"].converted - start["plain"].converted
    sent = end["plain"].sent - start["plain"].sent
    assert captured >= 60  # 30 fps over 3 s, give or take a slow machine
    # The frames due for detection (5/s), each converted once; nothing for the media sampler
    # (no clips, no live view) and none of the 25 others a second. (A heartbeat may fall
    # between a conversion and its request.)
    assert sent > 0 and abs(converted - sent) <= 2
    assert converted <= captured / 3
    assert end["plain"].unconvertible == 0
    # A camera without detection or media decodes and converts nothing.
    assert end["off"].captured - start["off"].captured >= 60
    assert end["off"].converted == 0


def test_a_saturated_detector_gets_only_frames_it_will_run(saturated: Pipeline) -> None:
    """One request in flight per camera: when the detector is busy, a camera drops the frame
    before converting it, instead of sending it to be superseded by the next one."""
    deadline = time.monotonic() + 90
    ids = ("cam0", "cam1", "cam2")
    while time.monotonic() < deadline and min(counts(saturated, c).detected for c in ids) < 5:
        time.sleep(0.2)
    time.sleep(3.0)
    for camera in ids:
        frames = counts(saturated, camera)
        assert frames.detected >= 5
        assert frames.dropped_overload > 0  # saturated: frames refused before conversion
        assert abs(frames.converted - frames.sent) <= 2  # each converted frame was sent
    detector = detector_snapshot(saturated.status()["detectors"]["default"])
    assert detector is not None and detector.requests > 0
    assert detector.drops.get("overload", 0) == 0  # nothing it was sent was superseded
