"""Entry points of the child processes the logging tests spawn (importable by `spawn`)."""

from __future__ import annotations

import logging
import time
from multiprocessing.connection import Connection
from typing import Any

from atalaia.logs import configure_process_logging, dropped_count


def log_lines(queue: Any, tag: str, level: str, count: int, url: str, token: str) -> None:
    """What a camera or detector process does: configure logging first, then log as usual."""
    configure_process_logging(queue, tag, level)
    log = logging.getLogger("atalaia.test.child")
    for i in range(count):
        log.info("line %d from %s", i, tag)
    log.warning("opening camera %s with token %s", url, token)
    try:
        raise ConnectionError(f"cannot open {url}")
    except ConnectionError:
        log.exception("camera failed")


def flood(queue: Any, tag: str, level: str, count: int, conn: Connection) -> None:
    """Log `count` records in a tight loop and report how long that took and what was dropped."""
    configure_process_logging(queue, tag, level)
    log = logging.getLogger("atalaia.test.flood")
    worst = 0.0
    start = time.perf_counter()
    for i in range(count):
        before = time.perf_counter()
        log.info("flood %d", i)
        worst = max(worst, time.perf_counter() - before)
    conn.send({"elapsed": time.perf_counter() - start, "worst": worst, "dropped": dropped_count()})
    conn.close()


def flood_then_hang(queue: Any, tag: str, level: str, count: int, conn: Connection) -> None:
    """Log `count` records, say so, then hang until killed (a camera the supervisor kills)."""
    configure_process_logging(queue, tag, level)
    log = logging.getLogger("atalaia.test.hang")
    for i in range(count):
        log.info("flood %d", i)
    conn.send(dropped_count())
    time.sleep(300)
