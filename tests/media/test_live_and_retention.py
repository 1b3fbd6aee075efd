"""The live frame (overlay drawn, written atomically, at a capped rate) and media retention."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import cv2
import numpy as np

from atalaia.config import AtalaiaConfig
from atalaia.config.cameras import ZoneConfig
from atalaia.config.media import MediaConfig
from atalaia.events.types import AlertState
from atalaia.media import (
    ClipRecorder,
    LiveFrameWriter,
    MediaPaths,
    MediaSampler,
    OverlayState,
    cleanup_for_config,
    cleanup_media,
    draw_overlay,
    live_frame_path,
    media_root,
)
from atalaia.media.live import WATCH_TTL_S
from atalaia.rules import resolve_zone
from atalaia.track import Track

GREY = np.full((240, 320, 3), 128, np.uint8)


def person(track_id: int = 7) -> Track:
    return Track(track_id, 0, "person", (50, 60, 110, 200), (100, 0, 0, 0), 0.9, 0.9, "tracked",
                 0.0, 10.0, 10.0, 5)  # fmt: skip


def alert_on(track_id: int) -> AlertState:
    return AlertState("a1", "cam", "person", "in_dock", "object_in_zone", "dock", 0.9, 0.9,
                      (50, 60, 60, 140), track_id, 9.0)  # fmt: skip


def test_overlay_draws_zones_tracks_and_alerts_on_a_copy() -> None:
    zone = resolve_zone(ZoneConfig(name="dock", points=[(10, 10), (300, 10), (300, 230)]), 320, 240)
    state = OverlayState(tracks=(person(),), zones=(zone,), alerts=(alert_on(7),))
    out = draw_overlay(GREY, state, ts=10.0)
    assert (GREY == 128).all()  # the source frame is untouched
    assert (out[60:200, 50] == (0, 0, 255)).all(axis=-1).any()  # the alert's red box edge
    moved = draw_overlay(GREY, OverlayState(tracks=(person(),)), ts=10.5)
    # Drawn where the track is expected half a second later: 50 px to the right.
    assert (moved[100, 100] != 128).any() and (moved[100:150, 50] == 128).all()


def test_live_writer_writes_a_whole_jpeg_atomically(tmp_path: Path) -> None:
    path = live_frame_path(tmp_path, "cam")
    writer = LiveFrameWriter(path, quality=70)
    writer.write(GREY, OverlayState(tracks=(person(),)), 10.0)
    image = cv2.imread(str(path))
    assert image is not None and image.shape == (240, 320, 3)
    assert sorted(p.name for p in path.parent.iterdir()) == ["live.jpg"]  # no temp file left


def test_sampler_feeds_history_and_live_at_their_own_rates(tmp_path: Path) -> None:
    media = MediaConfig(clip_fps=5, live_fps=1)
    clips = ClipRecorder(media)
    reads: list[int] = []

    def source() -> tuple[float, np.ndarray]:
        reads.append(1)
        return 100.0 + 0.2 * len(reads), GREY

    live = LiveFrameWriter(MediaPaths(tmp_path, "cam").live, 70)
    sampler = MediaSampler(source, OverlayState, clips=clips, clip_fps=5, live=live, live_fps=1,
                           stopping=threading.Event())  # fmt: skip
    for i in range(50):  # 5 s of ticks every 0.1 s
        sampler.tick(now=1000.0 + i * 0.1)
    assert len(clips.history) == 25 and live.written == 5
    assert len(reads) == 25  # one ring read serves both when both are due


def test_a_frame_already_in_the_history_is_not_taken_again(tmp_path: Path) -> None:
    """The camera refreshes the ring's newest frame for the sampler only a few times a
    second: a tick that finds the frame it took last time neither encodes it again nor waits
    a whole period; it tries again on the next tick."""
    clips = ClipRecorder(MediaConfig(clip_fps=5))
    ticks: list[int] = []

    def source() -> tuple[float, np.ndarray]:
        return 100.0 + 0.3 * (ticks[-1] // 3), GREY  # a new frame every third tick

    sampler = MediaSampler(source, OverlayState, clips=clips, clip_fps=5, live=None, live_fps=1,
                           stopping=threading.Event())  # fmt: skip
    for tick in range(30):  # 3 s of ticks every 0.1 s
        ticks.append(tick)
        sampler.tick(now=1000.0 + tick * 0.1)
    timestamps = [f.ts for f in clips.history.between(0.0, 1e9)]
    assert len(timestamps) == 10 and timestamps == sorted(set(timestamps))  # each frame once
    assert clips.frames_encoded == 10  # and a repeated one is not encoded for nothing


def test_live_frame_is_drawn_only_while_someone_watches(tmp_path: Path) -> None:
    """`live_when: watched`: nothing read, drawn or encoded until the API touches the watch
    file, frames while the touch is recent, none again once it is older than the TTL."""
    paths = MediaPaths(tmp_path, "cam")
    reads: list[int] = []

    def source() -> tuple[float, np.ndarray]:
        reads.append(1)
        return 100.0, GREY

    live = LiveFrameWriter(paths.live, 70, watch=paths.live_watch)
    sampler = MediaSampler(source, OverlayState, clips=None, clip_fps=5, live=live, live_fps=2,
                           stopping=threading.Event())  # fmt: skip
    for i in range(10):  # 2.5 s, nobody watching
        sampler.tick(now=1000.0 + i * 0.25)
    assert (live.written, len(reads), live.unwatched) == (0, 0, 5)
    assert not paths.live.exists()
    paths.live_watch.parent.mkdir(parents=True, exist_ok=True)
    paths.live_watch.touch()  # what serving the frame does
    for i in range(10, 20):
        sampler.tick(now=1000.0 + i * 0.25)
    # The camera's frame never changed: written once, then once a second; a due tick that
    # finds the frame it wrote asks again on the next tick (as for the clip history).
    assert live.written == 3 and len(reads) == 7 and paths.live.exists()
    gone = paths.live_watch.stat().st_mtime - WATCH_TTL_S - 1
    os.utime(paths.live_watch, (gone, gone))
    for i in range(20, 30):
        sampler.tick(now=1000.0 + i * 0.25)
    assert live.written == 3 and live.unwatched == 10


def test_live_frames_above_the_cameras_rate_are_not_written_twice(tmp_path: Path) -> None:
    """A 15 fps camera with `live_fps` 20: each of its frames written once, no repeats (they
    showed a viewer 18.5 frames a second from a 15 fps camera, each one encoded for nothing);
    a camera whose frame stops changing still has its frame written once a second."""
    live = LiveFrameWriter(MediaPaths(tmp_path, "cam").live, 70)
    clock = {"now": 1000.0}

    def source() -> tuple[float, np.ndarray]:
        now = clock["now"]
        newest = min(now, 1003.0)  # the camera stops after 3 s
        return 100.0 + int((newest - 1000.0) * 15) / 15, GREY

    sampler = MediaSampler(source, OverlayState, clips=None, clip_fps=5, live=live, live_fps=20,
                           stopping=threading.Event())  # fmt: skip
    for i in range(500):  # 5 s of ticks every 10 ms
        clock["now"] = 1000.0 + i * 0.01
        sampler.tick(now=clock["now"])
    assert 44 <= live.written - 2 <= 46, live.written  # 45 frames in 3 s, then 2 repeats


def touch(path: Path, size: int, age_days: float, now: float) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * size)
    t = now - age_days * 86400
    os.utime(path, (t, t))
    return path


def test_retention_by_age_then_by_budget_oldest_first(tmp_path: Path) -> None:
    now = 2_000_000_000.0
    root = media_root(tmp_path)
    old = touch(root / "cam" / "snapshots" / "2033-05-01" / "old.jpg", 100, 20, now)
    a = touch(root / "cam" / "clips" / "2033-05-10" / "a.mp4", 1000, 5, now)
    b = touch(root / "cam2" / "snapshots" / "2033-05-12" / "b.jpg", 1000, 3, now)
    c = touch(root / "cam" / "clips" / "2033-05-14" / "c.mp4", 1000, 1, now)
    live = touch(root / "cam" / "live.jpg", 5000, 30, now)
    stale_tmp = touch(root / "cam" / "clips" / "2033-05-14" / ".c.x.mp4", 10, 0.5, now)
    report = cleanup_media(root, max_age_days=14, disk_budget_bytes=2000, now=now)
    assert not old.exists() and not stale_tmp.exists()  # too old; a killed writer's leftover
    assert not a.exists() and b.exists() and c.exists()  # oldest goes first to fit 2000 bytes
    assert live.exists()  # never touched
    assert report.removed_files == 3 and report.kept_bytes == 2000
    assert not (root / "cam" / "snapshots" / "2033-05-01").exists()  # empty day folder gone
    assert (root / "cam" / "snapshots").is_dir()


def test_retention_keeps_everything_within_limits(tmp_path: Path) -> None:
    now = 2_000_000_000.0
    root = media_root(tmp_path)
    kept = touch(root / "cam" / "snapshots" / "d" / "k.jpg", 100, 1, now)
    report = cleanup_media(root, max_age_days=14, disk_budget_bytes=10_000, now=now)
    assert kept.exists() and report.removed_files == 0 and report.kept_files == 1
    assert cleanup_media(tmp_path / "nothing", max_age_days=1, disk_budget_bytes=1).kept_files == 0


def test_cleanup_for_config_uses_the_media_settings(tmp_path: Path) -> None:
    config = AtalaiaConfig(data_dir=tmp_path, media=MediaConfig(retention_days=1))
    old = touch(media_root(tmp_path) / "cam" / "clips" / "d" / "x.mp4", 10, 2, 2e9)
    os.utime(old, (0, 0))
    assert cleanup_for_config(config).removed_files == 1 and not old.exists()
