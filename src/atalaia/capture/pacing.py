"""Real-time playback of files: hold each frame back until its presentation time.

A file used as a demo or benchmark camera should look like a camera: frames at the file's own
rate, not as fast as the decoder goes. The pacer anchors the first frame's timestamp to the
wall clock and computes how long each later frame must wait. It re-anchors when timestamps jump
backwards (the file looped) or far forwards, and when playback has fallen more than `max_lag`
behind (a slow machine), so it never releases a burst of overdue frames to catch up.
"""

from __future__ import annotations


class Pacer:
    """Computes the wait before each frame of a file played in real time."""

    def __init__(self, fallback_fps: float | None = None, max_lag: float = 0.5) -> None:
        # Files whose frames carry no timestamps are paced at the container's nominal rate,
        # or at 25 fps, the most common rate, when it says none.
        self._interval = 1.0 / fallback_fps if fallback_fps and fallback_fps > 0 else 0.04
        self._max_lag = max_lag
        self._anchor_clock = 0.0
        self._anchor_pts = 0.0
        self._last_pts: float | None = None

    def delay(self, pts: float | None, now: float) -> float:
        """Seconds to wait (monotonic clock `now`) before releasing the frame shown at `pts`."""
        if pts is None:
            pts = 0.0 if self._last_pts is None else self._last_pts + self._interval
        last = self._last_pts
        self._last_pts = pts
        if last is None or pts < last or pts - last > 10 * self._interval + 1.0:
            # First frame, a loop back to the start, or a jump: start a new timeline one frame
            # after now, so a looped file keeps its rhythm across the seam.
            self._anchor_clock = now if last is None else now + self._interval
            self._anchor_pts = pts
        wait = self._anchor_clock + (pts - self._anchor_pts) - now
        if wait < -self._max_lag:
            self._anchor_clock, self._anchor_pts = now, pts
            return 0.0
        return max(0.0, wait)
