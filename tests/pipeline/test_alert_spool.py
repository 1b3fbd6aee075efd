"""AlertSpool: events a camera could not write before it stopped are kept on disk and written
first by its next recorder; nothing twice, nothing out of order."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from atalaia.events.types import AlertEvent
from atalaia.pipeline.alert_recorder import AlertRecorder
from atalaia.pipeline.alert_spool import AlertSpool
from atalaia.storage import Database
from atalaia.storage.models import AlertEvent as AlertEventRow
from tests.pipeline.test_alert_recorder import (
    SINKS,
    event_ids,
    lifecycle,
    locked,
    sqlite,  # noqa: F401  (fixture)
    state,
    wait_for,
)


def test_events_round_trip_through_the_file(tmp_path: Path) -> None:
    spool = AlertSpool.for_camera(tmp_path, "gate")
    events = lifecycle()
    assert events[0].before is None
    assert spool.save(events[:2]) == []
    assert spool.save(events[2:]) == []  # appends
    assert spool.path == tmp_path / "spool" / "gate.jsonl"
    assert spool.load() == events
    spool.clear()
    assert spool.load() == [] and not spool.path.exists()


def test_a_damaged_line_is_skipped_and_named(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    spool = AlertSpool(tmp_path / "gate.jsonl")
    first, second, third = lifecycle()
    spool.save([first])
    with spool.path.open("a") as f:
        f.write('{"id": "half a line, the pow')  # a crash in the middle of a write
        f.write("\n[1, 2]\n")
    spool.save([second, third])
    with caplog.at_level(logging.ERROR):
        assert spool.load() == [first, second, third]
    assert "gate.jsonl line 2 is not an alert event" in caplog.text
    assert "gate.jsonl line 3 is not an alert event" in caplog.text


def test_an_event_that_cannot_be_serialised_is_returned(tmp_path: Path) -> None:
    spool = AlertSpool(tmp_path / "gate.jsonl")
    good = lifecycle()[0]
    bad = AlertEvent("new", after=state("2" * 32, extra={"not json": {1, 2}}))
    assert spool.save([good, bad]) == [bad]
    assert spool.load() == [good]


def test_left_at_shutdown_is_kept_then_written_first_by_the_next_start(
    sqlite: Database,  # noqa: F811
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    spool = AlertSpool.for_camera(tmp_path, "gate")
    before_stop = [e for i in range(3) for e in lifecycle(f"{i:032x}")]
    recorder = AlertRecorder(sqlite, SINKS, retry_initial=0.05, spool=spool).start()
    with locked(sqlite), caplog.at_level(logging.WARNING):
        for event in before_stop:
            recorder.submit(event)
        assert wait_for(lambda: recorder.stats()["db_errors"] >= 1)
        recorder.close(timeout=0.5)
    stats = recorder.stats()
    assert stats["lost_at_shutdown"] == 0 and stats["spooled"] == len(before_stop)
    assert "kept in" in caplog.text and event_ids(sqlite) == []

    # The camera starts again, the database is back; a new alert arrives at once.
    announced: list[str] = []
    after_start = lifecycle("f" * 32)
    again = AlertRecorder(sqlite, SINKS, lambda e: announced.append(e.id), spool=spool)
    for event in after_start:
        again.submit(event)
    again.start()
    assert wait_for(lambda: again.stats()["pending"] == 0 and len(announced) == 12)
    again.close()
    expected = [e.id for e in before_stop + after_start]
    assert event_ids(sqlite) == expected and announced == expected
    assert again.stats()["replayed"] == len(before_stop)
    assert not spool.path.exists()


def test_events_already_stored_are_not_written_twice(
    sqlite: Database,  # noqa: F811
    tmp_path: Path,
) -> None:
    events = lifecycle()
    first = AlertRecorder(sqlite, SINKS).start()
    first.submit(events[0])
    assert wait_for(lambda: first.stats()["committed"] == 1)
    first.close()
    # A commit whose acknowledgement was lost: the event is stored *and* kept.
    spool = AlertSpool(tmp_path / "gate.jsonl")
    spool.save(events)
    again = AlertRecorder(sqlite, SINKS, spool=spool).start()
    assert wait_for(lambda: not spool.path.exists())
    again.close()
    assert event_ids(sqlite) == [e.id for e in events]
    assert again.stats()["replayed"] == 2 and again.stats()["rejected"] == 0


def test_a_database_still_down_at_the_next_start_keeps_the_file_whole(
    sqlite: Database,  # noqa: F811
    tmp_path: Path,
) -> None:
    spool = AlertSpool(tmp_path / "gate.jsonl")
    old, new = lifecycle("a" * 32), lifecycle("b" * 32)
    spool.save(old)
    recorder = AlertRecorder(sqlite, SINKS, retry_initial=0.05, spool=spool)
    with locked(sqlite):
        recorder.start()
        for event in new:
            recorder.submit(event)
        assert wait_for(lambda: recorder.stats()["db_errors"] >= 1)
        recorder.close(timeout=0.5)
    # Old first, then what came during this run: the order the sinks will see.
    assert [e.id for e in spool.load()] == [e.id for e in old + new]
    assert recorder.stats()["lost_at_shutdown"] == 0


def test_an_unwritable_spool_counts_the_loss(
    sqlite: Database,  # noqa: F811
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    (tmp_path / "spool").write_text("a file where the directory should be")
    spool = AlertSpool.for_camera(tmp_path, "gate")
    recorder = AlertRecorder(sqlite, SINKS, retry_initial=0.05, spool=spool).start()
    with locked(sqlite), caplog.at_level(logging.ERROR):
        for event in lifecycle():
            recorder.submit(event)
        recorder.close(timeout=0.5)
    assert recorder.stats()["lost_at_shutdown"] == 3
    assert "cannot keep alert events" in caplog.text
    assert "3 alert events could not be written" in caplog.text


CHILD = """
import sys, time
from pathlib import Path
from atalaia.pipeline.alert_recorder import AlertRecorder
from atalaia.pipeline.alert_spool import AlertSpool
from atalaia.storage import Database
from tests.pipeline.test_alert_recorder import SINKS, lifecycle

