"""The Frigate sink against a local server that checks what Frigate's API expects."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from atalaia.config.sinks import FrigateSink as FrigateConfig
from atalaia.sinks.base import DeliveryError, SinkContext
from atalaia.sinks.frigate import FrigateSink
from atalaia.storage.db import Database
from tests.events.support import end_event, new_event, record
from tests.sinks.support import HttpRecorder, Request


class FakeFrigate:
    """Answers like Frigate: creates return a new event id; refuses wrong credentials."""

    def __init__(self, authorization: str) -> None:
        self.authorization = authorization
        self.created = 0

    def __call__(self, request: Request) -> tuple[int, Any]:
        if request.headers.get("authorization") != self.authorization:
            return 401, {"success": False, "message": "Unauthorized"}
        if request.method == "POST" and request.path.endswith("/create"):
            self.created += 1
            return 200, {"success": True, "message": "ok", "event_id": f"1700.{self.created}-abc"}
        if request.method == "PUT" and request.path.endswith("/end"):
            return 200, {"success": True, "message": "Event successfully ended."}
        return 404, {"success": False, "message": "not found"}


@pytest.fixture
def frigate() -> Iterator[tuple[HttpRecorder, FakeFrigate]]:
    basic = "Basic " + base64.b64encode(b"admin:s3cret-pass").decode()
    fake = FakeFrigate(basic)
    server = HttpRecorder(fake)
    yield server, fake
    server.close()


def sink(db: Database, url: str, tmp_path: Path, **changes: Any) -> FrigateSink:
    values: dict[str, Any] = dict(
        type="frigate", base_url=url, username="admin", password="s3cret-pass", timeout=5.0
    )
    values.update(changes)
    return FrigateSink(FrigateConfig(**values), "frigate", SinkContext(db, tmp_path))


async def test_create_then_end_with_the_returned_id_even_after_a_restart(
    db: Database, frigate: tuple[HttpRecorder, FakeFrigate], tmp_path: Path
) -> None:
    server, _ = frigate
    new = new_event("front door", label="person", rule="porch", top_score=0.87)
    end = end_event(new)
    record(db, [new, end], ["frigate"])  # the alert row the reference points at
    first = sink(db, server.url, tmp_path, cameras={"front door": "front_door"})
    await first.start()
    await first.deliver(new)
    await first.deliver(new)  # a redelivery: the stored id says it exists already
    await first.close()
    second = sink(db, server.url, tmp_path, cameras={"front door": "front_door"})
    await second.start()
    await second.deliver(end)
    await second.close()
    create, finish = server.requests
    assert (create.method, create.path) == ("POST", "/api/events/front_door/person/create")
    assert create.headers["content-type"] == "application/json"
    assert create.json() == {
        "source_type": "api",
        "sub_label": "porch",
        "score": 0.87,
        "duration": None,
        "include_recording": True,
    }
    assert (finish.method, finish.path) == ("PUT", "/api/events/1700.1-abc/end")
    assert finish.json() == {"end_time": end.after.end_time}


async def test_fixed_duration_lets_frigate_end_the_event(
    db: Database, frigate: tuple[HttpRecorder, FakeFrigate], tmp_path: Path
) -> None:
    server, _ = frigate
    new = new_event()
    record(db, [new, end_event(new)], ["frigate"])
    s = sink(db, server.url, tmp_path, duration=30, sub_label="{rule}/{zone}")
    await s.deliver(new)
    await s.deliver(end_event(new))
    await s.close()
    assert [r.method for r in server.requests] == ["POST"]
    assert server.requests[0].json()["duration"] == 30
    assert server.requests[0].json()["sub_label"] == "intrusion/dock"


async def test_an_end_without_a_created_event_sends_a_finished_one(
    db: Database, frigate: tuple[HttpRecorder, FakeFrigate], tmp_path: Path
) -> None:
    server, _ = frigate
    new = new_event(start_time=1000.0)
    end = end_event(new)
    end = end.__class__("end", after=new.after.evolve(end_time=1012.2), before=new.after)
    record(db, [new], ["frigate"])
    s = sink(db, server.url, tmp_path)
    await s.deliver(end)
    await s.close()
    (create,) = server.requests
    assert create.path.endswith("/create") and create.json()["duration"] == 13


async def test_bearer_token_and_refused_credentials(db: Database, tmp_path: Path) -> None:
    fake = FakeFrigate("Bearer tok-123456")
    server = HttpRecorder(fake)
    try:
        new = new_event()
        record(db, [new], ["frigate"])
        good = sink(
            db, server.url, tmp_path, username=None, password=None, bearer_token="tok-123456"
        )
        await good.deliver(new)
        await good.close()
        assert fake.created == 1
        other = new_event()
        record(db, [other], ["frigate"])
        wrong = sink(db, server.url, tmp_path, username="admin", password="wrong-password")
        with pytest.raises(DeliveryError, match="HTTP 401") as caught:
            await wrong.deliver(other)
        await wrong.close()
        assert "wrong-password" not in str(caught.value)
        assert wrong.health()["connected"] is False
    finally:
        server.close()


async def test_an_unreachable_frigate_is_a_retryable_error(db: Database, tmp_path: Path) -> None:
    new = new_event()
    record(db, [new], ["frigate"])
    s = sink(db, "http://127.0.0.1:9", tmp_path, timeout=1.0)
    with pytest.raises(DeliveryError, match="ConnectError"):
        await s.deliver(new)
    await s.close()
