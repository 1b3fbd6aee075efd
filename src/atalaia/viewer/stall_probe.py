"""Measures how responsive the UI thread is: a timer that records how late it fires.

A timer due every `interval` seconds that fires `x` seconds late means the event loop was busy
(or blocked) for about that long: no click, repaint or signal was handled meanwhile. The tests
run one through every test; `atalaia viewer --stall-probe` shows the worst stall in the status
bar, for whoever wants to check on their own machine.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QObject, Qt, QTimer


class StallProbe(QObject):
    """`worst` and `stalls_over(limit)` in seconds, since `start` or `reset`."""

    def __init__(self, interval: float = 0.005, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.interval = interval
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(max(1, round(interval * 1000)))
        self._timer.timeout.connect(self._tick)
        self._last = 0.0
        self.lateness: list[float] = []
        self.worst = 0.0

    def start(self) -> None:
        self.reset()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    def reset(self) -> None:
        self._last = time.perf_counter()
        self.lateness.clear()
        self.worst = 0.0

    def _tick(self) -> None:
        now = time.perf_counter()
        late = max(0.0, now - self._last - self.interval)
        self._last = now
        self.lateness.append(late)
        del self.lateness[:-100_000]
        self.worst = max(self.worst, late)

    def stalls_over(self, limit: float) -> list[float]:
        return [late for late in self.lateness if late > limit]
