"""The camera monitor feeds camera online/offline events to the event bus (design note 002)."""

from __future__ import annotations

import socket
import time
from pathlib import Path

from fastapi.testclient import TestClient

from atalaia.api.app import create_app
from atalaia.config import CameraConfig
from atalaia.events import topics
from atalaia.events.bus import BusMessage
from atalaia.service.manager import BackgroundManager
from tests.api.conftest import make_config
from tests.fixtures.cameras import free_port


def test_camera_reachability_reaches_the_bus(tmp_path: Path) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    up = listener.getsockname()[1]
    cameras = [
        CameraConfig.model_validate({"id": "up", "source": f"rtsp://127.0.0.1:{up}/s"}),
        CameraConfig.model_validate({"id": "down", "source": f"rtsp://127.0.0.1:{free_port()}/s"}),
    ]
    config = make_config(tmp_path, cameras)
    config.monitors.camera.interval = 0.5
    manager = BackgroundManager(config)
    seen: list[BusMessage] = []

    async def handler(message: BusMessage) -> None:
        seen.append(message)

    manager.bus.subscribe("test", handler, topics.CAMERA_TOPICS)
    try:
        with TestClient(create_app(config, manager)):
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and len({m.camera for m in seen}) < 2:
                time.sleep(0.1)
    finally:
        listener.close()
    by_camera = {m.camera: m for m in seen}
    assert by_camera["up"].topic == topics.CAMERA_ONLINE
    assert by_camera["down"].topic == topics.CAMERA_OFFLINE and by_camera["down"].data["reason"]
