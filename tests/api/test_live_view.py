"""Live view: the latest annotated JPEG and an MJPEG stream capped per viewer."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
from fastapi.testclient import TestClient

from atalaia.media.paths import live_frame_path, live_watch_path
from tests.api.conftest import AUTH


def jpeg(value: int) -> bytes:
    _ok, data = cv2.imencode(".jpg", np.full((24, 32, 3), value, np.uint8))
    return data.tobytes()


def test_latest_frame_and_stream(make_client: Callable[..., TestClient], tmp_path: Path) -> None:
    client = make_client()
    path = live_frame_path(tmp_path / "data", "gate")
    assert client.get("/api/cameras/gate/latest.jpg", headers=AUTH).status_code == 404
    assert client.get("/api/cameras/gate/live.mjpeg", headers=AUTH).status_code == 404
    assert client.get("/api/cameras/gate/latest.jpg").status_code == 401
    assert client.get("/api/cameras/..%2F..%2Fetc/latest.jpg", headers=AUTH).status_code == 404
    path.parent.mkdir(parents=True, exist_ok=True)  # asking made it, for the watch file
    path.write_bytes(jpeg(10))
    latest = client.get("/api/cameras/gate/latest.jpg", headers=AUTH)
    assert latest.status_code == 200 and latest.content == jpeg(10)
    assert latest.headers["cache-control"] == "no-store"

    def update() -> None:  # the camera writes a new frame while the viewer watches
        time.sleep(0.5)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(jpeg(200))
        tmp.replace(path)

    threading.Thread(target=update, daemon=True).start()
    parts: list[bytes] = []
    started = time.monotonic()
    with client.stream("GET", "/api/cameras/gate/live.mjpeg?fps=10", headers=AUTH) as stream:
        assert stream.headers["content-type"].startswith("multipart/x-mixed-replace")
        buffer = b""
        for chunk in stream.iter_bytes():
            buffer += chunk
            while b"\xff\xd9" in buffer:
                start = buffer.index(b"\xff\xd8")
                end = buffer.index(b"\xff\xd9") + 2
                parts.append(buffer[start:end])
                buffer = buffer[end:]
            if len(parts) >= 2 or time.monotonic() - started > 10:
                break
    assert parts[:2] == [jpeg(10), jpeg(200)]  # a part only when the frame changed
    # Served, so watched: the camera is told through its watch file.
    watch = live_watch_path(tmp_path / "data", "gate")
    assert watch.exists() and time.time() - watch.stat().st_mtime < 30
    assert client.get("/api/cameras/gate/live.mjpeg?fps=0", headers=AUTH).status_code == 422


def test_a_stale_frame_waits_for_the_camera_to_write_a_fresh_one(
    make_client: Callable[..., TestClient], tmp_path: Path
) -> None:
    """Nobody watched for a while, so the camera stopped writing: the request touches the
    watch file and waits (up to a live period and a second) for the next frame."""
    client = make_client()
    path = live_frame_path(tmp_path / "data", "gate")
    path.parent.mkdir(parents=True)
    path.write_bytes(jpeg(10))
    old = time.time() - 60
    os.utime(path, (old, old))
    watch = live_watch_path(tmp_path / "data", "gate")

    def camera() -> None:  # writes once it sees it is watched, as a camera process does
        deadline = time.monotonic() + 10
        while not watch.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.2)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(jpeg(200))
        tmp.replace(path)

    threading.Thread(target=camera, daemon=True).start()
    latest = client.get("/api/cameras/gate/latest.jpg", headers=AUTH)
    assert latest.status_code == 200 and latest.content == jpeg(200)
