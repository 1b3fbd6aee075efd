"""Cameras managed live through the API against real RTSP cameras: added, changed, deleted
while another camera keeps capturing with no gap."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from atalaia.config import CameraConfig
from atalaia.pipeline.snapshots import camera_snapshot
from tests.api.conftest import AUTH, make_config
from tests.conftest import in_ci
from tests.fixtures.cameras import rtsp_camera, rtsp_server_available
from tests.pipeline.test_pipeline import FrameWatch, wait_for

pytestmark = pytest.mark.skipif(
    not rtsp_server_available() and not in_ci(),
    reason="needs GStreamer's RTSP server (Debian gir1.2-gst-rtsp-server-1.0, python3-gi)",
)


def camera_body(cid: str, url: str) -> dict[str, Any]:
    return {"id": cid, "source": {"url": url, "read_timeout": 2, "open_timeout": 3}}


def process(client: TestClient, cid: str) -> dict[str, Any]:
    status: dict[str, Any] = client.app.state.manager.pipeline_status()  # type: ignore[attr-defined]
    return status["cameras"].get(cid, {})


def captured(client: TestClient, cid: str) -> int:
    stats = camera_snapshot(process(client, cid))
    return stats.counters.captured if stats is not None else 0


@pytest.mark.alone
def test_camera_added_changed_deleted_through_the_api(
    make_client: Callable[..., TestClient], tmp_path: Path
) -> None:
    with rtsp_camera() as steady, rtsp_camera() as cam_a, rtsp_camera() as cam_b:
        config = make_config(
            tmp_path, [CameraConfig.model_validate(camera_body("steady", steady.url))]
        )
        client = make_client(config, processing=True)
        manager = client.app.state.manager  # type: ignore[attr-defined]
        assert wait_for(lambda: captured(client, "steady") > 10, 60)
        steady_pid = process(client, "steady")["pid"]
        with FrameWatch(manager.pipeline, "steady") as watch:
            added = time.monotonic()
            assert (
                client.post(
                    "/api/cameras", json=camera_body("new", cam_a.url), headers=AUTH
                ).status_code
                == 201
            )
            assert wait_for(lambda: captured(client, "new") > 0, 15, 0.05)
            assert time.monotonic() - added < 5.0, (
                "a camera added through the API captures within 5 s"
            )
            pid = process(client, "new")["pid"]

            changed = client.put(
                "/api/cameras/new", json=camera_body("new", cam_b.url), headers=AUTH
            )
            assert changed.status_code == 200
            assert wait_for(lambda: process(client, "new").get("pid") not in (None, pid), 15)
            assert wait_for(lambda: captured(client, "new") > 0, 15)
            assert manager.pipeline.cameras["new"].source.url == cam_b.url

            assert client.delete("/api/cameras/new", headers=AUTH).status_code == 204
            assert wait_for(lambda: "new" not in manager.pipeline.cameras, 15)
        assert process(client, "steady")["pid"] == steady_pid
        assert watch.max_gap() < 1.0, f"the other camera stalled for {watch.max_gap():.2f}s"

        body = client.get("/background/status", headers=AUTH).json()
        assert body["alert_processing"]["cameras_processing"] == 1
        assert client.post("/background/stop", headers=AUTH).json()["changed"] is True
        stopped = client.get("/background/status", headers=AUTH).json()
        assert stopped["alert_processing"]["status"] == "stopped" and stopped["is_running"] is False
        assert client.post("/background/start", headers=AUTH).json()["changed"] is True
        assert wait_for(lambda: captured(client, "steady") > 0, 30)
