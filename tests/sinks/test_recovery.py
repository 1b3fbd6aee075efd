"""A sink drains within seconds of its broker's return, not at its next scheduled retry, and its
log lines carry its own tag (a Mosquitto of the test's own, stopped and started again; the
shared RabbitMQ behind a proxy that cuts and restores the connection)."""

from __future__ import annotations

import asyncio
import getpass
import json
import queue
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import aiomqtt
import pytest
from sqlalchemy import select

from atalaia.config.sinks import AmqpSink as AmqpConfig
from atalaia.config.sinks import MqttSink as MqttConfig
from atalaia.config.sinks import OutboxConfig
from atalaia.events.dispatcher import DispatchSettings, OutboxDispatcher
from atalaia.events.service import OutboxService
from atalaia.logs import SUPERVISOR_TAG, LogEntry, configure_process_logging, remove_process_logging
from atalaia.sinks.amqp import AmqpSink
from atalaia.sinks.base import SinkContext
from atalaia.sinks.mqtt import MqttSink
from atalaia.storage.db import Database
from atalaia.storage.models import Delivery, DeliveryStatus
from tests.conftest import in_ci, require_service
from tests.events.support import new_event, record
from tests.fixtures.cameras import free_port
from tests.sinks.support import TcpProxy

# Issue 11's bound: delivery resumes within 10 s of the broker's return.
RESUME_BOUND = 10.0
# The next scheduled retry is this far away: only the probe can explain a quick drain.
BACKOFF = dict(backoff_initial=300.0, backoff_max=300.0, max_attempts=50, timeout=2.0)


