"""With the writer stalled and the queue full, logging callers never wait: records are dropped,
counted, and the count is written once the writer moves again."""

from __future__ import annotations

import logging
import multiprocessing
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from atalaia.logs import SUPERVISOR_TAG, LogWriter, configure_process_logging, dropped_count
from tests.logs.children import flood
from tests.logs.support import GatedStream, parse_text_log, read_text, wait_for

CALLS = 50_000
QUEUE_SIZE = 16
# Generous bounds: the machine is shared and slow. A call that waited on the stalled writer
# would never return at all (the writer is released only after the loop).
LOOP_LIMIT_S = 60.0
WORST_CALL_LIMIT_S = 2.0
DROP_REPORT = re.compile(r"^(\d+) log records dropped \(queue full\)$")


def stalled_writer(
    start_writer: Callable[..., LogWriter], path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[LogWriter, GatedStream]:
    """A writer whose console output blocks until the test opens the gate."""
    console = GatedStream()
    with monkeypatch.context() as patch:
        patch.setattr("sys.stderr", console)
        writer = start_writer(
            level="INFO", fmt="text", file=path, console=True, queue_size=QUEUE_SIZE
        )
    return writer, console


def test_flood_with_stalled_writer_never_blocks_and_reports_drops(
    tmp_path: Path, start_writer: Callable[..., LogWriter], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "atalaia.log"
    writer, console = stalled_writer(start_writer, path, monkeypatch)
    configure_process_logging(writer.queue, SUPERVISOR_TAG, "INFO")
    log = logging.getLogger("atalaia.test.flood")
    log.info("before the flood")
    assert console.entered.wait(20), "writer never reached its output"
    dropped_before = dropped_count()

    timings: dict[str, float] = {}

    def tight_loop() -> None:
        worst = 0.0
        start = time.perf_counter()
        for i in range(CALLS):
            before = time.perf_counter()
            log.info("flood %d", i)
            worst = max(worst, time.perf_counter() - before)
        timings["elapsed"] = time.perf_counter() - start
        timings["worst"] = worst

    loop = threading.Thread(target=tight_loop, daemon=True)
    loop.start()
    loop.join(LOOP_LIMIT_S)
    finished = not loop.is_alive()
    console.gate.set()  # release the writer whatever happened
    assert finished, "a logging call waited on the stalled writer"
    assert timings["worst"] < WORST_CALL_LIMIT_S, timings

    dropped = dropped_count() - dropped_before
    # The stalled writer took nothing off the queue during the flood: exactly one queue's
    # worth got through.
    assert dropped == CALLS - QUEUE_SIZE
    assert writer.dropped_total() == dropped

    wait_for(
        lambda: read_text(path).count("] flood ") == QUEUE_SIZE,
        what="the writer to drain the queue",
    )
    log.info("after the flood")
    assert writer.stop()

    records = parse_text_log(path.read_text(encoding="utf-8"))
    messages = [r.msg for r in records]
    assert messages[0] == "before the flood"
    assert messages[1 : 1 + QUEUE_SIZE] == [f"flood {i}" for i in range(QUEUE_SIZE)]
    report = records[1 + QUEUE_SIZE]
    assert (report.tag, report.level) == (SUPERVISOR_TAG, "WARNING")
    assert report.msg == f"{dropped} log records dropped (queue full)"
    assert messages[2 + QUEUE_SIZE :] == ["after the flood"]
    # Every call is accounted for: written, or counted in a drop report.
    reported = sum(int(m[1]) for m in map(DROP_REPORT.match, messages) if m)
    assert (
        messages.count("before the flood")
        + sum(msg.startswith("flood ") for msg in messages)
        + reported
        == CALLS + 1
    )


def test_flood_from_child_process_is_counted_across_processes(
    tmp_path: Path, start_writer: Callable[..., LogWriter], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "atalaia.log"
    writer, console = stalled_writer(start_writer, path, monkeypatch)
    configure_process_logging(writer.queue, SUPERVISOR_TAG, "INFO")
    logging.getLogger("atalaia.test.flood").info("before the flood")
    assert console.entered.wait(20), "writer never reached its output"

    receive, send = multiprocessing.Pipe(duplex=False)
    child = multiprocessing.get_context("spawn").Process(
        target=flood, args=(writer.queue, "cam1", "INFO", CALLS, send)
    )
    child.start()
    try:
        assert receive.poll(LOOP_LIMIT_S + 30), "the child's logging loop waited on the writer"
        result = receive.recv()
        child.join(30)
    finally:
        console.gate.set()
    assert child.exitcode == 0
    assert result["worst"] < WORST_CALL_LIMIT_S, result
    assert result["dropped"] == CALLS - QUEUE_SIZE
    # The child's drops reach the main process through the counter that rides on the queue.
    assert writer.dropped_total() == result["dropped"]
    assert writer.stop()
    text = path.read_text(encoding="utf-8")
    assert text.count("] flood ") == QUEUE_SIZE
