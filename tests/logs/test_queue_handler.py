"""NonBlockingQueueHandler on its own (a thread queue stands in for the process queue), the
shared drop counter, and the log file's behaviour under rotation."""

from __future__ import annotations

import logging
import pickle
import queue
import threading
from pathlib import Path

from atalaia.logs import (
    LogEntry,
    LogQueue,
    NonBlockingQueueHandler,
    SharedDropCounter,
    configure_process_logging,
    dropped_count,
    remove_process_logging,
)
from atalaia.logs.log_file import ReopeningLogFile


def make_logger(handler: logging.Handler, name: str) -> logging.Logger:
    logger = logging.getLogger(name)
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    return logger


def drain(q: queue.Queue[LogEntry]) -> list[LogEntry]:
    items = []
    while not q.empty():
        items.append(q.get_nowait())
    return items


def test_drops_are_counted_and_announced_before_the_next_record() -> None:
    q: queue.Queue[LogEntry] = queue.Queue(maxsize=2)
    handler = NonBlockingQueueHandler(q, "cam1")
    log = make_logger(handler, "atalaia.test.unit.drops")
    for i in range(5):
        log.info("r%d", i)
    assert handler.dropped_total == 3
    assert [e.message for e in drain(q)] == ["r0", "r1"]

    log.info("r5")
    log.info("r6")  # the queue holds two: the report took the first place
    report, r5 = drain(q)
    assert (report.level_name, report.tag, report.message) == (
        "WARNING",
        "cam1",
        "3 log records dropped (queue full)",
    )
    assert r5.message == "r5"
    assert handler.dropped_total == 4

    handler.close()  # announces the one still outstanding
    assert [e.message for e in drain(q)] == ["1 log records dropped (queue full)"]


def test_entries_are_plain_and_picklable_whatever_the_record_held() -> None:
    q: queue.Queue[LogEntry] = queue.Queue()
    log = make_logger(NonBlockingQueueHandler(q, "DETECTOR:default"), "atalaia.test.unit.pickle")
    try:
        raise RuntimeError("model failed")
    except RuntimeError:
        log.exception("batch of %d failed", 4, extra={"session": threading.Lock()})
    (entry,) = drain(q)
    assert pickle.loads(pickle.dumps(entry)) == entry
    assert entry.message == "batch of 4 failed"
    assert entry.tag == "DETECTOR:default"
    assert entry.exc_text is not None
    assert entry.exc_text.endswith("RuntimeError: model failed")


def test_drops_wait_for_a_busy_shared_counter_without_blocking() -> None:
    counter = SharedDropCounter()
    handler = NonBlockingQueueHandler(queue.Queue(maxsize=1), "cam1", drop_counter=counter)
    log = make_logger(handler, "atalaia.test.unit.shared")
    log.info("fills the queue")
    # Another process holding the counter's lock: drops are kept, not waited for.
    assert counter._lock.acquire(timeout=5)
    try:
        log.info("dropped 1")
        log.info("dropped 2")
    finally:
        counter._lock.release()
    assert counter.value == 0
    assert handler.dropped_total == 2
    log.info("dropped 3")  # the next drop publishes all three
    assert counter.value == 3


def test_the_process_count_survives_reconfiguration() -> None:
    q = LogQueue(1)
    before = dropped_count()
    log = logging.getLogger("atalaia.test.unit.reconfigure")
    try:
        configure_process_logging(q, "cam1", "INFO")
        for i in range(3):
            log.warning("r%d", i)
        configure_process_logging(q, "cam1", "INFO")
        log.warning("r3")
        assert dropped_count() - before == 3
        assert q.drop_counter.value == 3
    finally:
        remove_process_logging()
        q.cancel_join_thread()
    assert dropped_count() - before == 3


def test_log_file_follows_its_path_after_rotation(tmp_path: Path) -> None:
    path = tmp_path / "logs" / "atalaia.log"
    log_file = ReopeningLogFile(path, check_interval_s=0.0)
    log_file.write("before\n")
    log_file.flush()
    path.rename(tmp_path / "logs" / "atalaia.log.1")
    log_file.write("after\n")
    log_file.flush()
    log_file.close()
    assert (tmp_path / "logs" / "atalaia.log.1").read_text() == "before\n"
    assert path.read_text() == "after\n"
