"""Security by default: a token for every mutating call, no camera password in any response."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient

from atalaia.api.auth import TOKEN_FILE, load_or_create_token
from tests.api.conftest import AUTH, TOKEN, make_config

PASSWORD = "s3cr3t-Pw!"
CAMERA = {
    "id": "gate",
    "source": {"url": f"rtsp://admin:{PASSWORD}@10.0.0.5:554/stream1"},
    "zones": [{"name": "door", "points": [[0, 0], [100, 0], [100, 100], [0, 100]]}],
    "rules": [{"type": "object_in_zone", "zone": "door"}],
}

MUTATING = [
    ("post", "/api/cameras", CAMERA),
    ("put", "/api/cameras/gate", CAMERA),
    ("delete", "/api/cameras/gate", None),
    ("put", "/api/cameras/gate/zones", []),
    ("put", "/api/cameras/gate/rules", []),
    ("post", "/background/start", None),
    ("post", "/background/stop", None),
    ("post", "/background/restart", None),
]


def test_mutating_calls_need_the_token(make_client: Callable[..., TestClient]) -> None:
    client = make_client()
    for method, path, body in MUTATING:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"X-API-Token": "nope"}):
            response = client.request(method, path, json=body, headers=headers)
            assert response.status_code == 401, (method, path, headers)
            assert response.headers["www-authenticate"] == "Bearer"
    assert (
        client.post("/api/cameras", json=CAMERA, headers={"X-API-Token": TOKEN}).status_code == 201
    )
    client.cookies.set("atalaia_token", TOKEN)
    assert client.get("/api/cameras/gate").status_code == 200


def test_health_is_open_unless_configured_closed(
    make_client: Callable[..., TestClient], tmp_path: Path
) -> None:
    assert make_client().get("/background/health").status_code == 200
    closed = make_client(make_config(tmp_path / "closed", public_health=False))
    assert closed.get("/background/health").status_code == 401
    assert closed.get("/background/health", headers=AUTH).status_code == 200


def test_token_generated_once_and_stored_hashed(tmp_path: Path) -> None:
    check, token = load_or_create_token(tmp_path, None)
    assert token is not None and check.valid(token) and not check.valid(token + "x")
    path = tmp_path / TOKEN_FILE
    assert token not in path.read_text()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    again, shown = load_or_create_token(tmp_path, None)
    assert shown is None and again.valid(token)


def test_no_response_contains_a_camera_password(make_client: Callable[..., TestClient]) -> None:
    client = make_client()
    created = client.post("/api/cameras", json=CAMERA, headers=AUTH)
    assert created.status_code == 201
    responses = [
        created,
        client.get("/api/cameras", headers=AUTH),
        client.get("/api/cameras/gate", headers=AUTH),
        client.put("/api/cameras/gate", json=CAMERA, headers=AUTH),
        client.put("/api/cameras/gate/zones", json=CAMERA["zones"], headers=AUTH),
        client.put("/api/cameras/gate/rules", json=CAMERA["rules"], headers=AUTH),
        client.get("/api/cameras/gate/zones", headers=AUTH),
        client.get("/api/cameras/gate/rules", headers=AUTH),
        client.get("/background/status", headers=AUTH),
        client.get("/background/health"),
        client.get("/openapi.json"),
    ]
    for response in responses:
        assert response.status_code < 300, response.text
        assert PASSWORD not in response.text
    assert "rtsp://admin:***@10.0.0.5:554/stream1" in responses[1].text