class Mosquitto:
    """A broker of the test's own on a free port; persistence keeps the subscriber's session
    (and the messages queued for it) across a stop and start."""

    def __init__(self, directory: Path) -> None:
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        if not Path(binary).exists():
            message = "needs the mosquitto broker (apt-get install mosquitto)"
            if in_ci():
                pytest.fail(f"{message}; CI must provide it", pytrace=False)
            pytest.skip(message)
        self.port = free_port()
        self.config = directory / "mosquitto.conf"
        self.config.write_text(
            f"listener {self.port} 127.0.0.1\n"
            "allow_anonymous true\n"
            "persistence true\n"
            # Run as root, Mosquitto would switch to its own user, which cannot write here.
            f"user {getpass.getuser()}\n"
            f"persistence_location {directory}/\n"
        )
        self.argv = [binary, "-c", str(self.config)]
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            self.argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("mosquitto did not start")

    def stop(self) -> None:
        """SIGTERM (it saves its sessions) and wait until it is gone."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    directory = tmp_path / "mosquitto"
    directory.mkdir()
    mosquitto = Mosquitto(directory)
    mosquitto.start()
    try:
        yield mosquitto
    finally:
        mosquitto.stop()


def subscriber(port: int, identifier: str) -> aiomqtt.Client:
    """A subscriber with a persistent session: what is published while it is away waits."""
    return aiomqtt.Client("127.0.0.1", port, identifier=identifier, clean_session=False)


async def next_event_id(client: aiomqtt.Client, within: float) -> str:
    async with asyncio.timeout(within):
        async for message in client.messages:
            return str(json.loads(bytes(message.payload))["id"])  # type: ignore[arg-type]
    raise AssertionError("the subscription ended")


def delivery_row(db: Database, sink: str) -> Delivery:
    with db.session() as session:
        row = session.scalars(select(Delivery).where(Delivery.sink == sink)).one()
        session.expunge(row)
        return row


async def test_mqtt_delivery_resumes_within_seconds_of_the_broker_return(
    db: Database, tmp_path: Path, broker: Mosquitto
) -> None:
    prefix = f"atalaia-recovery-{uuid.uuid4().hex[:8]}"
    config = MqttConfig(type="mqtt", port=broker.port, prefix=prefix, discovery=False, **BACKOFF)
    sink = MqttSink(config, "mqtt", SinkContext(db, tmp_path))
    dispatcher = OutboxDispatcher(db, sink, config, DispatchSettings(poll_interval=0.2))
    service = OutboxService(db, [dispatcher], OutboxConfig())
    sub_id = f"{prefix}-sub"
    async with subscriber(broker.port, sub_id) as listener:
        await listener.subscribe(f"{prefix}/events", qos=1)
    await service.start()
    try:
        await asyncio.to_thread(broker.stop)
        event = new_event("cam1")
        await asyncio.to_thread(record, db, [event], ["mqtt"])
        service.wake()
        recovery = dispatcher.recovery
        assert recovery is not None
        async with asyncio.timeout(15):
            # The attempt failed, and the probe has seen the broker down.
            while dispatcher.stats.failed < 1 or recovery.last_probe_ok is not False:
                await asyncio.sleep(0.05)
        waiting = await asyncio.to_thread(delivery_row, db, "mqtt")
        assert waiting.status is DeliveryStatus.PENDING and waiting.attempts == 1
        status = dispatcher.status()["recovery"]
        assert status["probing"] is True and status["last_probe_error"]

        await asyncio.to_thread(broker.start)
        returned = time.monotonic()
        async with asyncio.timeout(RESUME_BOUND):
            while (await asyncio.to_thread(delivery_row, db, "mqtt")).status is not (
                DeliveryStatus.DELIVERED
            ):
                await asyncio.sleep(0.05)
        assert time.monotonic() - returned < RESUME_BOUND

        delivered = await asyncio.to_thread(delivery_row, db, "mqtt")
        assert delivered.attempts == 1  # the drain kept the count of failed attempts
        status = dispatcher.status()["recovery"]
        assert status["drains"] >= 1 and status["last_probe_ok"] is True
        async with subscriber(broker.port, sub_id) as listener:
            assert await next_event_id(listener, within=5) == event.id
    finally:
        await service.stop()


async def test_sink_logs_carry_the_sink_name_not_the_supervisor_tag(
    sqlite_db: Database, tmp_path: Path, broker: Mosquitto
) -> None:
    entries: queue.Queue[LogEntry] = queue.Queue(maxsize=10_000)
    config = MqttConfig(
        type="mqtt", port=broker.port, prefix=f"atalaia-tag-{uuid.uuid4().hex[:8]}", **BACKOFF
    )
    sink = MqttSink(config, "mqtt", SinkContext(sqlite_db, tmp_path))
    dispatcher = OutboxDispatcher(
        sqlite_db, sink, config, DispatchSettings(poll_interval=0.2, probe_interval=0.2)
    )
    configure_process_logging(entries, SUPERVISOR_TAG, "DEBUG")
    try:
        await dispatcher.start()
        await asyncio.to_thread(broker.stop)
        await asyncio.to_thread(record, sqlite_db, [new_event("cam1")], ["mqtt"])
        dispatcher.wake()
        async with asyncio.timeout(15):
            while dispatcher.recovery is None or dispatcher.recovery.probes < 2:
                await asyncio.sleep(0.05)
        await dispatcher.stop()
    finally:
        remove_process_logging()
    logged: list[LogEntry] = []
    while not entries.empty():
        logged.append(entries.get_nowait())
    from_sink = [
        e
        for e in logged
        if e.logger.startswith(("atalaia.sinks", "atalaia.events", "aiomqtt", "mqtt", "paho"))
    ]
    assert any("is failing" in e.message for e in from_sink), logged
    assert any("connected to" in e.message for e in from_sink), logged
    wrong = [e for e in from_sink if e.tag != "sink:mqtt"]
    assert not wrong, wrong
    # The broker's stop leaves no ERROR under the supervisor's tag either.
    assert not [e for e in logged if e.tag == SUPERVISOR_TAG and e.level >= 40], logged


async def test_amqp_delivery_resumes_within_seconds_of_the_connection_return(
    sqlite_db: Database, tmp_path: Path
) -> None:
    require_service("RabbitMQ", "127.0.0.1", 5672)
    proxy = TcpProxy(5672)
    await proxy.restore()
    url = f"amqp://guest:guest@127.0.0.1:{proxy.port}/"
    config = AmqpConfig(
        type="amqp", url=url, exchange=f"atalaia-recovery-{uuid.uuid4().hex[:8]}", **BACKOFF
    )
    sink = AmqpSink(config, "amqp", SinkContext(sqlite_db, tmp_path))
    dispatcher = OutboxDispatcher(sqlite_db, sink, config, DispatchSettings(poll_interval=0.2))
    try:
        await dispatcher.start()
        await proxy.cut()
        await asyncio.to_thread(record, sqlite_db, [new_event("cam1")], ["amqp"])
        dispatcher.wake()
        recovery = dispatcher.recovery
        assert recovery is not None
        async with asyncio.timeout(15):
            while dispatcher.stats.failed < 1 or recovery.last_probe_ok is not False:
                await asyncio.sleep(0.05)
        await proxy.restore()
        returned = time.monotonic()
        async with asyncio.timeout(RESUME_BOUND):
            while dispatcher.stats.delivered < 1:
                await asyncio.sleep(0.05)
        assert time.monotonic() - returned < RESUME_BOUND
        row = await asyncio.to_thread(delivery_row, sqlite_db, "amqp")
        assert row.status is DeliveryStatus.DELIVERED and row.attempts == 1
    finally:
        await dispatcher.stop()
        await proxy.cut()
