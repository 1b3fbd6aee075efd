"""How an entry looks in the log: the seed's `[TIMESTAMP] [TAG] [LEVEL] message`, or JSON lines.

Both run on the writer's thread only, so they may take their time; secrets are masked here,
once, for records from every process.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from atalaia.logs.entry import LogEntry
from atalaia.redact import mask_secrets


class LineFormatter(Protocol):
    """Turns one entry into its text, newline included (a traceback adds lines of its own)."""

    def format(self, entry: LogEntry) -> str: ...


def mask_entry(entry: LogEntry, known_secrets: Sequence[str]) -> LogEntry:
    """Return `entry` with passwords, tokens and every known secret value masked.

    Fields are masked one by one, before any quoting, so JSON escaping can neither hide a
    secret from the patterns nor be broken by a replacement.
    """
    return entry._replace(
        tag=mask_secrets(entry.tag, known_secrets),
        message=mask_secrets(entry.message, known_secrets),
        exc_text=None if entry.exc_text is None else mask_secrets(entry.exc_text, known_secrets),
    )


class TextLineFormatter:
    """`[2024-01-15 10:30:45.123] [CAM063] [INFO] message`, local time, traceback below.

    Only a record's first line starts with `[`: a continuation line (a multi-line message, a
    traceback) that would is indented by two spaces, so text from outside (a camera name, an
    exception message, a request path) cannot forge a record line.
    """

    def __init__(self) -> None:
        self._second = -1
        self._second_text = ""

    def format(self, entry: LogEntry) -> str:
        stamp = self._timestamp(entry.created)
        text = f"[{stamp}] [{entry.tag}] [{entry.level_name}] {entry.message}"
        if entry.exc_text:
            text += "\n" + entry.exc_text.rstrip("\n")
        if "\r" in text:
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        if "\n[" in text:
            text = text.replace("\n[", "\n  [")
        return text + "\n"

    def _timestamp(self, created: float) -> str:
        # strftime once per second: a burst of records shares the same second.
        second = int(created)
        if second != self._second:
            self._second = second
            self._second_text = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(second))
        millis = min(int((created - second) * 1000), 999)
        return f"{self._second_text}.{millis:03d}"


class JsonLineFormatter:
    """One JSON object per line: `ts` (ISO 8601 with offset), `tag`, `level`, `logger`, `msg`,
    `pid`, and `exc` only when there is a traceback."""

    def format(self, entry: LogEntry) -> str:
        line: dict[str, object] = {
            "ts": datetime.fromtimestamp(entry.created).astimezone().isoformat("T", "milliseconds"),
            "tag": entry.tag,
            "level": entry.level_name,
            "logger": entry.logger,
            "msg": entry.message,
            "pid": entry.pid,
        }
        if entry.exc_text:
            line["exc"] = entry.exc_text
        return json.dumps(line, ensure_ascii=False) + "\n"
