"""The alert outbox: events are written before any sink sees them, then delivered per sink.

A delivery goes through: `record_event` (pending) -> `due_deliveries` (claimed for a lease) ->
`mark_delivered`, or `mark_failed` (pending again after a backoff; dead after too many tries) ->
`retry_dead` by hand. Delivery is at least once: a claimer that dies mid-delivery loses its
lease and the row is sent again, so sinks drop duplicates by the event's stable id.

Order per camera and sink is kept: only the oldest pending delivery of a camera is ever due, so
a later event cannot overtake an earlier one that is in flight or waiting for a retry. Other
cameras carry on meanwhile. This holds when each camera's events are written by one writer at
a time (its camera process), which keeps `seq` in commit order for that camera.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, delete, exists, func, select, update
from sqlalchemy.orm import Session, aliased, selectinload

from atalaia.redact import mask_secrets
from atalaia.storage.models import (
    Alert,
    AlertEvent,
    AlertState,
    Delivery,
    DeliveryStatus,
    EventType,
)
from atalaia.storage.types import utcnow

MAX_ERROR_CHARS = 2000
DEFAULT_LEASE = timedelta(seconds=60)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff, capped, then dead.

    Dead is a stop, not a loss: the row stays for an operator to inspect and `retry_dead`. It
    exists so one event a sink always rejects cannot hold back that camera's later events
    forever.
    """

    first_delay: timedelta = timedelta(seconds=2)
    factor: float = 2.0
    max_delay: timedelta = timedelta(minutes=10)
    max_attempts: int = 15

    def delay(self, attempts: int) -> timedelta:
        """The wait after the `attempts`-th failed attempt (1 for the first failure)."""
        seconds = self.first_delay.total_seconds() * self.factor ** max(attempts - 1, 0)
        return min(timedelta(seconds=seconds), self.max_delay)


def record_event(
    session: Session,
    alert: Alert,
    event_type: EventType,
    payload: Mapping[str, Any],
    sinks: Iterable[str],
    *,
    now: datetime | None = None,
    event_id: str | None = None,
) -> AlertEvent:
    """Write `alert`, one event for it, and one pending delivery per sink, all or nothing.

    `event_id` is the producer's stable id for the event (the one sinks deliver, so consumers
    can drop duplicates); the row takes it, so the API, the sinks and the logs all name an
    event the same way. A new id is made when none is given.

    The writes run in a savepoint: if any of them fails, none is kept (a new alert included)
    and the caller's transaction stays usable. An END event also ends the alert, so the alert
    row and the event that announces its end can never disagree.
    """
    now = now or utcnow()
    names = list(dict.fromkeys(sinks))
    if any(not name for name in names):
        raise ValueError("sink names must not be empty")
    with session.begin_nested():
        if event_type is EventType.END:
            alert.state = AlertState.ENDED
            if alert.end_time is None:
                alert.end_time = now
        session.add(alert)
        event = AlertEvent(
            alert_id=alert.id,
            type=event_type,
            camera_id=alert.camera_id,
            payload=dict(payload),
            created_at=now,
        )
        if event_id is not None:
            event.id = event_id
        session.add(event)
        # The alert must exist before its event, and the event's seq is needed below.
        session.flush()
        session.add_all(
            Delivery(
                event_id=event.id,
                event_seq=event.seq,
                camera_id=event.camera_id,
                sink=name,
                next_attempt_at=now,
                created_at=now,
            )
            for name in names
        )
        session.flush()
    return event


def due_deliveries(
    session: Session,
    sink: str,
    now: datetime,
    limit: int = 100,
    *,
    lease: timedelta = DEFAULT_LEASE,
    claimer: str | None = None,
) -> list[Delivery]:
    """Claim up to `limit` deliveries for `sink` that are due, oldest first, with their events.

    A claimed row is leased: its `next_attempt_at` moves to `now + lease`, so once the caller
    commits (do it straight away, then deliver outside the transaction) no other claimer takes
    it until the lease runs out. On PostgreSQL rows that another claimer has locked are skipped
    (FOR UPDATE SKIP LOCKED) instead of waited for; on SQLite the session's write lock already
    keeps claimers apart. At most one delivery per camera is returned (see the module doc).
    `claimer` (a cluster node's id) is written on the rows, so that the others can hand them
    back at once when that node dies instead of waiting out the lease.
    """
    earlier = aliased(Delivery)
    waits_behind_earlier = exists().where(
        earlier.sink == Delivery.sink,
        earlier.camera_id == Delivery.camera_id,
        earlier.status == DeliveryStatus.PENDING,
        earlier.event_seq < Delivery.event_seq,
    )
    query = (
        select(Delivery)
        .where(
            Delivery.sink == sink,
            Delivery.status == DeliveryStatus.PENDING,
            Delivery.next_attempt_at <= now,
            ~waits_behind_earlier,
        )
        .order_by(Delivery.event_seq)
        .limit(limit)
        .with_for_update(skip_locked=True, of=Delivery)
        .options(selectinload(Delivery.event))
        .execution_options(populate_existing=True)
    )
    claimed = list(session.scalars(query))
    for delivery in claimed:
        delivery.next_attempt_at = now + lease
        delivery.claimed_by = claimer
    session.flush()
    return claimed


