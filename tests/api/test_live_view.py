"""Live view: the latest annotated JPEG and an MJPEG stream capped per viewer."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
from fastapi.testclient import TestClient

from atalaia.media.paths import live_frame_path
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
    path.parent.mkdir(parents=True)
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
    assert client.get("/api/cameras/gate/live.mjpeg?fps=0", headers=AUTH).status_code == 422
