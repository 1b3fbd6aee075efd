"""BoardAlerts: committed alerts reach the serial board's command queue through one worker
thread; a full queue drops the oldest alert, counted; `stop()` joins the worker.

Real alert events in a migrated SQLite database and a real SerialMonitor (never started: its
`on_alert` queues and records commands without the port being open).
"""

from __future__ import annotations

import threading
from pathlib import Path

from atalaia.config.monitors import SerialMonitorConfig
from atalaia.events.types import AlertEvent, AlertState
from atalaia.monitors.serial_monitor import SerialMonitor
from atalaia.service.board_alerts import BoardAlerts
from atalaia.storage.db import Database
from atalaia.storage.models import EventType
from atalaia.storage.outbox import record_event
from tests.monitors.support import wait_until
from tests.storage.helpers import make_alert


def board() -> SerialMonitor:
    return SerialMonitor(
        SerialMonitorConfig.model_validate(
            {"port": "loop://", "alert_commands": [{"command": {"action": "siren"}}]}
        )
    )


def committed(database: Database, alert_id: str) -> str:
    """An alert committed as a camera commits it; returns its event's id."""
    state = AlertState(
        id=alert_id,
        camera="press",
        label="person",
        rule="intrusion",
        rule_type="object_in_zone",
        zone=None,
        score=0.9,
        top_score=0.9,
        box=(0, 0, 1, 1),
        track_id=1,
        start_time=0.0,
    )
    payload = AlertEvent(type="new", after=state).to_payload()
    with database.session() as session:
        event = record_event(session, make_alert("press"), EventType.NEW, payload, ["database"])
        return str(event.id)


def commanded(serial: SerialMonitor) -> list[str | None]:
    return [c["alert_id"] for c in serial.snapshot().recent_commands]


def test_a_full_queue_drops_the_oldest_alert_and_the_worker_passes_the_rest(
    tmp_path: Path,
) -> None:
    database = Database(f"sqlite:///{tmp_path / 'atalaia.db'}")
    database.migrate()
    serial = board()
    alerts = BoardAlerts(database, serial, queue_size=2)
    events = [committed(database, f"alert-{n}") for n in range(3)]
    for event_id in events:  # the worker has not started: the third offer finds the queue full
        alerts.offer(event_id)
    assert alerts.dropped == 1
    alerts.start()
    try:
        assert wait_until(lambda: alerts.passed == 2, 10), (alerts.passed, alerts.failed)
        assert commanded(serial) == ["alert-1", "alert-2"]
        alerts.offer("no-such-event")  # read, not found, nothing sent; the worker goes on
        alerts.offer(committed(database, "alert-3"))
        assert wait_until(lambda: len(commanded(serial)) == 3, 10)
        assert commanded(serial)[-1] == "alert-3" and alerts.failed == 0
    finally:
        assert alerts.stop(5.0) is True
        database.dispose()
    assert not [t for t in threading.enumerate() if t.name == "atalaia-board-alerts"]
    alerts.offer(committed(database, "alert-4"))  # stopped: refused, nothing queued
    assert alerts.dropped == 1 and len(commanded(serial)) == 3
