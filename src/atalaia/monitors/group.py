"""The three basic monitors as one unit, as the BackgroundManager starts and reports them.

Design note 002 keeps them running while alert processing is stopped; this is the one object the
manager starts with the app, stops with it, and reads for `/background/status`.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from atalaia.config.cameras import CameraConfig
from atalaia.config.monitors import MonitorsConfig
from atalaia.monitors.base import Monitor
from atalaia.monitors.camera_monitor import CameraMonitor, ChangeCallback
from atalaia.monitors.host_monitor import HostMonitor
from atalaia.monitors.serial_monitor import OnlineCallback, SerialMonitor


class BasicMonitors:
    """HostMonitor, SerialMonitor and CameraMonitor built from `MonitorsConfig`."""

    def __init__(
        self,
        config: MonitorsConfig,
        cameras: Iterable[CameraConfig] = (),
        data_dir: Path = Path("data"),
        on_camera_change: ChangeCallback | None = None,
        on_board_change: OnlineCallback | None = None,
    ) -> None:
        self.host = HostMonitor(config.host, data_dir)
        self.serial = SerialMonitor(config.serial, on_change=on_board_change)
        self.camera = CameraMonitor(config.camera, cameras, data_dir, on_change=on_camera_change)

    @property
    def monitors(self) -> dict[str, Monitor]:
        return {"host": self.host, "serial": self.serial, "camera": self.camera}

    def start(self) -> None:
        """Start every enabled monitor (disabled ones stay off without complaint)."""
        for monitor in self.monitors.values():
            monitor.start()

    def stop(self, timeout: float = 5.0) -> bool:
        """Stop them all within `timeout` seconds in all; True when no monitor thread is left."""
        monitors = (self.host, self.serial, self.camera)
        for monitor in monitors:
            monitor.request_stop()  # all at once: their waits overlap instead of adding up
        deadline = time.monotonic() + timeout
        return all([m.stop(max(0.0, deadline - time.monotonic())) for m in monitors])

    def summary(self) -> dict[str, Any]:
        """Note 002's `basic_monitors` block: each monitor's running flag and an overall status
        (`running` when every enabled one runs, `stopped` when none does, else `degraded`)."""
        enabled = [m for m in (self.host, self.serial, self.camera) if m.enabled]
        running = [m for m in enabled if m.running]
        if enabled and len(running) == len(enabled):
            status = "running"
        elif not running:
            status = "stopped"
        else:
            status = "degraded"
        return {
            "host_monitor": self.host.running,
            "serial_monitor": self.serial.running,
            "camera_monitor": self.camera.running,
            "status": status,
        }

    def snapshot(self) -> dict[str, dict[str, Any]]:
        """Every monitor's snapshot as plain JSON-ready values."""
        return {name: monitor.snapshot().as_dict() for name, monitor in self.monitors.items()}
