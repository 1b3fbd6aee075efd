"""Capped exponential backoff for reconnecting to the service."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Backoff:
    """Delays `first`, 2x, 4x ... up to `cap` seconds; `reset` after a success.

    The cap stays small (a few seconds) because a person is watching: after the service comes
    back the window should recover within moments, not minutes.
    """

    first: float = 0.5
    cap: float = 4.0
    _next: float = 0.0

    def next_delay(self) -> float:
        delay = self._next or self.first
        self._next = min(self.cap, delay * 2)
        return delay

    def reset(self) -> None:
        self._next = 0.0
