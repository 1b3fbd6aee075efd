"""EventBus: topics, isolation between handlers, drop counting, and the durable alert path."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from atalaia.events.bus import BusMessage, EventBus
from atalaia.events.recorder import OutboxRecorder
from atalaia.events.topics import ALERT_NEW, CAMERA_OFFLINE, CAMERA_ONLINE, SYSTEM
from atalaia.events.types import AlertEvent
from atalaia.storage.db import Database
from atalaia.storage.models import Alert, Delivery
from tests.events.support import end_event, new_event, wait_until


async def test_handlers_get_only_their_topics() -> None:
    bus = EventBus()
    seen: dict[str, list[BusMessage]] = {"cams": [], "all": []}

    async def cams(m: BusMessage) -> None:
        seen["cams"].append(m)

    async def everything(m: BusMessage) -> None:
        seen["all"].append(m)

    bus.subscribe("cams", cams, [CAMERA_ONLINE, CAMERA_OFFLINE])
    bus.subscribe("all", everything, [CAMERA_ONLINE, CAMERA_OFFLINE, SYSTEM])
    bus.start()
    assert bus.publish(CAMERA_ONLINE, {"camera": "gate"}, camera="gate") == 2
    assert bus.publish(SYSTEM, {"msg": "disk low"}) == 1
    await wait_until(lambda: len(seen["all"]) == 2, 5, "messages")
    await bus.stop()
    assert [m.topic for m in seen["cams"]] == [CAMERA_ONLINE]
    assert seen["cams"][0].camera == "gate" and seen["cams"][0].data == {"camera": "gate"}
    assert [m.topic for m in seen["all"]] == [CAMERA_ONLINE, SYSTEM]


async def test_a_failing_or_slow_handler_never_reaches_another() -> None:
    bus = EventBus()
    fast: list[int] = []
    release = asyncio.Event()

    async def broken(m: BusMessage) -> None:
        raise RuntimeError("boom")

    async def slow(m: BusMessage) -> None:
        await release.wait()

    async def quick(m: BusMessage) -> None:
        fast.append(m.data)

    bus.subscribe("broken", broken, [SYSTEM])
    bus.subscribe("slow", slow, [SYSTEM], queue_size=3)
    bus.subscribe("quick", quick, [SYSTEM])
    bus.start()
    for i in range(10):
        bus.publish(SYSTEM, i)  # never waits, even with "slow" stuck
    await wait_until(lambda: len(fast) == 10, 5, "the quick handler")
    assert fast == list(range(10))
    status = bus.status()["handlers"]
    await wait_until(lambda: bus.status()["handlers"]["broken"]["failed"] == 10, 5, "failures")
    # "slow" queued 3 (its handler had not run yet) and dropped the other 7, for it alone.
    assert status["slow"]["dropped"] == 7 and status["slow"]["received"] == 3
    assert status["quick"]["dropped"] == 0
    assert bus.status()["handlers"]["broken"]["last_error"] == "RuntimeError on system"
    release.set()
    await bus.stop()


async def test_a_stuck_handler_is_timed_out_and_goes_on() -> None:
    bus = EventBus()
    handled: list[int] = []

    async def stuck_once(m: BusMessage) -> None:
        if m.data == 0:
            await asyncio.sleep(3600)
        handled.append(m.data)

    bus.subscribe("h", stuck_once, [SYSTEM], timeout=0.2)
    bus.start()
    bus.publish(SYSTEM, 0)
    bus.publish(SYSTEM, 1)
    await wait_until(lambda: handled == [1], 5, "the message after the stuck one")
    assert bus.status()["handlers"]["h"]["timed_out"] == 1
    await bus.stop()


def test_alert_topics_are_refused_on_the_lossy_path() -> None:
    bus = EventBus()

    async def h(m: BusMessage) -> None:
        pass

    with pytest.raises(ValueError, match="durable outbox"):
        bus.subscribe("x", h, [ALERT_NEW])
    with pytest.raises(ValueError, match="publish_alert"):
        bus.publish(ALERT_NEW, {})
    with pytest.raises(ValueError, match="unknown topic"):
        bus.subscribe("y", h, ["camera.exploded"])


async def test_publish_alert_commits_to_the_outbox_then_wakes(db: Database) -> None:
    woken: list[AlertEvent] = []
    bus = EventBus(recorder=OutboxRecorder(db, ["database", "mqtt"]), on_alert=woken.append)
    new = new_event("gate", snapshot_path="a.jpg")
    await bus.publish_alert(new)
    await bus.publish_alert(end_event(new))
    assert [e.type for e in woken] == ["new", "end"]
    with db.session() as session:
        alert = session.get_one(Alert, new.after.id)
        deliveries = session.scalars(select(Delivery)).all()
    assert alert.state.value == "ended" and alert.end_time is not None
    assert alert.snapshot_path == "a.jpg" and alert.camera_id == "gate"
    assert sorted(d.sink for d in deliveries) == ["database", "database", "mqtt", "mqtt"]


async def test_publish_alert_without_a_recorder_refuses() -> None:
    with pytest.raises(RuntimeError, match="no outbox recorder"):
        await EventBus().publish_alert(new_event())
