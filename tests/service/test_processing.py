"""AlertProcessing: its state moves only as `TRANSITIONS` allows, a start without a log writer
is refused, and a start that fails half-way stops what it had started (real detector process,
reconciler and outbox, on SQLite) and can be retried."""

from __future__ import annotations

import asyncio
import multiprocessing
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from atalaia.config import AtalaiaConfig
from atalaia.logs import LogWriter
from atalaia.logs.entry import pipeline_notice
from atalaia.service.processing import (
    TRANSITIONS,
    AlertProcessing,
    InvalidTransition,
    ProcessingState,
    ProcessingUnavailable,
)
from atalaia.storage.db import Database
from tests.api.conftest import make_config


def ignore(child: str, message: object) -> None:
    """Children's messages are not what these tests look at."""


def processing_for(config: AtalaiaConfig, log_queue: object = None) -> AlertProcessing:
    config.data_dir.mkdir(parents=True, exist_ok=True)
    database = Database(config.database_url)
    database.migrate()
    return AlertProcessing(config, database, log_queue, ignore, reconcile_interval=0.5)


def test_the_transitions_reach_every_state_and_refuse_the_rest(tmp_path: Path) -> None:
    assert set(TRANSITIONS) == set(ProcessingState)
    reached = {ProcessingState.STOPPED}
    frontier = [ProcessingState.STOPPED]
    while frontier:
        for state in TRANSITIONS[frontier.pop()] - reached:
            reached.add(state)
            frontier.append(state)
    assert reached == set(ProcessingState)
    processing = processing_for(make_config(tmp_path))
    with pytest.raises(InvalidTransition, match="STOPPED -> RUNNING"):
        processing._move(ProcessingState.RUNNING)
    assert processing.state is ProcessingState.STOPPED
    # The values are the words of design note 002's status document.
    assert [s.value for s in ProcessingState] == [
        "stopped",
        "starting",
        "running",
        "stopping",
        "error",
    ]


def test_without_a_log_writer_a_start_is_refused_and_changes_nothing(tmp_path: Path) -> None:
    processing = processing_for(make_config(tmp_path))

    async def scenario() -> None:
        with pytest.raises(ProcessingUnavailable, match="no log writer"):
            await processing.start()
        assert processing.state is ProcessingState.STOPPED
        assert await processing.stop() is False

    asyncio.run(scenario())


def test_a_start_that_fails_half_way_stops_what_it_started_and_can_be_retried(
    tmp_path: Path,
) -> None:
    """The cameras table is away: the detector process, the outbox and the pipeline have
    started when the reconciler's first pass fails, and all of them must stop again."""
    writer = LogWriter(file=tmp_path / "atalaia.log", console=False)
    writer.queue.put(pipeline_notice("test", "starts the queue's feeder thread now"))
    try:
        config = make_config(tmp_path)
        processing = processing_for(config, writer.queue)
        with processing.database.engine.begin() as conn:
            conn.execute(text("ALTER TABLE cameras RENAME TO cameras_away"))
        before = set(threading.enumerate())

        async def scenario() -> None:
            assert await processing.start() is False
            assert processing.state is ProcessingState.FAILED
            assert processing.error is not None and "cameras" in processing.error
            assert processing.parts is None
            assert multiprocessing.active_children() == [], "the detector process was left"
            assert await processing.stop() is False  # nothing runs: nothing to stop
            with processing.database.engine.begin() as conn:
                conn.execute(text("ALTER TABLE cameras_away RENAME TO cameras"))
            assert await processing.start() is True
            assert processing.state is ProcessingState.RUNNING and processing.error is None
            assert processing.parts is not None and processing.parts.reconciler is not None
            assert await processing.restart() is True
            assert processing.state is ProcessingState.RUNNING
            assert await processing.stop() is True
            assert processing.state is ProcessingState.STOPPED and processing.parts is None

        asyncio.run(scenario())
        assert multiprocessing.active_children() == []
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline and set(threading.enumerate()) - before:
            time.sleep(0.05)
        assert not set(threading.enumerate()) - before, [
            t.name for t in set(threading.enumerate()) - before
        ]
    finally:
        writer.stop()