def mark_delivered(session: Session, delivery_id: int, *, now: datetime | None = None) -> bool:
    """Record that the sink acknowledged the delivery; False if the row no longer exists.

    A row marked dead meanwhile becomes delivered all the same: the sink did receive it. A
    second acknowledgement keeps the time of the first.
    """
    delivery = _locked(session, delivery_id)
    if delivery is None:
        return False
    if delivery.status is DeliveryStatus.DELIVERED:
        return True
    delivery.status = DeliveryStatus.DELIVERED
    delivery.delivered_at = now or utcnow()
    delivery.claimed_by = None
    session.flush()
    return True


def mark_failed(
    session: Session,
    delivery_id: int,
    error: str,
    *,
    now: datetime | None = None,
    policy: RetryPolicy | None = None,
    permanent: bool = False,
) -> Delivery | None:
    """Count a failed attempt and schedule the next one, or mark the delivery dead.

    `permanent` marks it dead at once, for errors a retry cannot fix (a sink rejecting the
    payload). Returns None, changing nothing, when the row is gone or no longer pending: a
    claimer whose lease ran out must not undo another claimer's success. The error text is
    masked, since sink errors often quote URLs with credentials.
    """
    policy = policy or RetryPolicy()
    now = now or utcnow()
    delivery = _locked(session, delivery_id)
    if delivery is None or delivery.status is not DeliveryStatus.PENDING:
        return None
    delivery.attempts += 1
    delivery.claimed_by = None  # a retry waits for its time, whoever made the attempt
    delivery.last_error = mask_secrets(error)[:MAX_ERROR_CHARS]
    if permanent or delivery.attempts >= policy.max_attempts:
        delivery.status = DeliveryStatus.DEAD
    else:
        delivery.next_attempt_at = now + policy.delay(delivery.attempts)
    session.flush()
    return delivery


def retry_dead(session: Session, delivery_id: int, *, now: datetime | None = None) -> bool:
    """Put a dead delivery back in the queue, due now, with a fresh count of attempts.

    The last error is kept so the operator can still see why it died. False when the row is
    missing or not dead.
    """
    delivery = _locked(session, delivery_id)
    if delivery is None or delivery.status is not DeliveryStatus.DEAD:
        return False
    delivery.status = DeliveryStatus.PENDING
    delivery.attempts = 0
    delivery.next_attempt_at = now or utcnow()
    session.flush()
    return True


def _backed_off(sink: str, now: datetime, exclude: Collection[int]) -> list[ColumnElement[bool]]:
    conditions = [
        Delivery.sink == sink,
        Delivery.status == DeliveryStatus.PENDING,
        Delivery.attempts > 0,
        Delivery.next_attempt_at > now,
    ]
    if exclude:
        conditions.append(Delivery.id.not_in(list(exclude)))
    return conditions


def backed_off_count(
    session: Session, sink: str, *, now: datetime | None = None, exclude: Collection[int] = ()
) -> int:
    """How many of `sink`'s pending deliveries failed before and wait for a later retry."""
    query = (
        select(func.count())
        .select_from(Delivery)
        .where(*_backed_off(sink, now or utcnow(), exclude))
    )
    return int(session.scalar(query) or 0)


def make_backed_off_due(
    session: Session, sink: str, *, now: datetime | None = None, exclude: Collection[int] = ()
) -> int:
    """Make `sink`'s backed-off deliveries due now, because its destination answers again.

    Only the schedule changes: attempt counts, errors, dead rows and the per-camera order stay
    as they are (the next claim takes them oldest first). `exclude` names rows the caller has
    in flight. A row another node holds under a lease after a failed attempt looks the same as
    one waiting for a retry and is made due too; it may then be sent twice, which consumers
    handle by the event id as for any lease that runs out. Returns how many rows changed.
    """
    now = now or utcnow()
    result = session.execute(
        update(Delivery)
        .where(*_backed_off(sink, now, exclude))
        .values(next_attempt_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0))


def trim_delivered(session: Session, older_than: timedelta, *, now: datetime | None = None) -> int:
    """Delete delivered rows older than `older_than`; returns how many went.

    Pending and dead rows are never trimmed: they are work still owed. Events themselves stay
    as alert history until their alert is deleted.
    """
    cutoff = (now or utcnow()) - older_than
    result = session.execute(
        delete(Delivery)
        .where(Delivery.status == DeliveryStatus.DELIVERED, Delivery.delivered_at < cutoff)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0))


def _locked(session: Session, delivery_id: int) -> Delivery | None:
    """The delivery, freshly read and locked against concurrent changes until commit."""
    return session.scalars(
        select(Delivery)
        .where(Delivery.id == delivery_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one_or_none()
