"""`/background/health`: open, it says only the status and why; the details need the token."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient

from atalaia.config import AtalaiaConfig, CameraConfig
from tests.api.conftest import AUTH, TOKEN, make_config

DB_PASSWORD = "HealthDbPw-7r2k"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_open_health_says_only_the_status(make_client: Callable[..., TestClient]) -> None:
    client = make_client()
    response = client.get("/background/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert len(response.content) < 100
    detailed = client.get("/background/health", headers=AUTH)
    assert detailed.status_code == 200
    body = detailed.json()
    assert body["status"] == "ok" and body["startup_completed"] is True
    assert body["checks"]["database"] == "ok" and "pipeline" in body
    # A wrong token is no token: the short answer, not a 401 (the check stays open).
    wrong = client.get("/background/health", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 200 and wrong.json() == {"status": "ok"}


def test_closed_health_needs_the_token_and_then_shows_details(
    make_client: Callable[..., TestClient], tmp_path: Path
) -> None:
    client = make_client(make_config(tmp_path / "closed", public_health=False))
    assert client.get("/background/health").status_code == 401
    answer = client.get("/background/health", headers=AUTH)
    assert answer.status_code == 200 and answer.json()["checks"]["database"] == "ok"


def test_failed_start_is_named_without_its_text(
    make_client: Callable[..., TestClient], tmp_path: Path
) -> None:
    """The database cannot be reached: 503, a reason, and neither the URL nor the error."""
    config = make_config(tmp_path)
    closed = free_port()
    config = AtalaiaConfig.model_validate(
        {
            **config.model_dump(mode="json", exclude={"server"}),
            "server": {"token": TOKEN},
            "database": {"url": f"postgresql://atalaia:{DB_PASSWORD}@127.0.0.1:{closed}/x"},
        }
    )
    client = make_client(config)
    response = client.get("/background/health")
    assert response.status_code == 503
    assert response.json() == {"status": "degraded", "reason": "start-up failed"}
    detailed = client.get("/background/health", headers=AUTH)
    assert detailed.status_code == 503
    body = detailed.json()
    assert body["startup_completed"] is False and body["startup_error"]
    assert DB_PASSWORD not in detailed.text


def test_offline_cameras_are_counted_not_named(
    make_client: Callable[..., TestClient], tmp_path: Path
) -> None:
    """A running camera whose server does not answer: the open check counts it, no more."""
    closed = free_port()
    camera = CameraConfig.model_validate(
        {
            "id": "backyard",
            "source": {
                "url": f"rtsp://admin:CamPw-55x@127.0.0.1:{closed}/s",
                "open_timeout": 1,
                "reconnect_max": 1,
            },
            "detect": {"enabled": False},
        }
    )
    client = make_client(make_config(tmp_path, [camera]), processing=True)
    deadline = time.monotonic() + 30
    while True:
        answer = client.get("/background/health")
        if answer.json().get("reason") or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert answer.status_code == 200
    assert answer.json() == {"status": "ok", "reason": "1 of 1 cameras offline"}
    assert "backyard" not in answer.text
    detailed = client.get("/background/health", headers=AUTH).json()
    assert "backyard" in detailed["pipeline"]["cameras"]
