"""No alert lost across a broker outage: 500 alerts while the connection is cut, all delivered
once it is back, each camera's in order (real Mosquitto and RabbitMQ behind a loopback proxy)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aio_pika
import aiomqtt
import pytest

from atalaia.config.sinks import AmqpSink as AmqpConfig
from atalaia.config.sinks import MqttSink as MqttConfig
from atalaia.config.sinks import OutboxConfig
from atalaia.events.dispatcher import DispatchSettings, OutboxDispatcher
from atalaia.events.service import OutboxService
from atalaia.events.types import AlertEvent
from atalaia.sinks.amqp import AmqpSink
from atalaia.sinks.base import Sink, SinkContext
from atalaia.sinks.mqtt import MqttSink
from atalaia.storage.db import Database
from tests.conftest import require_service
from tests.events.support import new_event, record
from tests.sinks.support import TcpProxy

CAMERAS = 5
ALERTS = 500
RETRY = dict(backoff_initial=0.05, backoff_max=0.5, max_attempts=10_000, timeout=2.0)


def check_received(sent: list[AlertEvent], received: list[str]) -> None:
    """Every id at least once; any duplicate carries an id that was sent; per camera, first
    arrivals in the order sent."""
    assert set(received) == {e.id for e in sent}
    first_seen = list(dict.fromkeys(received))
    for camera in {e.camera for e in sent}:
        order = [e.id for e in sent if e.camera == camera]
        assert [i for i in first_seen if i in set(order)] == order


async def mqtt_subscriber(topic: str, received: list[str]) -> Callable[[], Awaitable[None]]:
    client = aiomqtt.Client("127.0.0.1", 1883, max_queued_incoming_messages=0)
    await client.__aenter__()
    await client.subscribe(topic, qos=1)

    async def collect() -> None:
        async for message in client.messages:
            received.append(json.loads(bytes(message.payload))["id"])  # type: ignore[arg-type]

    task = asyncio.create_task(collect())

    async def stop() -> None:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await client.__aexit__(None, None, None)

    return stop


async def amqp_subscriber(exchange: str, received: list[str]) -> Callable[[], Awaitable[None]]:
    connection = await aio_pika.connect("amqp://guest:guest@127.0.0.1:5672/")
    channel = await connection.channel()
    ex = await channel.declare_exchange(exchange, aio_pika.ExchangeType.TOPIC, durable=True)
    queue = await channel.declare_queue(exclusive=True)
    await queue.bind(ex, "#")

    async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
        received.append(str(message.message_id))
        await message.ack()

    await queue.consume(on_message)

    async def stop() -> None:
        await connection.close()

    return stop


@pytest.mark.parametrize("broker", ["mqtt", "amqp"])
async def test_500_alerts_survive_a_cut_connection(
    db: Database, tmp_path: Path, broker: str
) -> None:
    port = {"mqtt": 1883, "amqp": 5672}[broker]
    require_service({"mqtt": "Mosquitto", "amqp": "RabbitMQ"}[broker], "127.0.0.1", port)
    name = f"atalaia-outage-{uuid.uuid4().hex[:8]}"
    proxy = TcpProxy(port)
    await proxy.restore()
    context = SinkContext(db, tmp_path)
    received: list[str] = []
    sink: Sink
    config: Any
    if broker == "mqtt":
        config = MqttConfig(type="mqtt", port=proxy.port, prefix=name, discovery=False, **RETRY)
        sink = MqttSink(config, broker, context)
        stop_subscriber = await mqtt_subscriber(f"{name}/events", received)
    else:
        url = f"amqp://guest:guest@127.0.0.1:{proxy.port}/"
        config = AmqpConfig(type="amqp", url=url, exchange=name, **RETRY)
        sink = AmqpSink(config, broker, context)
        stop_subscriber = await amqp_subscriber(name, received)
    settings = DispatchSettings(poll_interval=0.1, batch_size=100, lease=30.0)
    service = OutboxService(db, [OutboxDispatcher(db, sink, config, settings)], OutboxConfig())
    sent = [new_event(f"cam{i % CAMERAS}") for i in range(ALERTS)]
    try:
        await service.start()
        half = ALERTS // 2
        await asyncio.to_thread(record, db, sent[:half], [broker])
        service.wake()
        await asyncio.sleep(0.3)  # some get through before the cut
        await proxy.cut()
        await asyncio.to_thread(record, db, sent[half:], [broker])
        service.wake()
        dispatcher = service.dispatchers[broker]
        async with asyncio.timeout(30):
            while dispatcher.stats.failed < 3:  # the outage is seen and retried
                await asyncio.sleep(0.05)
        before_restore = len(set(received))
        assert before_restore < ALERTS
        await proxy.restore()
        async with asyncio.timeout(120):
            while len(set(received)) < ALERTS:
                await asyncio.sleep(0.1)
        async with asyncio.timeout(30):  # the last acknowledgements are being recorded
            while True:
                await dispatcher.refresh_counts()
                if dispatcher.stats.pending == 0:
                    break
                await asyncio.sleep(0.1)
        assert dispatcher.stats.dead == 0
    finally:
        await service.stop()
        await stop_subscriber()
        await proxy.cut()
    check_received(sent, received)
