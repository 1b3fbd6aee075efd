"""The AMQP sink against the real RabbitMQ on 127.0.0.1:5672."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path
from typing import Any

import aio_pika
import pytest

from atalaia.config.sinks import AmqpSink as AmqpConfig
from atalaia.sinks.amqp import AmqpSink
from atalaia.sinks.base import DeliveryError, SinkContext
from atalaia.storage.db import Database
from tests.conftest import require_service
from tests.events.support import end_event, new_event

URL = "amqp://guest:guest@127.0.0.1:5672/"


@pytest.fixture
def exchange() -> str:
    require_service("RabbitMQ", "127.0.0.1", 5672)
    return f"atalaia-test-{uuid.uuid4().hex[:10]}"


def amqp_sink(db: Database, tmp_path: Path, exchange: str, **changes: Any) -> AmqpSink:
    values: dict[str, Any] = dict(type="amqp", url=URL, exchange=exchange, timeout=5.0)
    values.update(changes)
    return AmqpSink(AmqpConfig(**values), "amqp", SinkContext(db, tmp_path))


async def bound_queue(
    channel: aio_pika.abc.AbstractChannel, exchange: str, pattern: str
) -> aio_pika.abc.AbstractQueue:
    ex = await channel.declare_exchange(exchange, aio_pika.ExchangeType.TOPIC, durable=True)
    queue = await channel.declare_queue(exclusive=True)
    await queue.bind(ex, pattern)
    return queue


async def drain(queue: aio_pika.abc.AbstractQueue, count: int, timeout: float = 10.0) -> list[Any]:
    got: list[Any] = []
    async with asyncio.timeout(timeout):
        while len(got) < count:
            message = await queue.get(fail=False)
            if message is None:
                await asyncio.sleep(0.02)
                continue
            await message.ack()
            got.append(message)
    return got


async def test_routed_persistent_confirmed_messages(
    sqlite_db: Database, tmp_path: Path, exchange: str
) -> None:
    connection = await aio_pika.connect(URL)
    try:
        channel = await connection.channel()
        people = await bound_queue(channel, exchange, "*.person.*")
        gate = await bound_queue(channel, exchange, "gate.#")
        sink = amqp_sink(sqlite_db, tmp_path, exchange)
        await sink.start()
        new = new_event("gate")
        car = new_event("yard", label="car")
        for event in (new, car, end_event(new)):
            await sink.deliver(event)
        health = sink.health()
        await sink.close()
        on_people = await drain(people, 2)
        on_gate = await drain(gate, 2)
    finally:
        await connection.close()
    assert [m.routing_key for m in on_people] == ["gate.person.new", "gate.person.end"]
    assert [m.routing_key for m in on_gate] == ["gate.person.new", "gate.person.end"]
    first = on_people[0]
    assert first.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
    assert first.message_id == new.id and first.content_type == "application/json"
    assert first.headers["camera"] == "gate"
    assert json.loads(first.body) == new.to_payload()
    assert health["connected"] and "guest:guest" not in str(health)


async def test_routing_key_template(sqlite_db: Database, tmp_path: Path, exchange: str) -> None:
    connection = await aio_pika.connect(URL)
    try:
        queue = await bound_queue(await connection.channel(), exchange, "alerts.#")
        sink = amqp_sink(sqlite_db, tmp_path, exchange, routing_key="alerts.{rule}.{camera}")
        await sink.deliver(new_event("gate"))
        await sink.close()
        (message,) = await drain(queue, 1)
    finally:
        await connection.close()
    assert message.routing_key == "alerts.intrusion.gate"


async def test_mandatory_fails_while_nobody_listens(
    sqlite_db: Database, tmp_path: Path, exchange: str
) -> None:
    sink = amqp_sink(sqlite_db, tmp_path, exchange, mandatory=True)
    with pytest.raises(DeliveryError, match="not confirmed"):
        await sink.deliver(new_event())
    await sink.close()


async def test_an_unreachable_broker_is_a_retryable_error_without_the_password(
    sqlite_db: Database, tmp_path: Path
) -> None:
    sink = amqp_sink(
        sqlite_db, tmp_path, "x", url="amqp://guest:pa55-word@127.0.0.1:9/", timeout=2.0
    )
    await sink.start()
    with pytest.raises(DeliveryError, match="cannot connect") as caught:
        await sink.deliver(new_event())
    assert "pa55-word" not in str(caught.value) + str(sink.health())
    await sink.close()
