"""Frame history and clips: bounded memory, pre-roll + post-roll, real PyAV decoding."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from atalaia.config.media import MediaConfig
from atalaia.media import ClipRecorder, FrameHistory, encode_jpeg


def frame(i: int, width: int = 320, height: int = 240) -> np.ndarray:
    """A frame whose content tells its index (a moving bar and a grey level)."""
    image = np.full((height, width, 3), (i * 7) % 256, np.uint8)
    x = (i * 5) % (width - 20)
    image[:, x : x + 20] = (0, 0, 255)
    return image


def wait_for(cond: Callable[[], bool], timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.02)
    return cond()


def probe(path: Path) -> tuple[int, float, tuple[int, int]]:
    """Frames decoded, duration in seconds (last pts - first pts + one frame), size."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        times = []
        size = (0, 0)
        for f in container.decode(stream):
            times.append(float(f.pts * f.time_base))
            size = (f.width, f.height)
    step = (times[-1] - times[0]) / max(1, len(times) - 1)
    return len(times), times[-1] - times[0] + step, size


def test_history_is_bounded_by_age_and_by_bytes() -> None:
    history = FrameHistory(max_seconds=2.0, max_bytes=10_000)
    for i in range(50):
        history.add(100 + i * 0.2, b"x" * 100)
    assert len(history) == 11 and history.latest_ts == pytest.approx(109.8)
    assert [f.ts for f in history.between(109.0, 109.4)] == pytest.approx([109.0, 109.2, 109.4])
    history.add(109.8, b"y")  # not newer: ignored
    assert len(history) == 11
    small = FrameHistory(max_seconds=60, max_bytes=1000)
    for i in range(20):
        small.add(i, b"z" * 300)
    assert small.nbytes <= 1000 and len(small) == 3


def test_clip_has_pre_roll_and_post_roll_and_decodes(tmp_path: Path) -> None:
    config = MediaConfig(pre_roll=2.0, post_roll=3.0, clip_fps=5.0)
    clips = ClipRecorder(config).start()
    t0 = 1000.0
    for i in range(20):  # 4 s of history before the alert
        clips.add_frame(t0 + i * 0.2, frame(i))
    start = t0 + 19 * 0.2
    path = tmp_path / "clips" / "a.mp4"
    clips.request("a", start, path)
    for i in range(20, 34):  # 2.8 s after: post-roll not complete yet
        clips.add_frame(t0 + i * 0.2, frame(i))
        clips.poll(now=0.0)
    assert clips.stats()["clips_waiting"] == 1 and not path.exists()
    for i in range(34, 40):
        clips.add_frame(t0 + i * 0.2, frame(i))
        clips.poll(now=0.0)
    assert wait_for(path.exists)
    clips.close()
    count, duration, size = probe(path)
    assert count == 26  # frames from start-2 s to start+3 s at 5 fps
    assert duration == pytest.approx(5.2, abs=0.3) and size == (320, 240)
    assert clips.stats()["clips_written"] == 1


def test_clip_of_a_stalled_camera_is_written_after_a_grace_period(tmp_path: Path) -> None:
    config = MediaConfig(pre_roll=1.0, post_roll=5.0, clip_fps=5.0)
    clips = ClipRecorder(config).start()
    for i in range(10):
        clips.add_frame(500 + i * 0.2, frame(i))
    path = tmp_path / "b.mp4"
    clips.request("b", 501.8, path)
    clips.poll(now=501.9)  # the camera stopped sending; post-roll can never complete
    assert not path.exists()
    clips.poll(now=501.8 + 5 + 3.1)  # post-roll end + grace
    assert wait_for(path.exists)
    clips.close()
    assert probe(path)[0] == 6


def test_history_frames_are_scaled_down_to_the_clip_width(tmp_path: Path) -> None:
    config = MediaConfig(pre_roll=0.0, post_roll=0.5, clip_max_width=160)
    clips = ClipRecorder(config).start()
    for i in range(5):
        clips.add_frame(10 + i * 0.2, frame(i, 641, 481))
    clips.request("c", 10.0, tmp_path / "c.mp4")
    clips.poll(now=0.0)
    assert wait_for((tmp_path / "c.mp4").exists)
    clips.close()
    assert probe(tmp_path / "c.mp4")[2] == (160, 120)  # scaled, and even for yuv420p
    jpeg = encode_jpeg(frame(0), 75)
    assert cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR).shape == (240, 320, 3)


def test_close_writes_clips_still_waiting(tmp_path: Path) -> None:
    clips = ClipRecorder(MediaConfig(pre_roll=1.0, post_roll=10.0)).start()
    for i in range(8):
        clips.add_frame(i * 0.2, frame(i))
    clips.request("d", 1.0, tmp_path / "d.mp4")
    clips.close()
    assert (tmp_path / "d.mp4").exists() and probe(tmp_path / "d.mp4")[0] == 8


def test_a_burst_of_alerts_gets_every_clip_not_a_skip(tmp_path: Path) -> None:
    """More clips due at once than the encoder queue holds (a group walks in): the rest wait
    for room instead of being skipped."""
    clips = ClipRecorder(MediaConfig(pre_roll=0.4, post_roll=0.6, clip_fps=5.0)).start()
    for i in range(10):
        clips.add_frame(50 + i * 0.2, frame(i))
    paths = [tmp_path / f"burst-{n}.mp4" for n in range(20)]
    for n, path in enumerate(paths):
        clips.request(f"burst-{n}", 50.8, path)
    assert wait_for(lambda: clips.poll(now=0.0) or clips.stats()["clips_written"] == 20)
    clips.close()
    stats = clips.stats()
    assert stats["clips_skipped"] == 0 and stats["clips_failed"] == 0
    assert all(probe(p)[0] == 6 for p in paths)
