"""The writer's log file: appended to, and reopened when log rotation moves it away.

A service runs for months; `logrotate` (or a person) renames or deletes the file, and a writer
that kept the old descriptor would go on filling a file nobody sees. Like the standard
library's `WatchedFileHandler`, the path is compared with the open file, but at most once a
second rather than on every record.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import TextIO

CHECK_INTERVAL_S = 1.0


class ReopeningLogFile:
    """An append-only UTF-8 text file that follows its path across rotation."""

    def __init__(self, path: Path, check_interval_s: float = CHECK_INTERVAL_S) -> None:
        self.path = path
        self._check_interval_s = check_interval_s
        path.parent.mkdir(parents=True, exist_ok=True)
        self._stream, self._identity = self._open()
        self._next_check = time.monotonic() + check_interval_s

    def write(self, text: str) -> None:
        now = time.monotonic()
        if now >= self._next_check:
            self._next_check = now + self._check_interval_s
            self._reopen_if_moved()
        self._stream.write(text)

    def flush(self) -> None:
        self._stream.flush()

    def close(self) -> None:
        self._stream.close()

    def _open(self) -> tuple[TextIO, tuple[int, int]]:
        stream = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - kept open until close()
        stat = os.fstat(stream.fileno())
        return stream, (stat.st_dev, stat.st_ino)

    def _reopen_if_moved(self) -> None:
        try:
            stat = os.stat(self.path)
            if (stat.st_dev, stat.st_ino) == self._identity:
                return
        except FileNotFoundError:
            pass
        self._stream.close()
        self._stream, self._identity = self._open()
