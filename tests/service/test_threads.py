"""Every thread a service start/stop cycle starts has ended once the app has stopped.

The real app with its lifespan, on SQLite, with real camera and detector processes (the demo
camera and a rule, so alerts are committed and delivered), the serial board on a pty with an
alert command (so the board gets commands), and a restart of alert processing through the API
in the middle. A daemon thread left behind by a stop keeps a database connection, a port or
a queue alive in the process that runs on: each one is named in the failure.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from fastapi.testclient import TestClient

from atalaia.api.app import create_app
from atalaia.config import AtalaiaConfig, CameraConfig
from atalaia.logs import LogWriter
from atalaia.logs.entry import pipeline_notice
from atalaia.service.manager import BackgroundManager
from tests.api.conftest import AUTH, TOKEN, make_config
from tests.monitors.support import PtyBoard, wait_until

# Stopped threads are joined by the stop itself; this only covers a thread's last few lines
# after it has signalled that it is done.
JOIN_WINDOW_S = 5.0


def service_config(tmp_path: Path, board: PtyBoard) -> AtalaiaConfig:
    camera = CameraConfig.model_validate(
        {
            "id": "demo",
            "source": "demo://people",
            "rules": [{"type": "object_in_zone", "cooldown": 0}],
        }
    )
    base = make_config(tmp_path, [camera])
    return AtalaiaConfig.model_validate(
        {
            **base.model_dump(mode="json", exclude={"server"}),
            "server": {"token": TOKEN},
            "monitors": {
                "camera": {"interval": 0.5},
                "serial": {
                    "port": str(board.path),
                    "read_timeout": 0.1,
                    "alert_commands": [{"command": {"action": "siren", "duration_s": 1}}],
                },
            },
        }
    )


def left_alive(before: set[threading.Thread]) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t not in before and t.is_alive()]


def test_a_start_stop_cycle_of_the_service_leaves_no_thread_alive(tmp_path: Path) -> None:
    writer = LogWriter(file=tmp_path / "atalaia.log", console=False)
    board = PtyBoard(tmp_path)
    try:
        config = service_config(tmp_path, board)
        # The log writer outlives the service (`atalaia run` stops it last), and so does the
        # feeder thread its queue starts at the first entry put in this process: start it now.
        writer.queue.put(pipeline_notice("test", "thread inventory begins"))
        before = set(threading.enumerate())
        manager = BackgroundManager(config, log_queue=writer.queue, reconcile_interval=0.5)
        with board.heartbeats(), TestClient(create_app(config, manager)) as client:
            assert wait_until(lambda: manager.total_alerts_processed > 0, 90, 0.1), (
                f"no alert committed: {manager.status()}"
            )
            assert board.read_line(30) is not None, "the board got no command for the alert"
            restarted = client.post("/background/restart", headers=AUTH).json()
            assert restarted["changed"] is True
            assert restarted["status"]["alert_processing"]["status"] == "running"
            assert wait_until(lambda: manager.last_cleanup is not None, 10, 0.05)
            assert client.post("/background/stop", headers=AUTH).json()["changed"] is True
            assert client.post("/background/start", headers=AUTH).json()["changed"] is True
        deadline = time.monotonic() + JOIN_WINDOW_S
        while left_alive(before) and time.monotonic() < deadline:
            time.sleep(0.05)
        leaked = left_alive(before)
        assert not leaked, "threads left alive after the service stopped: " + ", ".join(
            f"{t.name} (target {getattr(t, '_target', None)!r}, daemon={t.daemon})" for t in leaked
        )
    finally:
        board.unplug()
        writer.stop()
