"""Alerts through the API: filters, pages, media files, deliveries and the dead-letter retry."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import cv2
import numpy as np
from fastapi.testclient import TestClient

from atalaia.storage.models import Alert, DeliveryStatus
from atalaia.storage.outbox import mark_failed, record_event
from tests.api.conftest import AUTH

T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)


def seed(client: TestClient, data_dir: Path) -> list[str]:
    database = client.app.state.manager.database  # type: ignore[attr-defined]
    snap = data_dir / "media" / "gate" / "a.jpg"
    snap.parent.mkdir(parents=True, exist_ok=True)
    _ok, jpeg = cv2.imencode(".jpg", np.zeros((10, 10, 3), np.uint8))
    snap.write_bytes(jpeg.tobytes())
    ids = []
    with database.session() as session:
        for i, (camera, label, zone) in enumerate(
            [("gate", "person", "door"), ("gate", "car", None), ("dock", "person", "bay")]
        ):
            alert = Alert(
                camera_id=camera,
                label=label,
                rule=f"{label}-rule",
                zone=zone,
                score=0.8,
                box=[1, 2, 3, 4],
                start_time=T0 + timedelta(minutes=i),
                snapshot_path=str(snap) if i == 0 else "/etc/passwd",
            )
            session.add(alert)
            session.flush()
            record_event(session, alert, "new", {"id": alert.id}, ["database", "mqtt"])
            ids.append(alert.id)
    return ids


def test_list_filter_paginate(make_client: Callable[..., TestClient], tmp_path: Path) -> None:
    client = make_client()
    ids = seed(client, tmp_path / "data")
    page = client.get("/api/events", params={"limit": 2}, headers=AUTH).json()
    assert page["total"] == 3 and [a["id"] for a in page["items"]] == [ids[2], ids[1]]
    rest = client.get("/api/events", params={"limit": 2, "offset": 2}, headers=AUTH).json()
    assert [a["id"] for a in rest["items"]] == [ids[0]]
    by_camera = client.get(
        "/api/events", params={"camera": "gate", "label": "person"}, headers=AUTH
    )
    assert [a["id"] for a in by_camera.json()["items"]] == [ids[0]]
    by_zone = client.get("/api/events", params={"zone": "bay"}, headers=AUTH).json()
    assert by_zone["total"] == 1
    window = {
        "since": (T0 + timedelta(seconds=30)).isoformat(),
        "until": (T0 + timedelta(minutes=2)).isoformat(),
    }
    assert [
        a["id"] for a in client.get("/api/events", params=window, headers=AUTH).json()["items"]
    ] == [ids[1]]
    assert client.get("/api/events", params={"limit": 0}, headers=AUTH).status_code == 422


def test_one_alert_and_its_media(make_client: Callable[..., TestClient], tmp_path: Path) -> None:
    client = make_client()
    ids = seed(client, tmp_path / "data")
    body = client.get(f"/api/events/{ids[0]}", headers=AUTH).json()
    assert body["camera"] == "gate" and body["has_snapshot"] and "snapshot_path" not in body
    jpeg = client.get(f"/api/events/{ids[0]}/snapshot.jpg", headers=AUTH)
    assert jpeg.status_code == 200 and jpeg.headers["content-type"] == "image/jpeg"
    assert cv2.imdecode(np.frombuffer(jpeg.content, np.uint8), cv2.IMREAD_COLOR) is not None
    # A path outside the data directory is never served, whatever the database says.
    assert client.get(f"/api/events/{ids[1]}/snapshot.jpg", headers=AUTH).status_code == 404
    assert client.get(f"/api/events/{ids[0]}/clip.mp4", headers=AUTH).status_code == 404
    assert client.get("/api/events/nope", headers=AUTH).status_code == 404


def test_deliveries_and_retry_of_a_dead_one(
    make_client: Callable[..., TestClient], tmp_path: Path
) -> None:
    client = make_client()
    ids = seed(client, tmp_path / "data")
    rows = client.get(f"/api/events/{ids[0]}/deliveries", headers=AUTH).json()
    assert [(r["sink"], r["status"]) for r in rows] == [
        ("database", "pending"),
        ("mqtt", "pending"),
    ]
    mqtt = rows[1]["delivery_id"]
    assert client.post(f"/api/deliveries/{mqtt}/retry", headers=AUTH).status_code == 409  # not dead
    database = client.app.state.manager.database  # type: ignore[attr-defined]
    with database.session() as session:
        mark_failed(session, mqtt, "broker down", permanent=True)
    dead = client.get(f"/api/events/{ids[0]}/deliveries", headers=AUTH).json()[1]
    assert dead["status"] == str(DeliveryStatus.DEAD) and dead["last_error"] == "broker down"
    assert client.post(f"/api/deliveries/{mqtt}/retry", headers=AUTH).json()["status"] == "pending"
    assert (
        client.get(f"/api/events/{ids[0]}/deliveries", headers=AUTH).json()[1]["status"]
        == "pending"
    )
    assert client.post("/api/deliveries/999999/retry", headers=AUTH).status_code == 404
    assert client.post(f"/api/deliveries/{mqtt}/retry").status_code == 401
