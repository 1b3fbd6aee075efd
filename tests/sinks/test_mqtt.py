"""The MQTT sink against the real Mosquitto on 127.0.0.1:1883."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiomqtt
import pytest

from atalaia.config.sinks import MqttSink as MqttConfig
from atalaia.sinks.base import DeliveryError, SinkContext
from atalaia.sinks.mqtt import MqttSink
from atalaia.storage.db import Database
from tests.conftest import require_service
from tests.events.support import end_event, new_event, record
from tests.sinks.support import is_jpeg, write_jpeg

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def prefix() -> str:
    """A topic prefix of the test's own, so retained messages of other runs cannot mix in."""
    require_service("Mosquitto", "127.0.0.1", 1883)
    return f"atalaia-test-{uuid.uuid4().hex[:10]}"


class Collector:
    """A subscriber that keeps every message it gets, per topic."""

    def __init__(self, client: aiomqtt.Client) -> None:
        self.client = client
        self.messages: list[aiomqtt.Message] = []
        self._task = asyncio.create_task(self._collect())

    async def _collect(self) -> None:
        async for message in self.client.messages:
            self.messages.append(message)

    def payloads(self, topic: str) -> list[bytes]:
        return [bytes(m.payload) for m in self.messages if m.topic.matches(topic)]  # type: ignore[arg-type]

    async def wait_for(self, topic: str, count: int = 1, timeout: float = 10.0) -> list[bytes]:
        async with asyncio.timeout(timeout):
            while len(self.payloads(topic)) < count:
                await asyncio.sleep(0.02)
        return self.payloads(topic)

    async def stop(self) -> None:
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)


async def subscribe(*topics: str) -> AsyncIterator[Collector]:
    async with aiomqtt.Client("127.0.0.1", 1883) as client:
        for topic in topics:
            await client.subscribe(topic, qos=1)
        collector = Collector(client)
        try:
            yield collector
        finally:
            await collector.stop()


def mqtt_sink(db: Database, tmp_path: Path, prefix: str, **changes: Any) -> MqttSink:
    values: dict[str, Any] = dict(
        type="mqtt", prefix=prefix, discovery_prefix=f"{prefix}-ha", timeout=5.0
    )
    values.update(changes)
    context = SinkContext(db, tmp_path, {"gate": ["person"]})
    return MqttSink(MqttConfig(**values), "mqtt", context)


async def test_frigate_shaped_messages_counts_snapshot_and_discovery(
    db: Database, tmp_path: Path, prefix: str
) -> None:
    jpeg = write_jpeg(tmp_path / "snap.jpg")
    new = new_event("gate", snapshot_path="snap.jpg")
    end = end_event(new)
    sink = mqtt_sink(db, tmp_path, prefix)
    async for sub in subscribe(f"{prefix}/#", f"{prefix}-ha/#"):
        await sink.start()
        record(db, [new], ["mqtt"])
        await sink.deliver(new)
        record(db, [end], ["mqtt"])
        await sink.deliver(end)
        events = [json.loads(p) for p in await sub.wait_for(f"{prefix}/events", 2)]
        counts = await sub.wait_for(f"{prefix}/gate/person", 2)
        motion = await sub.wait_for(f"{prefix}/gate/motion", 2)
        snapshot = await sub.wait_for(f"{prefix}/gate/person/snapshot")
        available = await sub.wait_for(f"{prefix}/available")
        discovery = {
            str(m.topic): json.loads(m.payload)  # type: ignore[arg-type]
            for m in sub.messages
            if str(m.topic).startswith(f"{prefix}-ha/")
        }
        await sink.close()
        await sub.wait_for(f"{prefix}/available", 2)
        available = sub.payloads(f"{prefix}/available")
    assert [e["type"] for e in events] == ["new", "end"]
    assert [e["id"] for e in events] == [new.id, end.id]
    assert events[0]["before"] == events[0]["after"] and events[0]["after"]["camera"] == "gate"
    assert events[1]["before"]["end_time"] is None and events[1]["after"]["end_time"]
    assert counts == [b"1", b"0"] and motion == [b"ON", b"OFF"]
    assert snapshot == [jpeg] and is_jpeg(snapshot[0])
    assert available == [b"online", b"offline"]
    kinds = {(t.split("/")[1], d.get("device_class")) for t, d in discovery.items()}
    assert kinds == {("binary_sensor", "motion"), ("binary_sensor", "occupancy"), ("sensor", None)}
    for document in discovery.values():
        assert document["availability_topic"] == f"{prefix}/available"
        assert document["device"]["name"] == "gate"
    person = next(d for d in discovery.values() if d.get("device_class") == "occupancy")
    assert person["state_topic"] == f"{prefix}/gate/person"


async def test_retained_state_is_there_for_late_subscribers(
    db: Database, tmp_path: Path, prefix: str
) -> None:
    sink = mqtt_sink(db, tmp_path, prefix)
    await sink.start()
    new = new_event("gate")
    record(db, [new], ["mqtt"])
    await sink.deliver(new)
    async for sub in subscribe(f"{prefix}/#"):
        await sub.wait_for(f"{prefix}/gate/person")
        await sub.wait_for(f"{prefix}/available")
        retained = {str(m.topic): (bytes(m.payload), m.retain) for m in sub.messages}  # type: ignore[arg-type]
    await sink.close()
    assert retained[f"{prefix}/available"] == (b"online", True)
    assert retained[f"{prefix}/gate/person"] == (b"1", True)
    assert f"{prefix}/events" not in retained  # events are not retained


async def test_last_will_says_offline_when_the_process_dies(prefix: str) -> None:
    async for sub in subscribe(f"{prefix}/available"):
        child = subprocess.Popen(
            [sys.executable, "-m", "tests.sinks.mqtt_child", prefix, "1883"],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        try:
            assert child.stdout is not None
            line = await asyncio.to_thread(child.stdout.readline)
            assert line.strip() == "ready"
            assert await sub.wait_for(f"{prefix}/available") == [b"online"]
            os.kill(child.pid, signal.SIGKILL)  # no clean goodbye: only the will can speak
            assert await sub.wait_for(f"{prefix}/available", 2, timeout=15) == [
                b"online",
                b"offline",
            ]
        finally:
            child.kill()
            child.wait(10)


async def test_an_unreachable_broker_is_a_retryable_error(
    sqlite_db: Database, tmp_path: Path
) -> None:
    sink = mqtt_sink(sqlite_db, tmp_path, "x", port=9, timeout=2.0)
    await sink.start()  # must not raise
    assert sink.health()["connected"] is False
    with pytest.raises(DeliveryError, match="cannot connect to the MQTT broker"):
        await sink.deliver(new_event())
    await sink.close()


async def test_a_password_never_reaches_the_error(sqlite_db: Database, tmp_path: Path) -> None:
    sink = mqtt_sink(sqlite_db, tmp_path, "x", port=9, username="u", password="mqtt-pass-99")
    with pytest.raises(DeliveryError) as caught:
        await sink.deliver(new_event())
    assert "mqtt-pass-99" not in str(caught.value) + str(sink.health())
