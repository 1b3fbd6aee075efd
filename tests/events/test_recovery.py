"""A dispatcher whose deliveries back off probes the destination and drains as soon as it
answers again (real databases; the destination is a real listening socket on loopback)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager

from pydantic import SecretStr
from sqlalchemy import select

from atalaia.config.sinks import AmqpSink, DatabaseSink, FrigateSink, MqttSink, WebhookSink
from atalaia.events.dispatcher import DispatchSettings, OutboxDispatcher
from atalaia.sinks.probe import can_probe, destination
from atalaia.storage.db import Database
from atalaia.storage.models import Delivery, DeliveryStatus
from atalaia.storage.outbox import mark_failed
from tests.events.support import RecordingSink, new_event, record, sink_config, wait_until
from tests.fixtures.cameras import free_port

PROBING = DispatchSettings(poll_interval=0.05, lease=5.0, stats_interval=0.05, probe_interval=0.1)
# Nothing but a probe could bring a failed delivery back within a test.
FAR_BACKOFF = dict(backoff_initial=300.0, backoff_max=300.0, max_attempts=20)


@contextmanager
def listening(port: int) -> Iterator[None]:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", port))
        server.listen(16)
        yield


def rows(db: Database, sink: str) -> dict[str, Delivery]:
    with db.session() as session:
        found = session.scalars(select(Delivery).where(Delivery.sink == sink)).all()
        for row in found:
            session.expunge(row)
        return {row.event_id: row for row in found}


async def test_backed_off_deliveries_drain_in_order_once_the_destination_answers(
    db: Database,
) -> None:
    port = free_port()
    down = True
    sink = RecordingSink("hook", fail=lambda event: down)
    config = sink_config(url=f"http://127.0.0.1:{port}", **FAR_BACKOFF)
    dispatcher = OutboxDispatcher(db, sink, config, PROBING)
    # A delivery of another camera that is dead already: the drain must leave it dead.
    [dead_id] = record(db, [new_event("cam2")], ["hook"])
    with db.session() as session:
        delivery = session.scalars(select(Delivery).where(Delivery.event_id == dead_id)).one()
        mark_failed(session, delivery.id, "rejected", permanent=True)
    first, second = new_event("cam1"), new_event("cam1")
    ids = record(db, [first, second], ["hook"])
    await dispatcher.start()
    try:
        recovery = dispatcher.recovery
        assert recovery is not None
        await wait_until(lambda: sink.attempts >= 1, 10, "the first attempt")
        await wait_until(lambda: recovery.last_probe_ok is False, 10, "a failed probe")
        assert dispatcher.status()["recovery"]["probing"] is True
        assert sink.events == []

        down = False
        with listening(port):
            await wait_until(lambda: len(sink.events) == 2, 10, "the drain")
        assert sink.ids == [first.id, second.id]
        assert sink.attempts == 3  # one failure, then each event once
        # The sink has both; the dispatcher records the outcome just after (a race to wait out).
        await wait_until(
            lambda: all(rows(db, "hook")[i].status is DeliveryStatus.DELIVERED for i in ids),
            10,
            "both recorded as delivered",
        )
        after = rows(db, "hook")
        assert after[ids[0]].status is DeliveryStatus.DELIVERED and after[ids[0]].attempts == 1
        assert after[ids[1]].status is DeliveryStatus.DELIVERED and after[ids[1]].attempts == 0
        assert after[dead_id].status is DeliveryStatus.DEAD and after[dead_id].attempts == 1
        status = dispatcher.status()["recovery"]
        assert status["drains"] == 1 and status["last_drained"] == 1
        await wait_until(lambda: not recovery.probing, 10, "probing to stop")
    finally:
        await dispatcher.stop()


async def test_a_destination_that_answers_all_along_keeps_its_backoff(
    sqlite_db: Database,
) -> None:
    # It accepts connections but refuses the events (think HTTP 500): retrying every probe
    # round would defeat the backoff that protects it.
    port = free_port()
    sink = RecordingSink("hook", fail=lambda event: True)
    config = sink_config(url=f"http://127.0.0.1:{port}", **FAR_BACKOFF)
    dispatcher = OutboxDispatcher(sqlite_db, sink, config, PROBING)
    record(sqlite_db, [new_event("cam1")], ["hook"])
    with listening(port):
        await dispatcher.start()
        try:
            recovery = dispatcher.recovery
            assert recovery is not None
            await wait_until(lambda: recovery.probes >= 5, 10, "several probes")
            assert recovery.last_probe_ok is True
            assert recovery.drains == 0
            assert sink.attempts == 1
        finally:
            await dispatcher.stop()


def test_every_sink_with_a_host_has_something_to_probe() -> None:
    assert destination(WebhookSink(type="webhook", url="https://hooks.example:8443/x")) == (
        "hooks.example",
        8443,
    )
    assert destination(FrigateSink(type="frigate", base_url="http://frigate")) == ("frigate", 80)
    amqp = AmqpSink(type="amqp", url=SecretStr("amqps://u:pw@rabbit/vhost"))
    assert destination(amqp) == ("rabbit", 5671)
    assert destination(MqttSink(type="mqtt", host="broker", port=1884)) == ("broker", 1884)
    database = DatabaseSink(type="database")
    assert destination(database) is None
    assert not can_probe(RecordingSink("db"), database)
