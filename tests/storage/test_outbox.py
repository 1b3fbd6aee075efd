"""The alert outbox: recording events, claiming, retrying, dead letters and trimming."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import delete, event, func, select, update

from atalaia.storage.db import Database
from atalaia.storage.models import (
    Alert,
    AlertEvent,
    AlertState,
    Camera,
    Delivery,
    DeliveryStatus,
    EventType,
)
from atalaia.storage.outbox import (
    RetryPolicy,
    due_deliveries,
    mark_delivered,
    mark_failed,
    record_event,
    retry_dead,
    trim_delivered,
)
from tests.storage.conftest import T0
from tests.storage.helpers import make_alert

SECOND = timedelta(seconds=1)


def _record(db: Database, camera_id: str, sinks: list[str], **payload: Any) -> AlertEvent:
    with db.session() as session:
        return record_event(session, make_alert(camera_id), EventType.NEW, payload, sinks, now=T0)


def _claim(db: Database, sink: str = "mqtt", now: Any = T0, **options: Any) -> list[Delivery]:
    with db.session() as session:
        return due_deliveries(session, sink, now, **options)


def _count(db: Database, model: type[object]) -> int:
    with db.session() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def _delivery(db: Database, delivery_id: int) -> Delivery:
    with db.session() as session:
        return session.get_one(Delivery, delivery_id)


def test_record_event_writes_the_event_and_one_delivery_per_sink(db: Database) -> None:
    alert = make_alert("cam1")
    with db.session() as session:
        recorded = record_event(
            session, alert, EventType.NEW, {"id": alert.id}, ["mqtt", "webhook", "mqtt"], now=T0
        )
    with db.session() as session:
        stored = session.scalars(select(AlertEvent)).one()
        deliveries = session.scalars(select(Delivery).order_by(Delivery.sink)).all()
    assert stored.id == recorded.id and len(stored.id) == 32
    assert (stored.alert_id, stored.type, stored.camera_id) == (alert.id, EventType.NEW, "cam1")
    assert stored.payload == {"id": alert.id}
    assert [d.sink for d in deliveries] == ["mqtt", "webhook"]
    for delivery in deliveries:
        assert delivery.status is DeliveryStatus.PENDING
        assert (delivery.event_id, delivery.event_seq) == (stored.id, stored.seq)
        assert (delivery.camera_id, delivery.attempts, delivery.next_attempt_at) == ("cam1", 0, T0)


@pytest.fixture
def failing_delivery_insert(db: Database) -> Iterator[None]:
    """Make the database driver fail on the deliveries INSERT, after the event is written."""

    def fail(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO DELIVERIES"):
            raise RuntimeError("disk full")

    event.listen(db.engine, "before_cursor_execute", fail)
    yield
    event.remove(db.engine, "before_cursor_execute", fail)


@pytest.mark.usefixtures("failing_delivery_insert")
def test_record_event_keeps_nothing_when_it_fails_midway(db: Database) -> None:
    with db.session() as session:
        with pytest.raises(RuntimeError, match="disk full"):
            record_event(session, make_alert("cam1"), EventType.NEW, {}, ["mqtt"], now=T0)
        # The caller's transaction survives and commits its own work.
        session.add(Camera(id="cam1", name="Cam", source_url="rtsp://h/1"))
    assert _count(db, Camera) == 1
    assert (_count(db, Alert), _count(db, AlertEvent), _count(db, Delivery)) == (0, 0, 0)


def test_end_event_ends_the_alert(db: Database) -> None:
    alert = make_alert("cam1")
    with db.session() as session:
        record_event(session, alert, EventType.NEW, {}, ["mqtt"], now=T0)
    # The camera process keeps its alert objects between transactions.
    with db.session() as session:
        record_event(session, alert, EventType.END, {}, ["mqtt"], now=T0 + 5 * SECOND)
    with db.session() as session:
        stored = session.get_one(Alert, alert.id)
        types = session.scalars(select(AlertEvent.type).order_by(AlertEvent.seq)).all()
    assert (stored.state, stored.end_time) == (AlertState.ENDED, T0 + 5 * SECOND)
    assert types == [EventType.NEW, EventType.END]


def test_due_deliveries_come_in_seq_order_and_only_once_due(db: Database) -> None:
    events = [_record(db, f"cam{i}", ["mqtt", "webhook"], n=i) for i in range(5)]
    with db.session() as session:
        # cam2's delivery is waiting for a retry.
        session.execute(
            update(Delivery)
            .where(Delivery.event_id == events[2].id, Delivery.sink == "mqtt")
            .values(next_attempt_at=T0 + 10 * SECOND)
        )
    claimed = _claim(db, limit=3)
    assert [d.event_seq for d in claimed] == [events[i].seq for i in (0, 1, 3)]
    assert {d.sink for d in claimed} == {"mqtt"}
    # The events come loaded, readable outside the session.
    assert [d.event.payload for d in claimed] == [{"n": 0}, {"n": 1}, {"n": 3}]
    assert [d.event_seq for d in _claim(db)] == [events[4].seq]
    assert [d.event_seq for d in _claim(db, now=T0 + 10 * SECOND)] == [events[2].seq]


def test_claimed_deliveries_are_leased_then_offered_again(db: Database) -> None:
    _record(db, "cam1", ["mqtt"])
    first = _claim(db, lease=60 * SECOND)
    assert len(first) == 1
    assert _claim(db, now=T0 + 59 * SECOND) == []
    again = _claim(db, now=T0 + 60 * SECOND)
    assert [d.id for d in again] == [first[0].id]


def test_a_camera_delivers_in_order_behind_its_oldest_pending_event(db: Database) -> None:
    a1, a2, a3 = (_record(db, "cam-a", ["mqtt"]) for _ in range(3))
    b1 = _record(db, "cam-b", ["mqtt"])
    head_a, head_b = _claim(db)
    assert (head_a.event_id, head_b.event_id) == (a1.id, b1.id)
    # a2 must not overtake a1, neither while a1 is in flight nor while it waits for a retry.
    assert _claim(db, now=T0 + 30 * SECOND) == []
    policy = RetryPolicy(first_delay=30 * SECOND, max_attempts=2)
    with db.session() as session:
        mark_failed(session, head_a.id, "timeout", now=T0, policy=policy)
        mark_delivered(session, head_b.id)
    assert _claim(db, now=T0 + 29 * SECOND) == []
    [retried] = _claim(db, now=T0 + 30 * SECOND)
    assert retried.id == head_a.id
    # A dead event stops blocking the ones behind it.
    with db.session() as session:
        mark_failed(session, retried.id, "timeout", now=T0 + 30 * SECOND, policy=policy)
    assert _delivery(db, retried.id).status is DeliveryStatus.DEAD
    assert [d.event_id for d in _claim(db, now=T0 + 30 * SECOND)] == [a2.id]
    assert a3.seq > a2.seq


def test_failures_back_off_then_die(db: Database) -> None:
    _record(db, "cam1", ["mqtt"])
    [delivery] = _claim(db)
    policy = RetryPolicy(first_delay=10 * SECOND, factor=2, max_delay=25 * SECOND, max_attempts=4)
    expected = [T0 + 10 * SECOND, T0 + 20 * SECOND, T0 + 25 * SECOND]
    for attempt, next_attempt_at in enumerate(expected, start=1):
        with db.session() as session:
            failed = mark_failed(
                session,
                delivery.id,
                "refused by amqp://guest:hunter22@rabbit/",
                now=T0,
                policy=policy,
            )
        assert failed is not None
        assert (failed.attempts, failed.status) == (attempt, DeliveryStatus.PENDING)
        assert failed.next_attempt_at == next_attempt_at
    with db.session() as session:
        mark_failed(session, delivery.id, "refused", now=T0, policy=policy)
    dead = _delivery(db, delivery.id)
    assert (dead.status, dead.attempts, dead.last_error) == (DeliveryStatus.DEAD, 4, "refused")
    assert _claim(db, now=T0 + timedelta(days=1)) == []


def test_error_text_is_masked_and_bounded(db: Database) -> None:
    _record(db, "cam1", ["mqtt"])
    [delivery] = _claim(db)
    with db.session() as session:
        failed = mark_failed(
            session, delivery.id, "refused by amqp://guest:hunter22@rabbit/ " + "x" * 5000
        )
    assert failed is not None and failed.last_error is not None
    assert "hunter22" not in failed.last_error
    assert len(failed.last_error) == 2000


def test_permanent_failure_dies_at_once(db: Database) -> None:
    _record(db, "cam1", ["mqtt"])
    [delivery] = _claim(db)
    with db.session() as session:
        failed = mark_failed(session, delivery.id, "400 bad payload", permanent=True)
    assert failed is not None
    assert (failed.status, failed.attempts) == (DeliveryStatus.DEAD, 1)


def test_a_late_failure_report_does_not_undo_a_delivery(db: Database) -> None:
    _record(db, "cam1", ["mqtt"])
    [delivery] = _claim(db)
    with db.session() as session:
        assert mark_delivered(session, delivery.id, now=T0 + SECOND)
        assert mark_delivered(session, delivery.id, now=T0 + 2 * SECOND)
        assert mark_failed(session, delivery.id, "lease expired", now=T0) is None
        assert not mark_delivered(session, delivery.id + 1000)
    stored = _delivery(db, delivery.id)
    assert (stored.status, stored.delivered_at, stored.attempts) == (
        DeliveryStatus.DELIVERED,
        T0 + SECOND,
        0,
    )


def test_retry_dead_puts_the_delivery_back_in_the_queue(db: Database) -> None:
    _record(db, "cam1", ["mqtt"])
    [delivery] = _claim(db)
    with db.session() as session:
        assert not retry_dead(session, delivery.id, now=T0)
        mark_failed(session, delivery.id, "refused", permanent=True)
    with db.session() as session:
        assert retry_dead(session, delivery.id, now=T0 + 3 * SECOND)
    retried = _delivery(db, delivery.id)
    assert (retried.status, retried.attempts, retried.last_error) == (
        DeliveryStatus.PENDING,
        0,
        "refused",
    )
    assert [d.id for d in _claim(db, now=T0 + 3 * SECOND)] == [delivery.id]


def test_trim_removes_only_old_delivered_rows(db: Database) -> None:
    for camera_id in ("old", "recent", "pending", "dead"):
        _record(db, camera_id, ["mqtt"])
    claimed = {d.camera_id: d.id for d in _claim(db)}
    day = timedelta(days=1)
    with db.session() as session:
        mark_delivered(session, claimed["old"], now=T0)
        mark_delivered(session, claimed["recent"], now=T0 + 2 * day)
        mark_failed(session, claimed["dead"], "refused", permanent=True)
    with db.session() as session:
        assert trim_delivered(session, day, now=T0 + 2 * day + SECOND) == 1
    with db.session() as session:
        left = session.scalars(select(Delivery.camera_id).order_by(Delivery.camera_id)).all()
    assert left == ["dead", "pending", "recent"]
    assert _count(db, AlertEvent) == 4


def test_seq_is_never_reused_after_rows_are_deleted(db: Database) -> None:
    last = _record(db, "cam1", ["mqtt"])
    with db.session() as session:
        session.execute(delete(Alert))
    assert _count(db, Delivery) == 0
    assert _record(db, "cam1", ["mqtt"]).seq > last.seq
