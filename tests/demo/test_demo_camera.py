"""The demo camera does the job: on its own video, the built-in model, the tracker and its own
rule raise alerts that start and end, one per person at a time, with no flood.

Runs the real detector on the demo video's frames at the camera's detection rate: what
`make run` shows, without the processes around it (the browser test in tests/web covers those).
"""

from __future__ import annotations

from itertools import islice
from pathlib import Path

import av
import pytest

from atalaia.config.cameras import demo_camera
from atalaia.config.detectors import OnnxDetectorConfig
from atalaia.demo import (
    DEMO_FPS,
    DEMO_VIDEO_VERSION,
    HEIGHT,
    SWEEP_SECONDS,
    WIDTH,
    demo_video_path,
    ensure_demo_video,
    sweep_frames,
    write_video,
)
from atalaia.detect import build_detector
from atalaia.detect.detections import Detections
from atalaia.events.types import AlertEvent
from atalaia.rules import FrameSize, RuleEngine
from atalaia.track import ByteTracker


@pytest.fixture(scope="module")
def sweep_detections() -> tuple[tuple[str, ...], list[Detections]]:
    """The built-in model's detections on every frame of one sweep that the demo camera sends
    for detection. The video loops, so later sweeps see exactly these frames again."""
    camera = demo_camera()
    step = round(DEMO_FPS / camera.detect.fps)
    per_loop = round(SWEEP_SECONDS * DEMO_FPS)
    detector = build_detector(OnnxDetectorConfig(type="onnx"))
    try:
        found = [detector.detect([f])[0] for f in islice(sweep_frames(), 0, per_loop, step)]
        return detector.class_names, found
    finally:
        detector.close()


def run_demo_camera(
    sweep: tuple[tuple[str, ...], list[Detections]], seconds: float
) -> list[AlertEvent]:
    """The demo camera's tracker and rules over `seconds` of its looped video, at its
    detection rate; every alert event, in order."""
    camera = demo_camera()
    class_names, per_frame = sweep
    tracker = ByteTracker(camera.track)
    engine = RuleEngine(camera, class_names, FrameSize(WIDTH, HEIGHT))
    assert not engine.problems
    events: list[AlertEvent] = []
    ts = 1_000_000.0
    for i in range(round(seconds * camera.detect.fps)):
        found = per_frame[i % len(per_frame)]
        ts += 1 / camera.detect.fps
        events += engine.step(tracker.update(found, ts), found)
    return events


def test_alerts_start_and_end_one_person_at_a_time(
    sweep_detections: tuple[tuple[str, ...], list[Detections]],
) -> None:
    # One sweep and a little more: each person comes into the zone once and leaves it.
    events = run_demo_camera(sweep_detections, SWEEP_SECONDS + 2)
    kinds = [(e.type, e.after.track_id) for e in events if e.type != "update"]
    started = [e for e in events if e.type == "new"]
    ended = [e for e in events if e.type == "end"]
    assert len(started) == 2, kinds
    assert len(ended) == 2, kinds
    assert {e.after.track_id for e in started} == {e.after.track_id for e in ended}
    assert len({e.after.track_id for e in started}) == 2  # the woman, then the man
    for event in started:
        assert event.after.label == "person"
        assert event.after.rule == "person_on_path" and event.after.zone == "path"
    first, second = started
    first_end = next(e for e in ended if e.after.id == first.after.id)
    # Alerts last a few seconds and the zone is empty between them.
    for end in ended:
        assert end.after.end_time is not None
        assert 2 <= end.after.end_time - end.after.start_time <= 12, kinds
    assert first_end.after.end_time is not None
    assert first_end.after.end_time < second.after.start_time


def test_the_cooldown_keeps_each_person_to_about_one_alert_a_minute(
    sweep_detections: tuple[tuple[str, ...], list[Detections]],
) -> None:
    # Each person comes back into the zone every sweep (20 s); only once the rule's cooldown
    # has passed since their last alert ended does that raise a new one.
    events = run_demo_camera(sweep_detections, 3 * SWEEP_SECONDS + 4)
    started = [e for e in events if e.type == "new"]
    ended = {e.after.id: e.after for e in events if e.type == "end"}
    assert len(started) == 3, [(e.type, e.after.track_id) for e in events]
    first, _, again = started
    assert again.after.track_id == first.after.track_id  # the same person, tracked throughout
    end_time = ended[first.after.id].end_time
    assert end_time is not None
    assert again.after.start_time - end_time >= demo_camera().rules[0].cooldown


def test_a_demo_video_from_another_version_is_made_again(tmp_path: Path) -> None:
    path = demo_video_path(tmp_path)
    write_video(path, islice(sweep_frames(), 3), DEMO_FPS, comment="atalaia-demo older")
    ensure_demo_video(tmp_path)
    with av.open(str(path)) as container:
        assert container.metadata.get("comment") == DEMO_VIDEO_VERSION
        stream = container.streams.video[0]
        assert (stream.width, stream.height) == (640, 480)
        assert stream.frames == round(SWEEP_SECONDS * DEMO_FPS)
    made = path.stat().st_mtime_ns
    ensure_demo_video(tmp_path)  # the current version is kept as it is
    assert path.stat().st_mtime_ns == made
