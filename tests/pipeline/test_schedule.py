import numpy as np

from atalaia.config.cameras import MotionConfig
from atalaia.pipeline.schedule import DetectionSchedule, MotionGate


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
