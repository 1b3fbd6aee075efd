"""RetentionLoop: media retention (age and disk budget) now and then, on a thread of its own.

A pass walks every camera's snapshots and clips, which can take seconds on a large disk, so it
runs off the event loop. The thread waits on its own stop event between passes: `stop()` ends
the wait at once and joins the thread, so a stopped service leaves no retention pass running
against a data directory it no longer owns (the next start, or a test's cleanup, may remove it).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import asdict
from typing import Any

from atalaia.config import AtalaiaConfig

log = logging.getLogger(__name__)

STOP_TIMEOUT_S = 10.0


class RetentionLoop:
    """Runs `cleanup_for_config` at start and every `media.cleanup_interval_s` seconds."""

    def __init__(self, config: AtalaiaConfig) -> None:
        self.config = config
        # The last pass: when, and its `CleanupReport` as plain values (`/api/stats` shows it).
        self.last_cleanup: dict[str, Any] | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="media-retention", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> bool:
        """End the loop and join it; False when a pass is still running after `timeout`."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is None:
            return True
        thread.join(timeout)
        if thread.is_alive():
            log.warning("media retention: a pass is still running after %.1f s", timeout)
            return False
        return True

    def _run(self) -> None:
        from atalaia.media.retention import cleanup_for_config

        while not self._stop.is_set():
            try:
                report = cleanup_for_config(self.config)
                self.last_cleanup = {"at": time.time(), **asdict(report)}
            except Exception:
                log.exception("media retention failed")
            self._stop.wait(self.config.media.cleanup_interval_s)
