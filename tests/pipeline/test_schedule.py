import numpy as np

from atalaia.config.cameras import MotionConfig
from atalaia.pipeline.schedule import DetectionSchedule, MotionGate, spread_phase


def test_schedule_rate_and_no_burst_after_stall() -> None:
    s = DetectionSchedule(fps=5)
    times = [i / 30 for i in range(60)]  # 2 s of 30 fps
    assert sum(s.due(t) for t in times) == 10
    assert s.due(100.0) and not s.due(100.01)  # after a stall: one, not a burst


def frame(value: int) -> np.ndarray:
    return np.full((240, 320, 3), value, np.uint8)


def test_motion_gate_still_scene_skips_moving_scene_passes() -> None:
    gate = MotionGate(MotionConfig(enabled=True, threshold=25, min_area=0.01, keepalive_s=0))
    still = frame(100)
    assert gate.moved(still, 0.0)  # first frame always looked at
    assert not gate.moved(still.copy(), 0.2)
    moving = still.copy()
    moving[50:150, 50:200] = 250
    assert gate.moved(moving, 0.4) and gate.changed_fraction > 0.1
    noise = moving.copy()
    noise[0, 0] = 0  # one pixel: below min_area
    assert not gate.moved(noise, 0.6)


def test_motion_gate_keepalive_and_disabled() -> None:
    gate = MotionGate(MotionConfig(enabled=True, keepalive_s=1.0))
    assert gate.moved(frame(1), 0.0) and not gate.moved(frame(1), 0.5)
    assert gate.moved(frame(1), 1.1)  # keepalive
    assert MotionGate(MotionConfig(enabled=False)).moved(frame(1), 0.0)


def test_phases_spread_the_slots_of_cameras_over_the_period() -> None:
    """Eight cameras at 5 fps, frames at the same 30 fps instants: with spread phases their
    requests fall in different frames of each period instead of all in the same one."""
    schedules = [DetectionSchedule(fps=5, phase=spread_phase(i)) for i in range(8)]
    assert all(schedule.due(0.0) for schedule in schedules)  # a first frame is due at once
    asked: dict[float, int] = {}
    for t in [i / 30 for i in range(1, 301)]:  # the next 10 s
        for schedule in schedules:
            if schedule.due(t):
                asked[t] = asked.get(t, 0) + 1
    assert 8 * 49 <= sum(asked.values()) <= 8 * 51  # each camera still 5 a second (+-1 slot)
    assert max(asked.values()) <= 2  # at most two cameras ask at one frame (one phase: 8)
    together = DetectionSchedule(fps=5), DetectionSchedule(fps=5)
    assert [s.due(t) for s in together for t in (0.0, 0.2)] == [True, True, True, True]


def test_spread_phases_are_stable_and_in_the_period() -> None:
    phases = [spread_phase(i) for i in range(20)]
    assert phases[:3] == [spread_phase(0), spread_phase(1), spread_phase(2)]
    assert all(0.0 <= p < 1.0 for p in phases) and len(set(phases)) == 20
