"""Clips encode from any history: spacing from 0.05 s to 0.5 s, jitter, repeated and
out-of-order timestamps. Every file is checked with `ffprobe` (the tool a user would reach for),
not with the library that wrote it: frames counted by decoding, duration, and presentation times
that follow the capture times.

The codec used to run in a 1/clip_fps time base, so two frames closer than one clip period
collapsed onto one timestamp and the muxer refused the clip ("non monotonically increasing
dts"); most alert clips of an RTSP camera failed that way.
"""

from __future__ import annotations

import itertools
import json
import logging
import random
import shutil
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from atalaia.config.media import MediaConfig
from atalaia.media import ClipRecorder, EncodedFrame, encode_clip, encode_jpeg
from tests.media.test_clips import frame, wait_for

pytestmark = pytest.mark.skipif(shutil.which("ffprobe") is None, reason="needs ffprobe (ffmpeg)")

T0 = 1_780_000_000.0  # wall-clock capture times, as cameras stamp them


def ffprobe(path: Path) -> dict[str, Any]:
    """Frames decoded (`-count_frames`), the container's duration and every frame's time."""
    result = subprocess.run(
        [
            "ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0",
            "-show_entries", "stream=nb_read_frames,codec_name,width,height:format=duration"
            ":frame=pts_time",
            "-of", "json", str(path),
        ],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    stream = data["streams"][0]
    return {
        "frames": int(stream["nb_read_frames"]),
        "codec": stream["codec_name"],
        "size": (stream["width"], stream["height"]),
        "duration": float(data["format"]["duration"]),
        "times": [float(f["pts_time"]) for f in data.get("frames", [])],
    }


@pytest.fixture(scope="module")
def jpegs() -> list[bytes]:
    return [encode_jpeg(frame(i), 75) for i in range(40)]


def history(times: list[float], jpegs: list[bytes]) -> list[EncodedFrame]:
    return [EncodedFrame(ts, jpegs[i % len(jpegs)]) for i, ts in enumerate(times)]


def spaced(step: float, n: int = 25) -> list[float]:
    return [T0 + i * step for i in range(n)]


def jittered(step: float, jitter: float, seed: int, n: int = 25) -> list[float]:
    rng = random.Random(seed)
    return [T0 + i * step + rng.uniform(-jitter, jitter) for i in range(n)]


def repeated(step: float, n: int = 25) -> list[float]:
    """Every third timestamp given twice, as a sampler that saw no new frame would."""
    times: list[float] = []
    for i in range(n):
        times.append(T0 + i * step)
        if i % 3 == 1:
            times.append(T0 + i * step)
    return times


HISTORIES = {
    **{f"spacing-{s}": spaced(s) for s in (0.05, 0.1, 0.15, 0.199, 0.2, 0.25, 0.33, 0.5)},
    **{f"jitter-{s}": jittered(s, s * 0.45, seed=i) for i, s in enumerate((0.05, 0.1, 0.2, 0.5))},
    "rtsp-like": [T0 + i * 0.2 + (0.0 if i % 2 else -0.004) for i in range(25)],  # 0.192/0.208
    "repeated-0.1": repeated(0.1),
    "repeated-0.2": repeated(0.2),
    "uneven-0.05-to-0.5": list(T0 + np.cumsum(np.linspace(0.05, 0.5, 20))),
}


@pytest.mark.parametrize("fps", [5.0, 2.0, 15.0])
@pytest.mark.parametrize("name", sorted(HISTORIES))
def test_every_history_encodes_to_a_clip_that_plays_at_capture_speed(
    name: str, fps: float, jpegs: list[bytes], tmp_path: Path
) -> None:
    times = HISTORIES[name]
    path = tmp_path / f"{name}.mp4"
    info = encode_clip(history(times, jpegs), path, fps, 28)

    probed = ffprobe(path)
    assert probed["codec"] == "h264" and probed["size"] == (320, 240)
    assert probed["frames"] == len(times) == info.frames
    shown = probed["times"]
    assert all(b > a for a, b in itertools.pairwise(shown)), "pts strictly increase"
    # Presentation times follow capture times (a repeated one lands a tick after its twin).
    expected = [ts - times[0] for ts in times]
    assert shown == pytest.approx(expected, abs=1e-3)
    # Plays for as long as it was captured, plus one frame period for the last frame.
    assert probed["duration"] == pytest.approx(expected[-1] + 1 / fps, abs=0.02)
    assert info.duration == pytest.approx(probed["duration"], abs=0.02)


def test_out_of_order_history_is_encoded_in_capture_order(
    jpegs: list[bytes], tmp_path: Path
) -> None:
    times = spaced(0.1, 20)
    shuffled = times[:]
    random.Random(7).shuffle(shuffled)
    path = tmp_path / "shuffled.mp4"
    encode_clip(history(shuffled, jpegs), path, 5.0, 28)
    probed = ffprobe(path)
    assert probed["frames"] == 20
    assert probed["times"] == pytest.approx([t - times[0] for t in times], abs=1e-3)


def test_the_reported_reproduction_encodes(jpegs: list[bytes], tmp_path: Path) -> None:
    """The issue's case: four frames 0.1 s apart at a 5 fps clip rate."""
    path = tmp_path / "x.mp4"
    encode_clip([EncodedFrame(t, jpegs[0]) for t in (0, 0.1, 0.2, 0.3)], path, 5.0, 28)
    probed = ffprobe(path)
    assert probed["frames"] == 4 and probed["duration"] == pytest.approx(0.5, abs=0.02)


def test_a_failed_clip_is_counted_logged_and_shown_in_the_stats(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A clip that cannot be written is never silent: counted, logged with its reason, and the
    reason is in the camera's stats; the encoder goes on with the next clip."""
    clips = ClipRecorder(MediaConfig(pre_roll=1.0, post_roll=1.0, clip_fps=5.0)).start()
    try:
        for i in range(6):
            clips.history.add(T0 + i * 0.2, b"not a jpeg")
        with caplog.at_level(logging.ERROR, logger="atalaia.media.clip_recorder"):
            clips.request("broken", T0 + 0.6, tmp_path / "broken.mp4")
            clips.poll(now=T0 + 10)
            assert wait_for(lambda: clips.stats()["clips_failed"] == 1)
        stats = clips.stats()
        assert stats["clips_requested"] == 1 and stats["clips_written"] == 0
        assert "cannot decode" in (stats["clip_last_error"] or "")
        assert any(
            "broken" in r.getMessage() and "cannot decode" in r.getMessage() for r in caplog.records
        )
        assert not (tmp_path / "broken.mp4").exists()
        assert not list(tmp_path.glob(".*.mp4")), "no temporary file is left behind"

        for i in range(10, 20):  # real frames at an uneven rate: the next clip is written
            clips.add_frame(T0 + i * 0.13, frame(i))
        clips.request("good", T0 + 2.3, tmp_path / "good.mp4")
        clips.poll(now=T0 + 10)
        assert wait_for(lambda: clips.stats()["clips_written"] == 1)
        assert ffprobe(tmp_path / "good.mp4")["frames"] >= 5
        assert clips.stats()["clips_failed"] == 1 and clips.stats()["clips_requested"] == 2
    finally:
        clips.close()
