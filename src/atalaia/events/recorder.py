"""Writing an alert event into the outbox: the alert row, the event and its deliveries at once.

Camera processes and the main process (the bus's `publish_alert`, API-made alerts) write
alert events the same way, so the alert row always mirrors the newest event's `after` state.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from atalaia.events.types import AlertEvent, AlertState
from atalaia.storage import models
from atalaia.storage.db import Database
from atalaia.storage.outbox import record_event


def _time(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def _apply(alert: models.Alert, state: AlertState) -> None:
    alert.label = state.label
    alert.rule = state.rule
    alert.zone = state.zone
    alert.score = state.top_score
    alert.box = list(state.box)
    alert.track_id = state.track_id
    alert.start_time = _time(state.start_time)
    alert.end_time = _time(state.end_time) if state.end_time is not None else None
    alert.snapshot_path = state.snapshot_path
    alert.clip_path = state.clip_path
    alert.extra = {**state.extra, "rule_type": state.rule_type, "score": state.score}


def record_alert_event(
    session: Session, event: AlertEvent, sinks: Iterable[str]
) -> models.AlertEvent:
    """Upsert the alert from `event.after` and record the event with one pending delivery per
    sink, in the caller's transaction. The stored payload is `event.to_payload()`, whose `id`
    sinks deliver, so a producer that records the same event twice is deduplicated downstream.
    """
    state = event.after
    alert = session.get(models.Alert, state.id, with_for_update=True)
    if alert is None:
        alert = models.Alert(
            id=state.id,
            camera_id=state.camera,
            label=state.label,
            rule=state.rule,
            score=state.top_score,
            box=list(state.box),
            start_time=_time(state.start_time),
        )
    _apply(alert, state)
    created = _time(event.created_at) if event.created_at else None
    return record_event(
        session,
        alert,
        models.EventType(event.type),
        event.to_payload(),
        sinks,
        now=created,
        event_id=event.id,
    )


class OutboxRecorder:
    """`await recorder(event)`: the event committed to the outbox, off the event loop.

    The bus's alert recorder; `sinks` are the names of the enabled sinks (see
    `atalaia.events.service.enabled_sink_names`).
    """

    def __init__(self, database: Database, sinks: Sequence[str]) -> None:
        self._database = database
        self._sinks = list(sinks)

    def record(self, event: AlertEvent) -> str:
        """Commit `event`; returns the stored event's row id."""
        with self._database.session() as session:
            return record_alert_event(session, event, self._sinks).id

    async def __call__(self, event: AlertEvent) -> None:
        await asyncio.to_thread(self.record, event)
