"""The webhook sink: signed JSON, checked by a receiver written from the documented scheme."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from pathlib import Path

import pytest

from atalaia.config.sinks import WebhookSink as WebhookConfig
from atalaia.sinks.base import DeliveryError, PermanentDeliveryError, SinkContext
from atalaia.sinks.webhook import WebhookSink
from atalaia.storage.db import Database
from tests.events.support import new_event
from tests.sinks.support import HttpRecorder, Request

SECRET = b"whsec-0123456789"


def verify(request: Request) -> bool:
    """What a receiver does: HMAC over `timestamp.body`, constant-time compare, fresh stamp."""
    stamp = request.headers["x-atalaia-timestamp"]
    expected = hmac.new(SECRET, stamp.encode() + b"." + request.body, hashlib.sha256).hexdigest()
    signature = request.headers.get("x-atalaia-signature", "")
    fresh = abs(time.time() - int(stamp)) < 300
    return fresh and hmac.compare_digest(signature, f"sha256={expected}")


async def test_posts_signed_json(sqlite_db: Database, tmp_path: Path) -> None:
    server = HttpRecorder(lambda r: (200, {}) if verify(r) else (401, {}))
    config = WebhookConfig(type="webhook", url=server.url + "/hook", secret=SECRET.decode())
    sink = WebhookSink(config, "hook", SinkContext(sqlite_db, tmp_path))
    event = new_event("gate")
    try:
        await sink.deliver(event)
        (request,) = server.requests
        assert request.path == "/hook" and request.headers["content-type"] == "application/json"
        assert json.loads(request.body) == event.to_payload()
        assert request.headers["x-atalaia-event-id"] == event.id
        assert verify(request)
        tampered = Request(**{**request.__dict__, "body": request.body.replace(b"gate", b"door")})
        assert not verify(tampered)
        assert "whsec" not in str(sink.health())
    finally:
        await sink.close()
        server.close()


async def test_status_codes_decide_retry_or_dead(sqlite_db: Database, tmp_path: Path) -> None:
    answers = iter([(422, {"error": "schema"}), (500, {}), (204, None)])
    server = HttpRecorder(lambda _r: next(answers))
    sink = WebhookSink(
        WebhookConfig(type="webhook", url=server.url), "hook", SinkContext(sqlite_db, tmp_path)
    )
    try:
        with pytest.raises(PermanentDeliveryError, match="HTTP 422"):
            await sink.deliver(new_event())
        with pytest.raises(DeliveryError, match="HTTP 500") as caught:
            await sink.deliver(new_event())
        assert not isinstance(caught.value, PermanentDeliveryError)
        await sink.deliver(new_event())
        assert "x-atalaia-signature" not in server.requests[-1].headers  # no secret set
    finally:
        await sink.close()
        server.close()