db = Database(sys.argv[1], busy_timeout_s=0.2)
spool = AlertSpool(Path(sys.argv[2]))
recorder = AlertRecorder(db, SINKS, retry_initial=0.05, retry_max=0.2, spool=spool).start()
for i in range(10):
    for event in lifecycle(f"{i:032x}"):
        recorder.submit(event)
while recorder.stats()["spooled"] < 30:
    time.sleep(0.02)
for event in lifecycle(f"{10:032x}"):  # submitted while the database is still down
    recorder.submit(event)
while recorder.stats()["spooled"] < 33:
    time.sleep(0.02)
print("spooled", flush=True)
time.sleep(120)
"""


def test_kill_9_while_the_database_is_down_loses_nothing(
    sqlite: Database,  # noqa: F811
    tmp_path: Path,
) -> None:
    """The camera process dies (OOM killer, the supervisor's heartbeat kill) during an outage:
    its events were already moved to the spool by the writer thread, and the next start
    writes every one, each alert's events in order."""
    spool_path = tmp_path / "spool" / "gate.jsonl"
    root = Path(__file__).resolve().parents[2]
    with locked(sqlite):
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(sqlite.engine.url), str(spool_path)],
            cwd=root,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert child.stdout is not None
            assert child.stdout.readline().strip() == "spooled"
        finally:
            child.kill()  # SIGKILL: no close(), no finally, no atexit
            child.wait(10)
    assert event_ids(sqlite) == []
    recorder = AlertRecorder(sqlite, SINKS, spool=AlertSpool(spool_path)).start()
    assert wait_for(lambda: recorder.stats()["replayed"] == 33)
    recorder.close()
    with sqlite.session() as session:
        payloads = list(session.scalars(select(AlertEventRow.payload).order_by(AlertEventRow.seq)))
    assert len(payloads) == 33 and len({p["id"] for p in payloads}) == 33
    order = [(p["after"]["id"], p["type"]) for p in payloads]
    assert order == [(f"{i:032x}", t) for i in range(11) for t in ("new", "update", "end")]
    assert not spool_path.exists()
