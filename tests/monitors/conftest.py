"""Monitors made through these fixtures are stopped after the test, and must stop cleanly."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from atalaia.config.monitors import SerialMonitorConfig
from atalaia.monitors import SerialMonitor
from atalaia.monitors.base import ThreadedMonitor
from atalaia.monitors.serial_monitor import OnlineCallback
from tests.monitors.support import PtyBoard, TcpBoard, monitor_threads, wait_until


@pytest.fixture
def stop_after() -> Iterator[Callable[[ThreadedMonitor], ThreadedMonitor]]:
    made: list[ThreadedMonitor] = []

    def register(monitor: ThreadedMonitor) -> ThreadedMonitor:
        made.append(monitor)
        return monitor

    yield register
    results = [m.stop(5.0) for m in made]
    assert all(results), "a monitor did not stop within 5 s"
    assert wait_until(lambda: not monitor_threads(), 2.0), monitor_threads()


# Short timeouts keep the tests quick; every bound the tests wait on is several times these.
FAST_SERIAL: dict[str, Any] = {
    "read_timeout": 0.05,
    "heartbeat_timeout": 1.0,
    "reconnect_initial": 0.05,
    "reconnect_max": 0.2,
    "write_timeout": 0.5,
}


@pytest.fixture
def make_serial(
    stop_after: Callable[[ThreadedMonitor], ThreadedMonitor],
) -> Callable[..., SerialMonitor]:
    def make(
        port: str | None, on_change: OnlineCallback | None = None, **settings: Any
    ) -> SerialMonitor:
        config = SerialMonitorConfig.model_validate({"port": port, **FAST_SERIAL, **settings})
        monitor = SerialMonitor(config, on_change=on_change)
        stop_after(monitor)
        return monitor

    return make


@pytest.fixture
def pty_board(tmp_path: Path) -> Iterator[PtyBoard]:
    board = PtyBoard(tmp_path)
    yield board
    board.unplug()


@pytest.fixture
def tcp_board() -> Iterator[TcpBoard]:
    board = TcpBoard()
    yield board
    board.stop()
