"""The endpoint without a detector, message-size limits at the transport, /health, and the
`realtime:` configuration."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from atalaia.api.app import create_app
from atalaia.config.realtime import RealtimeConfig, base64_size
from atalaia.demo import demo_frames
from atalaia.service.manager import BackgroundManager
from tests.realtime.conftest import FrameClient, jpeg, live_service, realtime_config

KIB = 1024


async def test_without_processing_frames_get_a_clear_error(tmp_path: Path) -> None:
    config = realtime_config(tmp_path)
    with live_service(config, tmp_path, processing=False) as service:
        client = FrameClient()
        await client.connect(service.url)
        await asyncio.sleep(0.2)
        assert client.welcome is not None and client.welcome["model_loaded"] is False
        event, body = await client.ask(jpeg(demo_frames(seconds=0.2, fps=5)[0]))
        assert event == "detection_error"
        assert body["code"] == "detector_unavailable" and "detector not running" in body["error"]
        async with httpx.AsyncClient(base_url=service.url) as http:
            health = (await http.get("/health")).json()
        assert health["model_loaded"] is False and health["status"] == "degraded"
        assert health["active_connections"] == 1 and health["cache_size"] == 0
        assert isinstance(health["timestamp"], float)
        await client.close()
        await asyncio.sleep(0.2)
        async with httpx.AsyncClient(base_url=service.url) as http:
            assert (await http.get("/health")).json()["active_connections"] == 0


async def test_a_message_beyond_the_transport_limit_closes_only_that_connection(
    tmp_path: Path,
) -> None:
    """Up to `max_message_bytes` a frame is read and answered (`payload_too_large`); beyond it
    Engine.IO drops the message unread and closes the connection (the client sees a
    disconnect, reason "transport error"), so the limits are sent at connect."""
    config = realtime_config(tmp_path, max_payload_bytes=64 * KIB)
    assert config.realtime.transport_max_bytes == 192 * KIB
    with live_service(config, tmp_path, processing=False) as service:
        patient, careless = FrameClient("patient"), FrameClient("careless")
        await patient.connect(service.url)
        await careless.connect(service.url)
        await asyncio.sleep(0.2)
        assert patient.welcome is not None
        assert patient.welcome["limits"]["max_payload_bytes"] == 64 * KIB
        assert patient.welcome["limits"]["max_message_bytes"] == 192 * KIB

        event, body = await patient.ask(b"\xff\xd8\xff" + os.urandom(150 * KIB))
        assert (event, body["code"]) == ("detection_error", "payload_too_large")
        assert patient.sio.connected

        await careless.send(b"\xff\xd8\xff" + os.urandom(200 * KIB))
        await asyncio.wait_for(careless.disconnected.wait(), 10)
        assert careless.answers.empty(), "nothing could be answered"

        await asyncio.sleep(0.4)  # past the rate limit
        event, body = await patient.ask(jpeg(demo_frames(seconds=0.2, fps=5)[0]))
        assert body["code"] == "detector_unavailable", "the other client is unaffected"
        await patient.close()


def test_realtime_can_be_turned_off(tmp_path: Path) -> None:
    config = realtime_config(tmp_path, enabled=False)
    with TestClient(create_app(config, BackgroundManager(config))) as client:
        assert (
            client.get("/socket.io/", params={"EIO": 4, "transport": "polling"}).status_code == 404
        )
        health = client.get("/health").json()
        assert health["active_connections"] == 0 and health["model_loaded"] is False


def test_health_follows_public_health(tmp_path: Path) -> None:
    config = realtime_config(tmp_path)
    config.server.public_health = False
    with TestClient(create_app(config, BackgroundManager(config))) as client:
        assert client.get("/health").status_code == 401
        token = config.server.token
        assert token is not None
        answer = client.get("/health", headers={"X-API-Token": token.get_secret_value()})
        assert answer.status_code == 200 and answer.json()["status"] == "degraded"


def test_configuration_limits() -> None:
    default = RealtimeConfig()
    assert default.max_payload_bytes == 10 * 1024 * KIB
    assert default.transport_max_bytes == 3 * default.max_payload_bytes
    assert default.websocket_max_size > default.transport_max_bytes
    assert default.transport_max_bytes > 20 * 1000 * 1000, "a 20 MB frame is still answered"
    least = base64_size(1024 * KIB) + 64 * KIB
    assert RealtimeConfig(max_payload_bytes=1024 * KIB, max_message_bytes=least)
    with pytest.raises(ValidationError, match="max_message_bytes"):
        RealtimeConfig(max_payload_bytes=1024 * KIB, max_message_bytes=least - 1)
    with pytest.raises(ValidationError, match="min_frame_intervall"):
        RealtimeConfig.model_validate({"min_frame_intervall": 1})
