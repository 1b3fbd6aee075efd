"""AlertSpool: alert events a camera could not write to the database before it stopped.

The `AlertRecorder` keeps events in memory while the database is down and writes them when it
is back. A camera that stops in that window (the service restarts, the camera's configuration
changes, the host shuts down) would take them with it, so at close the recorder appends what is
left here, one JSON line per event, flushed and fsynced, and the camera's next recorder commits
them before anything else (in their order, ahead of new events). During an outage the recorder
also moves its queue here as events arrive (`alert_spill.SpoolKeeper`: spill, replay, keep);
this module is only the file. An event that did reach the
database after all (a commit whose acknowledgement was lost) is recognised by its id and not
written twice.

Why a file per camera rather than a shared one: one process per camera, so no locking between
writers, and a camera that is removed leaves its file for a person to see rather than mixing
it into another camera's.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from atalaia.events.types import AlertEvent

log = logging.getLogger(__name__)

SPOOL_DIR = "spool"


class AlertSpool:
    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def for_camera(cls, data_dir: Path, camera_id: str) -> AlertSpool:
        return cls(data_dir / SPOOL_DIR / f"{camera_id}.jsonl")

    def save(self, events: Sequence[AlertEvent]) -> list[AlertEvent]:
        """Append `events` durably; return those that could not be written (unserialisable).

        Raises `OSError` when the file cannot be written at all.
        """
        lines: list[str] = []
        refused: list[AlertEvent] = []
        for event in events:
            try:
                lines.append(json.dumps(_to_record(event), separators=(",", ":")) + "\n")
            except (TypeError, ValueError) as exc:
                log.error("alert event %s cannot be kept on disk: %s", event.id, exc)
                refused.append(event)
        if lines:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as f:
                f.writelines(lines)
                f.flush()
                os.fsync(f.fileno())
        return refused

    def load(self) -> list[AlertEvent]:
        """The kept events in the order they were saved; a damaged line (a crash in the middle
        of a write, a hand edit) is logged with its line number and skipped."""
        try:
            text = self.path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return []
        except OSError as exc:
            log.error("cannot read the alert events kept in %s: %s", self.path, exc)
            return []
        events: list[AlertEvent] = []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                events.append(_from_record(json.loads(line)))
            except (ValueError, TypeError, KeyError) as exc:
                log.error("%s line %d is not an alert event, skipped: %s", self.path, number, exc)
        return events

    def clear(self) -> None:
        """Forget the kept events (all written). A failure is logged: the next start would
        find them stored already and skip them."""
        try:
            self.path.unlink(missing_ok=True)
        except OSError as exc:
            log.error("cannot remove %s: %s", self.path, exc)


def _to_record(event: AlertEvent) -> dict[str, Any]:
    record = event.to_payload()
    if event.before is None:  # the payload repeats `after` there; keep "none" exact
        record["before"] = None
    return record


def _from_record(record: dict[str, Any]) -> AlertEvent:
    if not isinstance(record, dict):
        raise TypeError(f"expected an object, got {type(record).__name__}")
    return AlertEvent.from_payload(record)
