"""Real-time pacing of files: frames wait for their timestamps; loops and lag re-anchor."""

from __future__ import annotations

import pytest

from atalaia.capture.pacing import Pacer


def test_frames_wait_for_their_presentation_time() -> None:
    pacer = Pacer(fallback_fps=10)
    assert pacer.delay(0.0, now=100.0) == 0.0
    assert pacer.delay(0.1, now=100.0) == pytest.approx(0.1)
    assert pacer.delay(0.2, now=100.15) == pytest.approx(0.05)


def test_a_loop_back_to_the_start_continues_one_frame_later() -> None:
    pacer = Pacer(fallback_fps=10)
    pacer.delay(0.0, now=0.0)
    pacer.delay(0.9, now=0.9)
    # The file restarted: pts 0 again; it plays one frame interval after the last frame.
    assert pacer.delay(0.0, now=0.9) == pytest.approx(0.1)
    assert pacer.delay(0.1, now=1.0) == pytest.approx(0.1)


def test_falling_far_behind_re_anchors_instead_of_bursting() -> None:
    pacer = Pacer(fallback_fps=10, max_lag=0.5)
    pacer.delay(0.0, now=0.0)
    assert pacer.delay(0.1, now=2.0) == 0.0  # 1.9 s late: re-anchored at now
    assert pacer.delay(0.2, now=2.0) == pytest.approx(0.1)


def test_missing_timestamps_use_the_nominal_rate() -> None:
    pacer = Pacer(fallback_fps=20)
    assert pacer.delay(None, now=5.0) == 0.0
    assert pacer.delay(None, now=5.0) == pytest.approx(0.05)
