"""The alert recorder's mode: every move checked against the written table, and the real
recorder walking through it: the database down -> spool -> replay -> normal, closing while
down (the database back in time, or not), and giving up."""

from __future__ import annotations

import logging
import threading
from collections import deque
from dataclasses import FrozenInstanceError, asdict
from pathlib import Path

import pytest

from atalaia.pipeline.alert_mode import (
    TRANSITIONS,
    IllegalTransition,
    ModeMachine,
    RecorderMode,
)
from atalaia.pipeline.alert_recorder import AlertRecorder
from atalaia.pipeline.alert_spool import AlertSpool
from atalaia.storage import Database
from tests.pipeline.test_alert_recorder import (
    SINKS,
    event_ids,
    lifecycle,
    locked,
    sqlite,  # noqa: F401  (fixture)
    wait_for,
)

M = RecorderMode


def paths() -> dict[RecorderMode, list[RecorderMode]]:
    """A shortest legal path from NOT_STARTED to every mode reachable through TRANSITIONS."""
    found = {M.NOT_STARTED: [M.NOT_STARTED]}
    todo = deque([M.NOT_STARTED])
    while todo:
        mode = todo.popleft()
        for nxt in sorted(TRANSITIONS[mode], key=lambda m: m.value):
            if nxt not in found:
                found[nxt] = [*found[mode], nxt]
                todo.append(nxt)
    return found


def machine_in(mode: RecorderMode) -> ModeMachine:
    machine = ModeMachine(threading.Condition())
    for step in paths()[mode][1:]:
        machine.move(step)
    assert machine.mode is mode
    return machine


def test_every_mode_is_reachable_and_every_mode_can_end_closed() -> None:
    assert set(paths()) == set(RecorderMode)
    for mode in RecorderMode:  # no mode from which the recorder cannot be closed
        seen, todo = {mode}, [mode]
        while todo:
            for nxt in TRANSITIONS[todo.pop()] - seen:
                seen.add(nxt)
                todo.append(nxt)
        assert M.CLOSED in seen or mode is M.CLOSED, mode


@pytest.mark.parametrize("start", list(RecorderMode), ids=lambda m: m.name)
def test_moves_outside_the_table_raise_and_are_logged(
    start: RecorderMode, caplog: pytest.LogCaptureFixture
) -> None:
    for to in RecorderMode:
        machine = machine_in(start)
        if to is start or to in TRANSITIONS[start]:
            assert machine.move(to) is start and machine.mode is to
            continue
        caplog.clear()
        with caplog.at_level(logging.ERROR), pytest.raises(IllegalTransition):
            machine.move(to)
        assert machine.mode is start
        assert f"illegal move {start.name} -> {to.name}" in caplog.text


def test_once_closing_the_writer_no_longer_moves_the_mode() -> None:
    for ending in (M.CLOSING, M.GIVEN_UP, M.CLOSED):
        machine = machine_in(ending)
        for writer_mode in (M.NORMAL, M.REPLAYING, M.DOWN, M.SPILLING):
            assert machine.writer_moves(writer_mode) is False and machine.mode is ending
    machine = machine_in(M.NORMAL)
    assert machine.writer_moves(M.DOWN) and machine.mode is M.DOWN
    with pytest.raises(IllegalTransition):
        machine.writer_moves(M.CLOSING)  # only close() closes


def between(history: tuple[RecorderMode, ...], head: list[RecorderMode]) -> list[RecorderMode]:
    assert list(history[: len(head)]) == head, history
    return list(history[len(head) :])


