"""Logging for every atalaia process: a non-blocking queue handler in each, one writer in main.

Main process::

    writer = LogWriter(level="INFO", fmt="text", file=path, console=True, known_secrets=secrets)
    configure_process_logging(writer.queue, SUPERVISOR_TAG, writer.level)
    ...  # spawn children with writer.queue and writer.level as arguments
    writer.stop()  # after the children have exited

Child process (first thing in its entry point)::

    configure_process_logging(queue, camera_id, level)   # or detector_tag("default")

Drops (queue full) are counted per process by `dropped_count()` and across all processes by
`LogWriter.dropped_total()`.
"""

from atalaia.logs.drop_counter import SharedDropCounter
from atalaia.logs.entry import LogEntry
from atalaia.logs.levels import parse_level
from atalaia.logs.log_queue import LogQueue
from atalaia.logs.process_setup import (
    SUPERVISOR_TAG,
    configure_process_logging,
    detector_tag,
    dropped_count,
    remove_process_logging,
)
from atalaia.logs.queue_handler import NonBlockingQueueHandler
from atalaia.logs.writer import DEFAULT_QUEUE_SIZE, LogWriter

__all__ = [
    "DEFAULT_QUEUE_SIZE",
    "SUPERVISOR_TAG",
    "LogEntry",
    "LogQueue",
    "LogWriter",
    "NonBlockingQueueHandler",
    "SharedDropCounter",
    "configure_process_logging",
    "detector_tag",
    "dropped_count",
    "parse_level",
    "remove_process_logging",
]
