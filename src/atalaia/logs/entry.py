"""The unit that crosses the process boundary: a log record reduced to plain values.

A `logging.LogRecord` may hold anything a caller passed (a frame, a socket, a lock in `extra`
or in `args`); pickling it happens on the queue's feeder thread, where a failure loses the
record and prints a traceback far from its cause. Turning the record into strings and numbers
on the caller's thread, once, makes every entry picklable by construction and small to send.
"""

from __future__ import annotations

import logging
import os
import time
from typing import NamedTuple

from atalaia.logs.context_tag import current_tag

PIPELINE_LOGGER = "atalaia.logs"
"""Logger name on the notices the pipeline writes about itself (drops, stuck places)."""

_EXCEPTION_FORMATTER = logging.Formatter()


class LogEntry(NamedTuple):
    """One log line in the making: everything the writer needs, nothing it could fail to pickle."""

    created: float
    """Seconds since the epoch, taken when the caller logged (not when the writer wrote)."""
    tag: str
    """Who logged: a camera id, `SUPERVISOR`, `DETECTOR:<name>`."""
    level: int
    level_name: str
    logger: str
    message: str
    """The message with its arguments already merged in."""
    exc_text: str | None
    """Rendered traceback (and stack, when `stack_info` was asked for), or None."""
    pid: int


def pipeline_notice(tag: str, message: str) -> LogEntry:
    """A WARNING from the logging pipeline itself, made now, in this process."""
    return LogEntry(
        created=time.time(),
        tag=tag,
        level=logging.WARNING,
        level_name="WARNING",
        logger=PIPELINE_LOGGER,
        message=message,
        exc_text=None,
        pid=os.getpid(),
    )


def entry_from_record(record: logging.LogRecord, default_tag: str) -> LogEntry:
    """Reduce `record` to a `LogEntry`; `extra={"camera_id": ...}`, or else a tag set for the
    running code (`atalaia.logs.context_tag`, e.g. `sink:mqtt`), overrides the process tag."""
    camera_id = getattr(record, "camera_id", None)
    if camera_id is None:
        camera_id = current_tag()
    return LogEntry(
        created=record.created,
        tag=default_tag if camera_id is None else str(camera_id),
        level=record.levelno,
        level_name=record.levelname,
        logger=record.name,
        message=_merged_message(record),
        exc_text=_exception_text(record),
        pid=record.process or 0,
    )


def _merged_message(record: logging.LogRecord) -> str:
    """The message with its `%` arguments applied.

    A call whose arguments do not fit its format string still says something useful rather
    than vanishing into a "--- Logging error ---" printout on the caller's stderr.
    """
    try:
        return record.getMessage()
    except Exception as exc:
        return f"{record.msg!r} (could not merge arguments {record.args!r}: {exc})"


def _exception_text(record: logging.LogRecord) -> str | None:
    """Render the traceback once and keep it on the record, as `logging.Formatter` does.

    Other handlers on the same record (pytest's capture, a console handler) then reuse the
    text instead of walking the traceback again.
    """
    if record.exc_info and not record.exc_text:
        record.exc_text = _EXCEPTION_FORMATTER.formatException(record.exc_info)
    parts = [text for text in (record.exc_text, record.stack_info) if text]
    return "\n".join(parts) if parts else None
