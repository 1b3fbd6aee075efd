"""RestartPolicy: restart what dies, but not forever.

As Erlang/OTP supervisors and systemd's StartLimitBurst do: more than `max_restarts` within
`restart_window` seconds means restarting is not helping (a bad URL, a broken model), so the
supervisor stops and says why instead of spinning.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field


@dataclass
class RestartPolicy:
    max_restarts: int
    restart_window: float
    _history: deque[float] = field(default_factory=deque, repr=False)

    def _trim(self, now: float) -> None:
        while self._history and now - self._history[0] > self.restart_window:
            self._history.popleft()

    def allow(self, now: float) -> bool:
        """Record a restart at `now` if one more is allowed in the window."""
        self._trim(now)
        if len(self._history) >= self.max_restarts:
            return False
        self._history.append(now)
        return True

    def recent(self, now: float) -> int:
        """Restarts counted in the current window."""
        self._trim(now)
        return len(self._history)

    def history(self) -> tuple[float, ...]:
        """When the restarts still remembered happened (some may have left the window)."""
        return tuple(self._history)

    def backoff(self, now: float, base: float = 0.5, cap: float = 30.0) -> float:
        """Delay before the next restart: grows with the restarts in the window, so a process
        that dies at start-up does not burn the whole budget in a second."""
        recent = self.recent(now)
        return 0.0 if recent == 0 else min(cap, base * 2 ** (recent - 1))
