"""Builders and a recording sink for outbox tests."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from typing import Any

from atalaia.config.sinks import WebhookSink
from atalaia.events.recorder import record_alert_event
from atalaia.events.types import AlertEvent, AlertState, new_id
from atalaia.storage.db import Database


def alert_state(camera: str = "cam1", **changes: Any) -> AlertState:
    values: dict[str, Any] = dict(
        id=new_id(),
        camera=camera,
        label="person",
        rule="intrusion",
        rule_type="object_in_zone",
        zone="dock",
        score=0.8,
        top_score=0.9,
        box=(10.0, 20.0, 30.0, 40.0),
        track_id=7,
        start_time=time.time(),
    )
    values.update(changes)
    return AlertState(**values)


def new_event(camera: str = "cam1", **changes: Any) -> AlertEvent:
    return AlertEvent("new", after=alert_state(camera, **changes), created_at=time.time())


def end_event(new: AlertEvent) -> AlertEvent:
    now = time.time()
    return AlertEvent("end", after=new.after.evolve(end_time=now), before=new.after, created_at=now)


def record(db: Database, events: Iterable[AlertEvent], sinks: list[str]) -> list[str]:
    """Commit each event (one transaction each, as camera processes do); returns row ids."""
    ids = []
    for event in events:
        with db.session() as session:
            ids.append(record_alert_event(session, event, sinks).id)
    return ids


def sink_config(**changes: Any) -> WebhookSink:
    """A sink config for test sinks: only the delivery policy fields matter."""
    values: dict[str, Any] = dict(
        type="webhook",
        url="http://127.0.0.1:9",
        backoff_initial=0.05,
        backoff_max=0.2,
        timeout=2.0,
        max_attempts=5,
    )
    values.update(changes)
    return WebhookSink(**values)


class RecordingSink:
    """A sink that keeps what it was given; `fail` decides per event whether to raise."""

    def __init__(self, name: str, fail: Callable[[AlertEvent], bool] | None = None) -> None:
        self.name = name
        self.fail = fail
        self.events: list[AlertEvent] = []
        self.attempts = 0
        self.started = self.closed = False
        self.delay = 0.0
        self.arrived = asyncio.Event()

    async def start(self) -> None:
        self.started = True

    async def deliver(self, event: AlertEvent) -> None:
        self.attempts += 1
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.fail is not None and self.fail(event):
            raise RuntimeError(f"refused {event.id} token=hunter2-secret")
        self.events.append(event)
        self.arrived.set()

    async def close(self) -> None:
        self.closed = True

    def health(self) -> dict[str, Any]:
        return {"connected": True}

    @property
    def ids(self) -> list[str]:
        return [e.id for e in self.events]


async def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.02)
