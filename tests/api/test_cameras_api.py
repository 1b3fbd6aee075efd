"""Cameras, zones and rules through the API: validation, conflicts, the masked password."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from atalaia.service import camera_store
from tests.api.conftest import AUTH

BASE = {"id": "dock", "source": "rtsp://op:pw-9@cam.local/s"}


def test_create_get_list_delete(make_client: Callable[..., TestClient]) -> None:
    client = make_client()
    assert client.post("/api/cameras", json=BASE, headers=AUTH).status_code == 201
    assert client.post("/api/cameras", json=BASE, headers=AUTH).status_code == 409
    listed = client.get("/api/cameras", headers=AUTH).json()
    assert [c["id"] for c in listed] == ["dock"]
    assert listed[0]["status"]["running"] is False
    assert client.delete("/api/cameras/dock", headers=AUTH).status_code == 204
    assert client.delete("/api/cameras/dock", headers=AUTH).status_code == 404
    assert client.get("/api/cameras/dock", headers=AUTH).status_code == 404


def test_bad_camera_is_a_clear_422(make_client: Callable[..., TestClient]) -> None:
    client = make_client()
    bad = client.post("/api/cameras", json={"id": "x", "source": "rtps://h/s"}, headers=AUTH)
    assert bad.status_code == 422 and "schemes" in bad.text
    unknown = client.post(
        "/api/cameras", json={**BASE, "detect": {"detector": "big"}}, headers=AUTH
    )
    assert unknown.status_code == 422 and "unknown detector 'big'" in unknown.text
    mismatch = client.put("/api/cameras/other", json=BASE, headers=AUTH)
    assert mismatch.status_code == 422


def test_masked_url_sent_back_keeps_the_stored_password(
    make_client: Callable[..., TestClient],
) -> None:
    client = make_client()
    client.post("/api/cameras", json=BASE, headers=AUTH)
    shown = client.get("/api/cameras/dock", headers=AUTH).json()
    assert shown["source"]["url"] == "rtsp://op:***@cam.local/s"
    shown["name"] = "Loading dock"
    del shown["status"]
    assert client.put("/api/cameras/dock", json=shown, headers=AUTH).status_code == 200
    stored = camera_store.load(client.app.state.manager.database, "dock")  # type: ignore[attr-defined]
    assert stored is not None and stored.source.url == "rtsp://op:pw-9@cam.local/s"
    assert stored.name == "Loading dock"


def test_zones_and_rules_replaced_and_validated(make_client: Callable[..., TestClient]) -> None:
    client = make_client()
    client.post("/api/cameras", json=BASE, headers=AUTH)
    zone = {"name": "bay", "points": [[0.1, 0.1], [0.9, 0.1], [0.9, 0.9]]}
    assert client.put("/api/cameras/dock/zones", json=[zone], headers=AUTH).status_code == 200
    rule = {"type": "loitering", "zone": "bay", "seconds": 60}
    assert client.put("/api/cameras/dock/rules", json=[rule], headers=AUTH).status_code == 200
    assert client.get("/api/cameras/dock/rules", headers=AUTH).json()[0]["seconds"] == 60
    orphan = client.put("/api/cameras/dock/rules", json=[{**rule, "zone": "nowhere"}], headers=AUTH)
    assert orphan.status_code == 422 and "unknown zone 'nowhere'" in orphan.text
    two_points = client.put(
        "/api/cameras/dock/zones", json=[{"name": "z", "points": [[0, 0], [1, 1]]}], headers=AUTH
    )
    assert two_points.status_code == 422


def test_yaml_cameras_seed_the_database_once(
    make_client: Callable[..., TestClient], tmp_path
) -> None:  # type: ignore[no-untyped-def]
    from atalaia.config import CameraConfig
    from tests.api.conftest import make_config

    config = make_config(tmp_path, [CameraConfig.model_validate(BASE)])
    client = make_client(config)
    assert [c["id"] for c in client.get("/api/cameras", headers=AUTH).json()] == ["dock"]
    client.delete("/api/cameras/dock", headers=AUTH)
    again = make_client(config)  # a restart with the same YAML does not bring it back
    assert again.get("/api/cameras", headers=AUTH).json() == []


def test_status_has_exactly_the_notes_shape(make_client: Callable[..., TestClient]) -> None:
    body = make_client().get("/background/status", headers=AUTH).json()
    assert set(body) == {
        "status",
        "is_running",
        "startup_completed",
        "basic_monitors",
        "alert_processing",
    }
    assert set(body["basic_monitors"]) == {
        "host_monitor",
        "serial_monitor",
        "camera_monitor",
        "status",
    }
    assert set(body["alert_processing"]) == {
        "status",
        "cameras_processing",
        "total_alerts_processed",
        "handlers_status",
    }
    assert body["startup_completed"] is True
    assert body["alert_processing"]["handlers_status"] == {"database": "stopped"}
    assert isinstance(body["alert_processing"]["total_alerts_processed"], int)
