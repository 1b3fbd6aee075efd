"""Security by default: a token for every mutating call, no camera password in any response."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient

from atalaia.api.app import create_app
from atalaia.api.auth import TOKEN_FILE, load_or_create_token, token_for_config
from atalaia.config import AtalaiaConfig
from atalaia.service.manager import BackgroundManager
from atalaia.storage.db import Database, default_sqlite_url
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
    database = Database(default_sqlite_url(tmp_path / "data"))
    database.migrate()
    check, token = load_or_create_token(database, tmp_path / "data", None)
    assert token is not None and check.valid(token) and not check.valid(token + "x")
    assert not (tmp_path / "data" / TOKEN_FILE).exists()
    assert token.encode() not in (tmp_path / "data" / "atalaia.db").read_bytes()
    again, shown = load_or_create_token(database, tmp_path / "other", None)
    assert shown is None and again.valid(token)
    database.dispose()


def test_apps_on_one_database_share_the_generated_token(tmp_path: Path) -> None:
    """Two nodes (data directories) on one database, no configured token: the token the first
    start generated opens both; the second start generates none."""
    shared_db = {"database": {"url": f"sqlite:///{tmp_path / 'shared.db'}"}}
    configs = [
        AtalaiaConfig.model_validate({"data_dir": str(tmp_path / node), **shared_db})
        for node in ("node-a", "node-b")
    ]
    databases = [Database(config.database_url) for config in configs]
    (first, token), (second, shown) = (
        token_for_config(config, database)
        for config, database in zip(configs, databases, strict=True)
    )
    assert token is not None and shown is None
    assert first.valid(token) and second.valid(token)
    for database in databases:
        database.dispose()
    for config in configs:
        with TestClient(create_app(config, BackgroundManager(config))) as client:
            assert client.get("/api/cameras").status_code == 401
            headers = {"Authorization": f"Bearer {token}"}
            assert client.get("/api/cameras", headers=headers).status_code == 200


def test_unusable_database_refuses_every_token(tmp_path: Path) -> None:
    """No stored hash to compare with: the service starts (health says why), nothing opens."""
    port = _closed_port()
    config = AtalaiaConfig.model_validate(
        {
            "data_dir": str(tmp_path / "data"),
            "database": {"url": f"postgresql://atalaia:pw@127.0.0.1:{port}/none"},
        }
    )
    database = Database(config.database_url)
    check, shown = token_for_config(config, database)
    database.dispose()
    assert shown is None and not check.valid("") and not check.valid("anything")


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


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