def test_database_down_then_spool_then_replay_then_normal(
    sqlite: Database,  # noqa: F811
    tmp_path: Path,
) -> None:
    spool = AlertSpool(tmp_path / "gate.jsonl")
    recorder = AlertRecorder(sqlite, SINKS, retry_initial=0.05, retry_max=0.2, spool=spool)
    assert recorder.mode is M.NOT_STARTED
    recorder.start()
    events = lifecycle("a" * 32) + lifecycle("b" * 32)
    with locked(sqlite):
        for event in events:
            recorder.submit(event)
        assert wait_for(lambda: recorder.stats()["spooled"] == len(events))
        assert recorder.mode in (M.SPILLING, M.REPLAYING)
        assert recorder.snapshot().pending == len(events)
    assert wait_for(lambda: recorder.stats()["committed"] == len(events))
    assert wait_for(lambda: recorder.mode is M.NORMAL)
    rest = between(recorder.mode_history, [M.NOT_STARTED, M.NORMAL, M.SPILLING])
    # Each retry replays the spool first; it failed while locked, then wrote everything.
    assert rest[-2:] == [M.REPLAYING, M.NORMAL]
    assert rest[:-2] == [M.REPLAYING, M.SPILLING] * (len(rest[:-2]) // 2)
    recorder.close()
    assert recorder.mode is M.CLOSED and recorder.mode_history[-2:] == (M.CLOSING, M.CLOSED)
    assert event_ids(sqlite) == [e.id for e in events] and not spool.path.exists()
    assert recorder.stats()["replayed"] == len(events)


def test_down_without_a_spool_waits_in_memory_then_normal(sqlite: Database) -> None:  # noqa: F811
    recorder = AlertRecorder(sqlite, SINKS, retry_initial=0.05, retry_max=0.2).start()
    with locked(sqlite):
        for event in lifecycle():
            recorder.submit(event)
        assert wait_for(lambda: recorder.mode is M.DOWN)
        assert recorder.snapshot().db_down_s >= 0.0 and recorder.snapshot().pending == 3
    assert wait_for(lambda: recorder.mode is M.NORMAL and recorder.stats()["committed"] == 3)
    assert recorder.mode_history == (M.NOT_STARTED, M.NORMAL, M.DOWN, M.NORMAL)
    recorder.close()


def test_closing_while_down_writes_everything_if_the_database_comes_back_in_time(
    sqlite: Database,  # noqa: F811
    tmp_path: Path,
) -> None:
    spool = AlertSpool(tmp_path / "gate.jsonl")
    recorder = AlertRecorder(sqlite, SINKS, retry_initial=0.05, retry_max=0.2, spool=spool)
    recorder.start()
    closer = threading.Thread(target=recorder.close, kwargs={"timeout": 15.0})
    events = lifecycle()
    with locked(sqlite):
        for event in events:
            recorder.submit(event)
        assert wait_for(lambda: recorder.stats()["spooled"] == 3)
        closer.start()
        assert wait_for(lambda: recorder.mode is M.CLOSING)
    closer.join(20)
    assert not closer.is_alive()
    history = recorder.mode_history
    assert history[-2:] == (M.CLOSING, M.CLOSED) and M.GIVEN_UP not in history
    assert M.SPILLING in history[: history.index(M.CLOSING)]
    stats = recorder.stats()
    assert stats["committed"] == 3 and stats["replayed"] == 3 and stats["lost_at_shutdown"] == 0
    assert event_ids(sqlite) == [e.id for e in events] and not spool.path.exists()


def test_closing_while_down_gives_up_and_keeps_the_rest_in_the_spool(
    sqlite: Database,  # noqa: F811
    tmp_path: Path,
) -> None:
    spool = AlertSpool(tmp_path / "gate.jsonl")
    recorder = AlertRecorder(sqlite, SINKS, retry_initial=0.05, spool=spool).start()
    events = lifecycle()
    with locked(sqlite):
        for event in events:
            recorder.submit(event)
        assert wait_for(lambda: recorder.mode is M.SPILLING)
        recorder.close(timeout=0.3)
    assert recorder.mode_history[-3:] == (M.CLOSING, M.GIVEN_UP, M.CLOSED)
    assert [e.id for e in spool.load()] == [e.id for e in events]  # not cleared
    assert recorder.stats()["lost_at_shutdown"] == 0 and event_ids(sqlite) == []


def test_giving_up_without_a_spool_counts_the_loss(sqlite: Database) -> None:  # noqa: F811
    recorder = AlertRecorder(sqlite, SINKS, retry_initial=0.05).start()
    with locked(sqlite):
        for event in lifecycle():
            recorder.submit(event)
        assert wait_for(lambda: recorder.mode is M.DOWN)
        recorder.close(timeout=0.3)
    assert recorder.mode_history[-4:] == (M.DOWN, M.CLOSING, M.GIVEN_UP, M.CLOSED)
    assert recorder.stats()["lost_at_shutdown"] == 3 and recorder.stats()["pending"] == 0


def test_start_is_allowed_once_and_never_after_close(
    sqlite: Database,  # noqa: F811
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    recorder = AlertRecorder(sqlite, SINKS).start()
    with pytest.raises(IllegalTransition):
        recorder.start()
    recorder.close()
    recorder.close()  # a second close is harmless
    with pytest.raises(IllegalTransition):
        recorder.start()
    never_started = AlertRecorder(sqlite, SINKS, spool=AlertSpool(tmp_path / "gate.jsonl"))
    never_started.close()
    assert never_started.mode_history == (M.NOT_STARTED, M.CLOSING, M.CLOSED)
    with caplog.at_level(logging.ERROR):
        never_started.submit(lifecycle()[0])  # a caller's bug: said, and kept by a new close
    assert "submitted after the recorder was closed" in caplog.text
    never_started.close()
    assert never_started.stats()["spooled"] == 1 and never_started.mode is M.CLOSED


def test_snapshot_is_frozen_and_stats_is_its_dict(sqlite: Database) -> None:  # noqa: F811
    recorder = AlertRecorder(sqlite, SINKS, max_pending=2)
    for event in lifecycle():
        recorder.submit(event)
    snap = recorder.snapshot()
    with pytest.raises(FrozenInstanceError):
        snap.committed = 1  # type: ignore[misc]
    assert recorder.stats() == asdict(snap)
    assert list(recorder.stats()) == [
        "committed", "pending", "dropped", "dropped_updates", "rejected", "db_errors",
        "db_down_s", "last_error", "snapshots_written", "snapshots_failed",
        "snapshots_skipped", "lost_at_shutdown", "fenced", "spooled", "replayed",
    ]  # fmt: skip
    assert (snap.pending, snap.dropped_updates, snap.db_down_s) == (2, 1, 0.0)
    recorder.close()
