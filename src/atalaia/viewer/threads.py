"""Keeps worker threads referenced until they end.

A `QThread` collected while it still runs aborts the whole program. Widgets that own a worker
(a tile, a clip window) can be closed at any moment; the worker is told to stop and kept here
until its `finished` signal, so closing a window never waits for a thread and never crashes.
"""

from __future__ import annotations

from PySide6.QtCore import QThread

_running: set[QThread] = set()


def keep_until_finished(thread: QThread) -> None:
    _running.add(thread)
    thread.finished.connect(lambda: _running.discard(thread))


def still_running() -> list[QThread]:
    return [t for t in _running if t.isRunning()]


def wait_all(timeout_ms: int) -> bool:
    """At exit only: wait for every kept thread; False if some did not end in time."""
    return all(t.wait(timeout_ms) for t in list(_running))
