"""The database sink: always on, because the alerts already are rows.

Its delivery confirms that the alert row is there and readable (the API answers from it), and
keeps live counts of active alerts per camera, label and rule that status pages read without a
query. It tracks alert ids, not numbers, so an event delivered twice (at-least-once) or
replayed after a restart cannot count an alert twice.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Any, Literal

from atalaia.config.sinks import SinkBase
from atalaia.events.types import AlertEvent
from atalaia.sinks.base import DeliveryError, SinkContext
from atalaia.sinks.registry import register_sink_type

CountKey = tuple[str, str, str]  # camera, label, rule


class DatabaseSinkConfig(SinkBase):
    """Always on: the alerts already are rows; this sink confirms them and answers counts."""

    type: Literal["database"]


@register_sink_type(DatabaseSinkConfig)
class DatabaseSink:
    """Confirms each alert is stored and keeps the active alerts per camera, label and rule.

    Its queries (SQLAlchemy) are imported where used: every configuration loads this module
    for its config model, and `atalaia config check` should not pay for the ORM."""

    def __init__(self, config: DatabaseSinkConfig, name: str, context: SinkContext) -> None:
        self.name = name
        self._database = context.database
        self._active: dict[CountKey, set[str]] = defaultdict(set)
        self._started = False
        self._last_error: str | None = None

    async def start(self) -> None:
        try:
            rows = await asyncio.to_thread(self._load_active)
        except Exception as exc:
            # Not fatal: the first delivery tries the database again and reports.
            self._last_error = f"{type(exc).__name__}"
            return
        self._active.clear()
        for alert_id, camera, label, rule in rows:
            self._active[(camera, label, rule)].add(alert_id)
        self._started = True

    def _load_active(self) -> list[tuple[str, str, str, str]]:
        from atalaia.sinks.alert_counts import active_alerts

        with self._database.session() as session:
            return active_alerts(session)

    def _alert_exists(self, alert_id: str) -> bool:
        from sqlalchemy import select

        from atalaia.storage.models import Alert

        with self._database.engine.connect() as connection:
            found = connection.execute(select(Alert.id).where(Alert.id == alert_id)).first()
        return found is not None

    async def deliver(self, event: AlertEvent) -> None:
        if not await asyncio.to_thread(self._alert_exists, event.after.id):
            # The event row references the alert, so this only happens if the alert was
            # deleted meanwhile; retrying lets an operator see it before it goes dead.
            raise DeliveryError(f"alert {event.after.id} is not in the database")
        key = (event.after.camera, event.after.label, event.after.rule)
        if event.type == "end" or not event.after.active:
            self._active[key].discard(event.after.id)
        else:
            self._active[key].add(event.after.id)
        self._last_error = None

    def active_counts(self) -> dict[CountKey, int]:
        """Active alerts per (camera, label, rule), as this sink has seen them delivered."""
        return {key: len(ids) for key, ids in self._active.items() if ids}

    async def close(self) -> None:
        self._active.clear()

    def health(self) -> dict[str, Any]:
        counts = self.active_counts()
        return {
            "connected": self._last_error is None,
            "loaded": self._started,
            "active_alerts": sum(counts.values()),
            "active_by_camera": _by_camera(counts),
        }


def _by_camera(counts: dict[CountKey, int]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = defaultdict(dict)
    for (camera, label, _rule), n in counts.items():
        out[camera][label] = out[camera].get(label, 0) + n
    return dict(out)
