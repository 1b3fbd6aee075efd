"""Video files and the demo camera: looping, real-time pacing, flat-out reading, the end."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from atalaia.capture import CameraReader, CameraState, Frame
from atalaia.config.cameras import SourceConfig, demo_camera


def reader_for(
    url: str, readers: list[CameraReader], data_dir: Path = Path("data"), **overrides: object
) -> CameraReader:
    values: dict[str, object] = {"url": url, "read_timeout": 1.0, "reconnect_initial": 0.2}
    values.update(overrides)
    reader = CameraReader(
        SourceConfig.model_validate(values),
        camera_id="file-test",
        data_dir=data_dir,
        buffer_size=4,
    )
    readers.append(reader)
    return reader.start()


def take(reader: CameraReader, count: int, within: float) -> list[Frame]:
    deadline = time.monotonic() + within
    frames: list[Frame] = []
    while len(frames) < count:
        if time.monotonic() > deadline:
            pytest.fail(f"only {len(frames)} of {count} frames in {within} s: {reader.status()}")
        frame = reader.read(timeout=0.5)
        if frame is not None:
            frames.append(frame)
    return frames


@pytest.mark.parametrize("backend", ["pyav", "opencv"])
def test_realtime_file_loops_at_its_own_frame_rate(
    clip_1s: Path, backend: str, readers: list[CameraReader]
) -> None:
    reader = reader_for(str(clip_1s), readers, loop=True, realtime=True, backend=backend)
    take(reader, 1, within=5)
    started = time.monotonic()
    frames = take(reader, 30, within=6)  # two passes through a 15-frame file
    elapsed = time.monotonic() - started
    assert 1.5 <= elapsed <= 3.0  # 30 frames at 15 fps: 2 s
    assert reader.status().frames_read > 15  # it looped
    assert [f.sequence for f in frames] == list(range(frames[0].sequence, frames[0].sequence + 30))
    assert reader.status().reconnects == 0  # looping is not a reconnect


def test_file_read_flat_out_delivers_every_frame_fast_then_stops(
    clip_4s: Path, readers: list[CameraReader]
) -> None:
    reader = reader_for(f"file://{clip_4s}", readers, loop=False, realtime=False)
    started = time.monotonic()
    frames = list(reader.frames())
    elapsed = time.monotonic() - started
    assert len(frames) == 60
    assert [f.sequence for f in frames] == list(range(1, 61))
    assert elapsed < 2.0  # real time would take 4 s
    status = reader.status()
    assert status.state is CameraState.STOPPED and status.last_error is None


def test_target_fps_thins_a_realtime_file(clip_1s: Path, readers: list[CameraReader]) -> None:
    config = SourceConfig(url=str(clip_1s), loop=True, realtime=True, read_timeout=1.0)
    reader = CameraReader(config, target_fps=5, buffer_size=4)
    readers.append(reader.start())
    take(reader, 1, within=5)
    started = time.monotonic()
    take(reader, 10, within=5)
    elapsed = time.monotonic() - started
    assert 1.4 <= elapsed <= 3.0  # 10 frames at 5 fps: 2 s
    assert reader.status().dropped_by_rate >= 15


def test_demo_camera_plays_the_generated_demo_video(
    tmp_path_factory: pytest.TempPathFactory, readers: list[CameraReader]
) -> None:
    data_dir = tmp_path_factory.mktemp("data")
    reader = CameraReader.for_camera(demo_camera(), data_dir, default_target_fps=10)
    readers.append(reader.start())
    frames = take(reader, 5, within=30)  # the first use encodes the video
    assert frames[0].image.shape == (480, 640, 3)
    assert (data_dir / "demo" / "people.mp4").exists()
    status = reader.status()
    assert status.state is CameraState.ONLINE and status.camera_id == "demo"
    assert reader.target_fps == 10


def test_an_offer_filter_keeps_the_frames_the_consumer_will_not_use(
    clip_4s: Path, readers: list[CameraReader]
) -> None:
    """Frames the offer filter turns down are counted as offered but never handed over; the
    ones it wants come with what it said they are for."""
    asked: list[int] = []

    def every_third() -> object | None:
        asked.append(len(asked))
        return "detect" if len(asked) % 3 == 0 else None

    config = SourceConfig(url=f"file://{clip_4s}", loop=False, realtime=False, read_timeout=1.0)
    reader = CameraReader(config, buffer_size=4, offer=every_third)
    readers.append(reader.start())
    frames = list(reader.frames())
    assert len(asked) == 60  # asked about every frame, on the reader's thread
    assert [f.sequence for f in frames] == list(range(3, 61, 3))
    assert {f.purpose for f in frames} == {"detect"}
    status = reader.status()
    assert status.frames_delivered == 60 and status.dropped_unconsumed == 0
