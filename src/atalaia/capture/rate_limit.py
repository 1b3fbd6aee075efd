"""The `target_fps` cap: decide per decoded frame whether the consumer gets it.

The reader keeps decoding at the camera's own rate (a live stream that is not read falls
behind, and H.264 cannot skip decoding anyway) and drops frames here instead of sleeping. A
frame is kept when it is due; the next one is due one interval later, counted from the due time
rather than from the frame's arrival, so jitter in arrival times does not lower the rate (30 fps
capped at 15 keeps every other frame). After a gap (a reconnect) the schedule restarts from
the present instead of letting a burst through to "catch up".
"""

from __future__ import annotations


class RateLimiter:
    """Keeps at most `fps` frames a second; None or 0 keeps everything."""

    def __init__(self, fps: float | None) -> None:
        self.interval = 1.0 / fps if fps else 0.0
        # Arrival jitter tolerated before a frame counts as early: 10% of the interval, and
        # never more than 10 ms, so a 30 fps source capped at 25 still drops frames.
        self._tolerance = min(0.1 * self.interval, 0.010)
        self._due: float | None = None

    def allow(self, now: float) -> bool:
        """True when the frame arriving at monotonic time `now` should be kept."""
        if self.interval == 0.0:
            return True
        if self._due is not None and now < self._due - self._tolerance:
            return False
        previous = now if self._due is None else self._due
        self._due = max(previous + self.interval, now + self.interval / 2)
        return True

    def reset(self) -> None:
        """Forget the schedule (after a reconnect the first frame is always kept)."""
        self._due = None
