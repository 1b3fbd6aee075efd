"""The viewer's tests: a real `atalaia run` with demo cameras, the viewer's window beside it.

Blocking work of the test itself (database reads, killing the service) runs in a thread
(`beside_ui`) while the Qt event loop keeps spinning, so the stall probe measures the viewer,
not the test.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import yaml

from atalaia.config.cameras import demo_camera
from tests.web.support import Service, free_port, screenshot_dir

TOKEN = "viewer-test-token-0123456789"
T = TypeVar("T")


def camera(camera_id: str, rule: bool = True) -> dict[str, Any]:
    """A demo camera (the demo video played as a file, looped), detected twice a second, with
    the demo's zone where each person of the sweep stands a few seconds at a time: with a short
    cooldown every camera raises an alert every few seconds."""
    demo = demo_camera().model_dump(mode="json")
    body: dict[str, Any] = {
        "id": camera_id,
        "name": f"Camera {camera_id}",
        "source": "demo://people",
        "detect": {"fps": 2},
    }
    if rule:
        body["zones"] = demo["zones"]
        body["rules"] = [{**demo["rules"][0], "cooldown": 2}]
    return body


def service_config(root: Path, port: int, cameras: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "data_dir": str(root / "data"),
        "server": {"host": "127.0.0.1", "port": port, "token": TOKEN, "live_max_fps": 20},
        "logging": {"console": False, "file": str(root / "atalaia.log")},
        "supervisor": {"heartbeat_interval": 1.0},
        "detectors": {"default": {"type": "onnx", "input_size": 320}},
        "media": {"pre_roll": 1.0, "post_roll": 1.0, "live_fps": 20},
        "realtime": {"min_frame_interval": 0.2, "frame_burst": 1, "max_in_flight": 2},
        "cameras": cameras,
        "sinks": [{"type": "database"}],
    }


def start_service(root: Path, port: int, start_timeout: float = 120.0) -> Service:
    """`atalaia run --config root/atalaia.yaml` on `port`, as a user starts it; healthy."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ATALAIA_")}
    env["PYTHONUNBUFFERED"] = "1"
    out = root / "service.out"
    with out.open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "atalaia", "run", "--config", str(root / "atalaia.yaml")],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=root,
        )
    service = Service(f"http://127.0.0.1:{port}", root / "data", root / "atalaia.log", process)
    deadline = time.monotonic() + start_timeout
    while True:
        if process.poll() is not None:
            raise AssertionError(
                f"atalaia run exited with {process.returncode}:\n"
                + out.read_text(errors="replace")[-3000:]
            )
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(service.url + "/background/health", timeout=2).status_code == 200:
                return service
        if time.monotonic() > deadline:
            stop_service(service)
            raise AssertionError("atalaia run did not become healthy:\n" + service.log_tail())
        time.sleep(0.3)


def stop_service(service: Service) -> None:
    if service.process.poll() is None:
        service.process.send_signal(signal.SIGINT)
        try:
            service.process.wait(45)
        except subprocess.TimeoutExpired:
            service.process.kill()
            service.process.wait(10)


@contextlib.contextmanager
def running_service(root: Path, cameras: list[dict[str, Any]]) -> Iterator[Service]:
    port = free_port()
    (root / "atalaia.yaml").write_text(yaml.safe_dump(service_config(root, port, cameras)))
    service = start_service(root, port)
    try:
        yield service
    finally:
        stop_service(service)


def keep_screenshot(widget: Any, name: str) -> None:
    """Save `widget` as docs/screenshots-style PNG when UI_SCREENSHOTS names a folder."""
    folder = screenshot_dir()
    if folder is not None:
        widget.grab().save(str(folder / name))


def beside_ui(qtbot: Any, work: Callable[[], T], timeout: float = 60.0) -> T:
    """Run blocking `work` in a thread while the Qt event loop keeps running; its result."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = work()
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    qtbot.waitUntil(lambda: not thread.is_alive(), timeout=int(timeout * 1000))
    if "error" in box:
        raise box["error"]
    return box["value"]  # type: ignore[no-any-return]


class AlertRowWatcher:
    """Polls the service's database every 20 ms and notes when each alert row first appears:
    the moment an alert exists for the rest of the system."""

    def __init__(self, database: Path) -> None:
        self.database = database
        self.first_seen: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> AlertRowWatcher:
        self._scan()  # the alerts made before the watch are not timed
        self._baseline = set(self.first_seen)
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(5)

    def new_alerts(self) -> dict[str, float]:
        return {k: v for k, v in dict(self.first_seen).items() if k not in self._baseline}

    def _scan(self) -> None:
        with contextlib.closing(sqlite3.connect(f"file:{self.database}?mode=ro", uri=True)) as db:
            for (alert_id,) in db.execute("SELECT id FROM alerts"):
                self.first_seen.setdefault(alert_id, time.time())

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            with contextlib.suppress(sqlite3.Error):
                self._scan()
