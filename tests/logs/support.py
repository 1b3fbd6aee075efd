"""Helpers shared by the logging tests: reading the log back and stalling the writer."""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

# The seed's format: [2024-01-15 10:30:45.123] [CAM063] [INFO] message
LINE = re.compile(
    r"^\[(?P<ts>\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3})\] "
    r"\[(?P<tag>[^\]]+)\] "
    r"\[(?P<level>DEBUG|INFO|WARNING|ERROR|CRITICAL)\] "
    r"(?P<msg>.*)$"
)
_TRACE_STARTS = ("Traceback (most recent call last):", "Stack (most recent call last):")


@dataclass
class TextRecord:
    """One record of a text log: its header line and any traceback lines below it."""

    ts: datetime
    tag: str
    level: str
    msg: str
    extra_lines: list[str] = field(default_factory=list)


def parse_text_log(text: str) -> list[TextRecord]:
    """Split a text log into records; fails on a line that is neither a header nor part of a
    traceback below one."""
    records: list[TextRecord] = []
    for line in text.splitlines():
        match = LINE.match(line)
        if match:
            ts = datetime.strptime(match["ts"], "%Y-%m-%d %H:%M:%S.%f")
            records.append(TextRecord(ts, match["tag"], match["level"], match["msg"]))
            continue
        assert records, f"log starts with a line that is not a record header: {line!r}"
        if not records[-1].extra_lines:
            assert line.startswith(_TRACE_STARTS), f"not a header nor a traceback: {line!r}"
        records[-1].extra_lines.append(line)
    return records


def wait_for(predicate: object, timeout: float = 20.0, what: str = "condition") -> None:
    """Poll `predicate` (a callable returning a truth value) until true or fail after timeout."""
    assert callable(predicate)
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def read_text(path: Path) -> str:
    return path.read_text(encoding="utf-8") if path.exists() else ""


class GatedStream:
    """A console stream whose `write` blocks until `gate` is set: a writer stuck on slow I/O.

    `entered` is set as soon as the writer is inside `write`, so a test knows the writer is
    stalled (and holds no entries it has not already taken off the queue) before it floods.
    """

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.entered = threading.Event()
        self.chunks: list[str] = []

    def write(self, text: str) -> int:
        self.entered.set()
        # Bounded so that a failing test cannot leave a thread blocked forever.
        self.gate.wait(120)
        self.chunks.append(text)
        return len(text)

    def flush(self) -> None:
        return None
