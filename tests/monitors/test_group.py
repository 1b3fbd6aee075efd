"""BasicMonitors: the three monitors started, reported and stopped as the manager does."""

from __future__ import annotations

import json
from pathlib import Path

from atalaia.config.cameras import CameraConfig, SourceConfig
from atalaia.config.monitors import MonitorsConfig
from atalaia.monitors import BasicMonitors
from tests.monitors.support import monitor_threads, wait_until


def test_start_report_and_stop_with_serial_disabled(tmp_path: Path) -> None:
    video = tmp_path / "cam.mp4"
    video.write_bytes(b"x")
    seen: list[tuple[str, bool]] = []
    monitors = BasicMonitors(
        MonitorsConfig.model_validate({"host": {"interval": 0.5}, "camera": {"interval": 0.5}}),
        [CameraConfig(id="cam", source=SourceConfig(url=str(video)))],
        data_dir=tmp_path,
        on_camera_change=lambda cam, ok, _: seen.append((cam, ok)),
    )
    try:
        monitors.start()
        assert monitors.summary() == {
            "host_monitor": True,
            "serial_monitor": False,
            "camera_monitor": True,
            "status": "running",
        }
        assert wait_until(lambda: monitors.host.snapshot().samples >= 1, 5)
        assert wait_until(lambda: seen == [("cam", True)], 5)
        snapshot = monitors.snapshot()
        assert snapshot["serial"]["state"] == "disabled"
        assert snapshot["camera"]["cameras"]["cam"]["reachable"] is True
        json.dumps(snapshot)
    finally:
        assert monitors.stop(5)
    assert monitors.summary()["status"] == "stopped"
    assert not monitor_threads()
