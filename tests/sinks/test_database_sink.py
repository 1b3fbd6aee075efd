"""The database sink and the counts the API reads, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from atalaia.events.service import OutboxService
from atalaia.sinks.alert_counts import AlertCount
from atalaia.sinks.base import DeliveryError, SinkContext
from atalaia.sinks.database import DatabaseSink, DatabaseSinkConfig
from atalaia.storage.db import Database
from tests.events.support import end_event, new_event, record

CONFIG = DatabaseSinkConfig(type="database")


async def test_confirms_rows_and_keeps_active_alerts_idempotently(
    db: Database, tmp_path: Path
) -> None:
    a = new_event("gate")
    b = new_event("gate", label="car", rule="parking")
    c = new_event("yard")
    record(db, [a, b, c], ["database"])
    sink = DatabaseSink(CONFIG, "database", SinkContext(db, tmp_path))
    for event in (a, a, b, c):  # `a` twice: at-least-once must not count it twice
        await sink.deliver(event)
    assert sink.active_counts() == {
        ("gate", "person", "intrusion"): 1,
        ("gate", "car", "parking"): 1,
        ("yard", "person", "intrusion"): 1,
    }
    end = end_event(a)
    record(db, [end], ["database"])
    await sink.deliver(end)
    assert ("gate", "person", "intrusion") not in sink.active_counts()
    assert sink.health()["active_by_camera"] == {"gate": {"car": 1}, "yard": {"person": 1}}
    # A restarted sink starts from the database's active alerts.
    fresh = DatabaseSink(CONFIG, "database", SinkContext(db, tmp_path))
    await fresh.start()
    assert fresh.active_counts() == sink.active_counts()


async def test_an_alert_missing_from_the_database_is_not_confirmed(
    sqlite_db: Database, tmp_path: Path
) -> None:
    sink = DatabaseSink(CONFIG, "database", SinkContext(sqlite_db, tmp_path))
    with pytest.raises(DeliveryError, match="not in the database"):
        await sink.deliver(new_event())


async def test_alert_counts_per_camera_label_and_rule(db: Database) -> None:
    early = new_event("gate", start_time=datetime(2026, 1, 1, tzinfo=UTC).timestamp())
    events = [early, new_event("gate"), new_event("gate", label="car"), new_event("yard")]
    record(db, events, ["database"])
    record(db, [end_event(events[1])], ["database"])
    service = OutboxService(db, [])
    assert await service.alert_counts() == [
        AlertCount("gate", "car", "intrusion", total=1, active=1),
        AlertCount("gate", "person", "intrusion", total=2, active=1),
        AlertCount("yard", "person", "intrusion", total=1, active=1),
    ]
    since = datetime(2026, 6, 1, tzinfo=UTC)
    assert await service.alert_counts(since=since, camera="gate") == [
        AlertCount("gate", "car", "intrusion", total=1, active=1),
        AlertCount("gate", "person", "intrusion", total=1, active=0),
    ]
    until = datetime(2026, 2, 1, tzinfo=UTC)
    assert await service.alert_counts(until=until) == [
        AlertCount("gate", "person", "intrusion", total=1, active=1)
    ]
