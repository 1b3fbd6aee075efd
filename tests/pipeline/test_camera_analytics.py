"""CameraAnalytics inside a camera process: a real frame ring, hand-made detections, the real
recorder and clip recorder. Problems found at start are reported by name; alerts come with a
snapshot of their frame and a clip request."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from atalaia.config.cameras import CameraConfig
from atalaia.config.media import MediaConfig
from atalaia.detect import Detections, merge_detections
from atalaia.frames import FrameRing, new_run_id, ring_name
from atalaia.media import ClipRecorder
from atalaia.pipeline.alert_recorder import AlertRecorder
from atalaia.pipeline.camera_analytics import CameraAnalytics
from atalaia.storage import Database
from tests.track.support import box_at, dets


@pytest.fixture
def ring() -> Iterator[FrameRing]:
    ring = FrameRing.create(
        ring_name("cam", new_run_id()), "cam", slots=8, slot_bytes=640 * 480 * 3
    )
    yield ring
    ring.close()


def camera(**extra: Any) -> CameraConfig:
    return CameraConfig.model_validate(
        {"id": "cam", "source": "demo://people", "track": {"min_hits": 1}, **extra}
    )


def write_frames(ring: FrameRing, n: int, t0: float) -> list[Any]:
    refs = []
    for i in range(n):
        image = np.full((480, 640, 3), 40 + i, np.uint8)
        refs.append(ring.write(image, t0 + i * 0.2))
    return refs


def test_zone_outside_the_frame_and_missing_equipment_are_named_in_the_stats(
    ring: FrameRing, tmp_path: Path
) -> None:
    cam = camera(
        zones=[{"name": "far_dock", "points": [[100, 100], [2000, 100], [2000, 900]]}],
        rules=[
            {"type": "object_in_zone", "zone": "far_dock"},
            {"type": "ppe_missing", "required": ["gloves"]},
            {"type": "object_in_zone", "name": "anyone"},
        ],
    )
    analytics = CameraAnalytics(cam, ring, data_dir=tmp_path, media=MediaConfig())
    (ref,) = write_frames(ring, 1, 100.0)
    analytics.on_detections(ref, dets([box_at(10, 10)]))
    problems = analytics.stats().problems
    assert any("zone 'far_dock'" in p and "640x480" in p for p in problems)
    assert any("rule 'ppe_missing' is off" in p and "'gloves'" in p for p in problems)
    assert analytics.stats().rules == 1  # "anyone" still runs


def test_alerts_are_recorded_with_snapshot_and_clip(ring: FrameRing, tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'a.db'}")
    db.migrate()
    announced: list[str] = []
    recorder = AlertRecorder(db, ["database"], lambda e: announced.append(e.type)).start()
    media = MediaConfig(pre_roll=0.5, post_roll=0.5)
    clips = ClipRecorder(media).start()
    analytics = CameraAnalytics(
        camera(rules=[{"type": "object_in_zone", "name": "anyone"}]),
        ring,
        data_dir=tmp_path,
        media=media,
        recorder=recorder,
        clips=clips,
    )
    refs = write_frames(ring, 6, 100.0)
    for ref in refs[:3]:
        clips.add_frame(ref.ts, ring.read(ref))  # what the media sampler does
    events = analytics.on_detections(refs[2], dets([box_at(100, 100)]))
    assert [e.type for e in events] == ["new"]
    alert = events[0].after
    assert alert.snapshot_path and alert.clip_path
    assert analytics.overlay().alerts[0].id == alert.id
    assert analytics.stats().track_table[0].track_id == alert.track_id
    for ref in refs[3:]:
        clips.add_frame(ref.ts, ring.read(ref))
    clips.poll(time.time())
    analytics.close(ts=101.5)  # the camera stops: the alert ends
    clips.close()
    recorder.close()
    assert announced == ["new", "end"]
    snapshot = cv2.imread(alert.snapshot_path)
    assert snapshot is not None and snapshot.shape == (480, 640, 3)
    # The snapshot is the frame the detection was made on (grey level 42), box drawn on it.
    assert int(np.median(snapshot[300:400, 300:400])) in range(40, 45)
    assert Path(alert.clip_path).stat().st_size > 0
    assert analytics.stats().alert_events == {"new": 1, "end": 1}
    db.dispose()


def test_a_frame_missing_a_model_is_tracked_but_rules_needing_that_model_hold(
    ring: FrameRing, tmp_path: Path
) -> None:
    cam = camera(
        rules=[
            {"type": "object_in_zone", "name": "anyone"},
            {"type": "object_in_zone", "name": "helmets", "labels": ["helmet"]},
            {"type": "ppe_missing", "name": "no_helmet", "required": ["helmet"], "frames": 1},
        ]
    )
    analytics = CameraAnalytics(cam, ring, data_dir=tmp_path, media=MediaConfig())
    person = dets([box_at(100, 100)], classes=("person", "car"))
    refs = write_frames(ring, 3, time.time())
    # The PPE model did not answer: its classes are there, its boxes are not.
    partial = merge_detections([("default", person), ("ppe", Detections.empty(("helmet",)))])
    events = analytics.on_detections(refs[0], partial, missing=frozenset({"ppe"}))
    assert [(e.type, e.after.rule) for e in events] == [("new", "anyone")]
    assert analytics.held_frames == 1 and analytics.stats().tracks == 1
    # Both answered and there is no helmet: now the PPE rule may judge.
    events = analytics.on_detections(refs[1], partial)
    assert [(e.type, e.after.rule) for e in events] == [("new", "no_helmet")]
    assert analytics.held_frames == 1


def test_rules_wait_for_every_model_before_they_start(
    ring: FrameRing, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A model that has not answered yet has no class table: rules built without it would
    switch the PPE rule off with an error, then restart when it answers. They wait instead."""
    cam = camera(
        detect={"detectors": ["default", "ppe"]},
        rules=[
            {"type": "object_in_zone", "name": "anyone"},
            {"type": "ppe_missing", "name": "no_helmet", "required": ["helmet"], "frames": 1},
        ],
    )
    analytics = CameraAnalytics(cam, ring, data_dir=tmp_path, media=MediaConfig())
    person = dets([box_at(100, 100)], classes=("person", "car"))
    refs = write_frames(ring, 3, time.time())
    only_default = merge_detections([("default", person)])
    with caplog.at_level("INFO"):
        assert analytics.on_detections(refs[0], only_default, missing=frozenset({"ppe"})) == []
    assert analytics.engine is None and analytics.problems == []
    assert analytics.stats().tracks == 1  # tracked all the same
    assert not [r for r in caplog.records if r.levelname == "ERROR"]
    assert "wait for the class table of model(s) ppe" in caplog.text
    both = merge_detections([("default", person), ("ppe", Detections.empty(("helmet",)))])
    events = analytics.on_detections(refs[1], both)
    assert sorted(e.after.rule for e in events) == ["anyone", "no_helmet"]
    assert analytics.problems == []
