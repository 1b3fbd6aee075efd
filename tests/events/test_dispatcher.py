"""OutboxDispatcher against real databases (SQLite and PostgreSQL) with in-process sinks."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import defaultdict
from datetime import timedelta

from sqlalchemy import select, update

from atalaia.events.dispatcher import DispatchSettings, OutboxDispatcher, retry_policy
from atalaia.events.service import OutboxService
from atalaia.events.types import AlertEvent
from atalaia.storage.db import Database
from atalaia.storage.models import AlertEvent as StoredEvent
from atalaia.storage.models import Delivery, DeliveryStatus
from atalaia.storage.types import utcnow
from tests.events.support import (
    RecordingSink,
    end_event,
    new_event,
    record,
    sink_config,
    wait_until,
)

FAST = DispatchSettings(poll_interval=0.05, batch_size=50, lease=5.0, stats_interval=0.05)


def dispatcher(
    db: Database, sink: RecordingSink, settings: DispatchSettings = FAST, **config: object
) -> OutboxDispatcher:
    return OutboxDispatcher(db, sink, sink_config(**config), settings, secrets=["hunter2-secret"])


def statuses(db: Database, sink: str) -> dict[str, int]:
    with db.session() as session:
        rows = session.scalars(select(Delivery).where(Delivery.sink == sink)).all()
        counts: dict[str, int] = defaultdict(int)
        for row in rows:
            counts[row.status.value] += 1
        return dict(counts)


async def test_delivers_every_event_in_order_per_camera(db: Database) -> None:
    events = [new_event(f"cam{i % 3}") for i in range(30)]
    events += [end_event(e) for e in events[:6]]
    record(db, events, ["rec"])
    sink = RecordingSink("rec")
    d = dispatcher(db, sink)
    await d.start()
    try:
        await wait_until(lambda: len(sink.events) == len(events), 20, "all events")
    finally:
        await d.stop()
    assert sink.started and sink.closed
    assert sorted(sink.ids) == sorted(e.id for e in events)
    for camera in ("cam0", "cam1", "cam2"):
        sent = [e.id for e in events if e.camera == camera]
        assert [e.id for e in sink.events if e.camera == camera] == sent
    assert statuses(db, "rec") == {"delivered": len(events)}
    await d.refresh_counts()
    status = d.status()
    assert status["delivered"] == len(events) and status["pending"] == 0 and status["dead"] == 0
    assert status["latency_ms"]["samples"] == len(events)
    assert 0 <= status["latency_ms"]["p50"] <= status["latency_ms"]["p99"]


async def test_the_delivered_event_is_the_recorded_one(db: Database) -> None:
    event = new_event("gate", snapshot_path="snaps/a.jpg", extra={"colour": "red"})
    record(db, [event], ["rec"])
    sink = RecordingSink("rec")
    d = dispatcher(db, sink)
    await d.start()
    try:
        await wait_until(lambda: bool(sink.events), 10, "the event")
    finally:
        await d.stop()
    assert [e.to_payload() for e in sink.events] == [event.to_payload()]


async def test_wake_dispatches_at_once_from_any_thread(db: Database) -> None:
    sink = RecordingSink("rec")
    d = dispatcher(db, sink, DispatchSettings(poll_interval=60.0, lease=5.0))
    await d.start()
    try:
        await asyncio.sleep(0.3)  # the first (empty) poll is over; the next is a minute away
        record(db, [new_event()], ["rec"])
        threading.Thread(target=d.wake).start()  # as the supervisor's message hook does
        started = time.monotonic()
        await wait_until(lambda: bool(sink.events), 10, "a woken delivery")
        assert time.monotonic() - started < 10
        record(db, [new_event()], ["rec"])
        d.wake()
        await wait_until(lambda: len(sink.events) == 2, 10, "a second woken delivery")
    finally:
        await d.stop()


async def test_failures_back_off_and_hold_only_their_own_camera(db: Database) -> None:
    stuck = new_event("stuck")
    behind = new_event("stuck")
    others = [new_event("free") for _ in range(5)]
    record(db, [stuck, behind, *others], ["rec"])
    refusals = {"left": 3}

    def fail(event: AlertEvent) -> bool:
        if event.id == stuck.id and refusals["left"]:
            refusals["left"] -= 1
            return True
        return False

    sink = RecordingSink("rec", fail)
    d = dispatcher(db, sink, backoff_initial=0.2, backoff_max=0.4, max_attempts=10)
    await d.start()
    try:
        await wait_until(lambda: len(sink.events) == 5, 10, "the free camera's events")
        assert [e.camera for e in sink.events] == ["free"] * 5  # the stuck camera waits
        await wait_until(lambda: len(sink.events) == 7, 20, "the stuck camera's events")
    finally:
        await d.stop()
    assert [e.id for e in sink.events if e.camera == "stuck"] == [stuck.id, behind.id]
    assert d.stats.failed == 3 and d.stats.delivered == 7
    # The secret in the sink's error never reaches the status.
    assert d.stats.last_error and "hunter2-secret" not in str(d.status())
    with db.session() as session:
        row = session.scalars(
            select(Delivery).join(StoredEvent).where(StoredEvent.alert_id == stuck.after.id)
        ).one()
    assert row.attempts == 3 and row.status is DeliveryStatus.DELIVERED


def test_retry_policy_comes_from_the_sink_config() -> None:
    policy = retry_policy(sink_config(backoff_initial=1.5, backoff_max=5.0, max_attempts=4))
    assert [policy.delay(n).total_seconds() for n in (1, 2, 3, 4)] == [1.5, 3.0, 5.0, 5.0]
    assert policy.max_attempts == 4


async def test_dead_after_max_attempts_then_retried_by_hand(db: Database) -> None:
    doomed = new_event("cam1")
    later = new_event("cam1")
    record(db, [doomed, later], ["rec"])
    broken = {"yes": True}
    sink = RecordingSink("rec", lambda e: broken["yes"] and e.id == doomed.id)
    d = dispatcher(db, sink, max_attempts=3, backoff_initial=0.05, backoff_max=0.05)
    service = OutboxService(db, [d])
    await service.start()
    try:
        # Dead after 3 attempts; the camera's next event is then no longer held back.
        await wait_until(lambda: later.id in sink.ids, 15, "the event behind the dead one")
        await d.refresh_counts()
        assert d.stats.dead == 1 and d.stats.marked_dead == 1 and sink.attempts == 4
        # The sink has the later event before its outcome is recorded; the dispatcher says
        # "active" again once that delivery is written down.
        await wait_until(
            lambda: service.handlers_status() == {"rec": "active"}, 10, "the sink active again"
        )
        dead = await service.dead_deliveries()
        assert [(x.sink, x.camera, x.attempts) for x in dead] == [("rec", "cam1", 3)]
        assert dead[0].last_error and "hunter2-secret" not in dead[0].last_error
        broken["yes"] = False
        assert await service.retry_dead(dead[0].id)
        assert not await service.retry_dead(dead[0].id)  # no longer dead
        await wait_until(lambda: doomed.id in sink.ids, 10, "the retried event")
    finally:
        await service.stop()
    assert statuses(db, "rec") == {"delivered": 2}


async def test_an_unreadable_payload_is_dead_at_once(db: Database) -> None:
    bad, good = new_event("cam1"), new_event("cam1")
    record(db, [bad, good], ["rec"])
    with db.session() as session:
        session.execute(
            update(StoredEvent)
            .where(StoredEvent.alert_id == bad.after.id)
            .values(payload={"type": "new"})
        )
    sink = RecordingSink("rec")
    d = dispatcher(db, sink)
    await d.start()
    try:
        await wait_until(lambda: sink.ids == [good.id], 10, "the readable event")
    finally:
        await d.stop()
    assert statuses(db, "rec") == {"dead": 1, "delivered": 1}
    assert "unreadable event payload" in (d.stats.last_error or "")


async def test_a_hanging_sink_does_not_delay_another(db: Database) -> None:
    events = [new_event(f"cam{i % 4}") for i in range(40)]
    record(db, events, ["hang", "fast"])
    hang, fast = RecordingSink("hang"), RecordingSink("fast")
    hang.delay = 3600.0
    service = OutboxService(
        db, [dispatcher(db, hang, timeout=0.3), dispatcher(db, fast, timeout=0.3)]
    )
    started = time.monotonic()
    await service.start()
    try:
        await wait_until(lambda: len(fast.events) == 40, 15, "the fast sink")
        fast_time = time.monotonic() - started
        await wait_until(lambda: service.dispatchers["hang"].stats.failed >= 4, 15, "timeouts")
    finally:
        await service.stop(timeout=1.0)
    assert fast_time < 15
    assert not hang.events
    assert "no acknowledgement within 0.9s" in (service.dispatchers["hang"].stats.last_error or "")
    assert service.handlers_status()["hang"] == "stopped"


async def test_claims_cut_short_by_stop_are_released_for_the_next_process(db: Database) -> None:
    event = new_event()
    record(db, [event], ["rec"])
    slow = RecordingSink("rec")
    slow.delay = 3600.0
    first = dispatcher(db, slow, DispatchSettings(poll_interval=0.05, lease=600.0), timeout=100)
    await first.start()
    await wait_until(lambda: slow.attempts == 1, 10, "the claim")
    await first.stop(timeout=0.2)
    # The lease was ten minutes; the release makes the row due now for the next dispatcher.
    fresh = RecordingSink("rec")
    second = dispatcher(db, fresh)
    await second.start()
    try:
        await wait_until(lambda: fresh.ids == [event.id], 10, "the released delivery")
    finally:
        await second.stop()


async def test_a_crashed_claimer_s_rows_return_after_the_lease(db: Database) -> None:
    event = new_event()
    record(db, [event], ["rec"])
    with db.session() as session:  # a claim whose owner died: leased into the past
        session.execute(update(Delivery).values(next_attempt_at=utcnow() - timedelta(seconds=1)))
    sink = RecordingSink("rec")
    d = dispatcher(db, sink)
    await d.start()
    try:
        await wait_until(lambda: sink.ids == [event.id], 10, "the orphaned delivery")
    finally:
        await d.stop()


async def test_trim_removes_only_old_delivered_rows(db: Database) -> None:
    events = [new_event() for _ in range(3)]
    record(db, events, ["rec", "other"])
    sink = RecordingSink("rec")
    d = dispatcher(db, sink)
    await d.start()
    await wait_until(lambda: len(sink.events) == 3, 10, "deliveries")
    await d.stop()
    service = OutboxService(db, [d])
    assert await service.trim() == 0  # delivered just now: kept for trim_after
    with db.session() as session:
        session.execute(
            update(Delivery)
            .where(Delivery.status == DeliveryStatus.DELIVERED)
            .values(delivered_at=utcnow() - timedelta(days=30))
        )
    assert await service.trim() == 3
    assert statuses(db, "rec") == {} and statuses(db, "other") == {"pending": 3}


async def test_the_database_going_away_is_reported_not_fatal() -> None:
    db = Database("sqlite:////nonexistent-dir/atalaia.db")
    sink = RecordingSink("rec")
    d = dispatcher(db, sink, DispatchSettings(poll_interval=0.05, stats_interval=60))
    await d.start()
    try:
        await wait_until(lambda: d.stats.last_error is not None, 10, "the error")
        assert "OperationalError" in (d.stats.last_error or "")
        await asyncio.sleep(0.3)
        assert d.state == "running" and d._task is not None and not d._task.done()
    finally:
        await d.stop()
