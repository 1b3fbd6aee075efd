"""Install the non-blocking handler in a process: the first thing every process does.

Camera and detector processes are spawned, so they start with an empty logging setup; the
main process calls this too (tag `SUPERVISOR`) so its lines go through the same queue and
writer as everyone else's, in one order, masked the same way.
"""

from __future__ import annotations

import logging
import threading

from atalaia.logs.drop_counter import SharedDropCounter
from atalaia.logs.levels import parse_level
from atalaia.logs.log_queue import LogQueue
from atalaia.logs.queue_handler import EntryQueue, NonBlockingQueueHandler

SUPERVISOR_TAG = "SUPERVISOR"

_lock = threading.Lock()
_installed: NonBlockingQueueHandler | None = None
_root_level_before: int = logging.WARNING
_retired_drops = 0  # drops counted by handlers this process has since replaced


def detector_tag(name: str) -> str:
    """The tag of a detector process: `DETECTOR:<name>`."""
    return f"DETECTOR:{name}"


def configure_process_logging(
    queue: EntryQueue,
    tag: str,
    level: str,
    *,
    drop_counter: SharedDropCounter | None = None,
) -> NonBlockingQueueHandler:
    """Send this process's logging to the writer behind `queue`, tagged `tag`, from `level` up.

    Adds one `NonBlockingQueueHandler` to the root logger and sets the root level; calling it
    again replaces the handler (the drop count carries over). Other handlers are left alone.
    The shared drop counter comes with a `LogWriter.queue`; pass `drop_counter` only for a
    queue of another kind.
    """
    global _installed, _root_level_before, _retired_drops
    level_no = parse_level(level)
    if drop_counter is None and isinstance(queue, LogQueue):
        drop_counter = queue.drop_counter
    handler = NonBlockingQueueHandler(queue, tag, drop_counter=drop_counter, level=level_no)
    root = logging.getLogger()
    with _lock:
        if _installed is None:
            _root_level_before = root.level
        else:
            root.removeHandler(_installed)
            _installed.close()
            _retired_drops += _installed.dropped_total
        root.addHandler(handler)
        root.setLevel(level_no)
        _installed = handler
    return handler


def remove_process_logging() -> None:
    """Take the handler off the root logger and restore the root level it found.

    For the end of a test, or a process that hands logging back before it exits; outstanding
    drops are announced first if the queue has room.
    """
    global _installed, _retired_drops
    with _lock:
        if _installed is None:
            return
        root = logging.getLogger()
        root.removeHandler(_installed)
        _installed.close()
        _retired_drops += _installed.dropped_total
        _installed = None
        root.setLevel(_root_level_before)


def dropped_count() -> int:
    """Log records this process has dropped because the queue was full, since it started."""
    handler = _installed
    return _retired_drops + (handler.dropped_total if handler is not None else 0)
