"""A producer killed with records still in hand: the places it held in the queue are lost
(a `multiprocessing.Queue` never returns them), and the writer says so in the log."""

from __future__ import annotations

import logging
import multiprocessing
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from atalaia.logs import SUPERVISOR_TAG, LogWriter, configure_process_logging
from tests.logs.children import flood_then_hang
from tests.logs.support import GatedStream, parse_text_log, read_text, wait_for

QUEUE_SIZE = 2000
STUCK = re.compile(
    r"^(\d+) of (\d+) places in the log queue are held by records that never arrived"
)


def test_places_taken_by_a_killed_process_are_reported(
    tmp_path: Path, start_writer: Callable[..., LogWriter], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("atalaia.logs.writer.STUCK_AFTER_S", 0.3)
    path = tmp_path / "atalaia.log"
    console = GatedStream()
    with monkeypatch.context() as patch:
        patch.setattr("sys.stderr", console)
        writer = start_writer(
            level="INFO", fmt="text", file=path, console=True, queue_size=QUEUE_SIZE
        )
    configure_process_logging(writer.queue, SUPERVISOR_TAG, "INFO")
    logging.getLogger("atalaia.test.killed").info("before")
    assert console.entered.wait(20)

    # With the writer stalled the pipe fills, and the rest of the child's accepted records
    # wait in the child's own buffer, each holding a place in the queue.
    receive, send = multiprocessing.Pipe(duplex=False)
    child = multiprocessing.get_context("spawn").Process(
        target=flood_then_hang, args=(writer.queue, "cam1", "INFO", 3 * QUEUE_SIZE, send)
    )
    child.start()
    try:
        assert receive.poll(60), "child did not finish its flood"
        assert receive.recv() == 2 * QUEUE_SIZE
    finally:
        child.kill()
        child.join(30)
        console.gate.set()

    wait_for(lambda: "places in the log queue" in read_text(path), what="the stuck report")
    assert writer.stop(timeout=1)
    records = parse_text_log(path.read_text(encoding="utf-8"))
    delivered = sum(r.tag == "cam1" for r in records)
    # The first report; a later one may count the stop marker, stuck behind the same lock.
    report = next(r for r in records if STUCK.match(r.msg))
    match = STUCK.match(report.msg)
    assert match is not None
    assert (report.tag, report.level) == (SUPERVISOR_TAG, "WARNING")
    assert int(match[2]) == QUEUE_SIZE
    assert 0 < delivered < QUEUE_SIZE
    assert int(match[1]) == QUEUE_SIZE - delivered
