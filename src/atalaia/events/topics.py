"""The kinds of events that travel inside the main process, by topic name."""

from __future__ import annotations

from typing import Final

ALERT_NEW: Final = "alert.new"
ALERT_UPDATE: Final = "alert.update"
ALERT_END: Final = "alert.end"
CAMERA_ONLINE: Final = "camera.online"
CAMERA_OFFLINE: Final = "camera.offline"
SYSTEM: Final = "system"

ALERT_TOPICS: Final = frozenset({ALERT_NEW, ALERT_UPDATE, ALERT_END})
CAMERA_TOPICS: Final = frozenset({CAMERA_ONLINE, CAMERA_OFFLINE})
ALL_TOPICS: Final = ALERT_TOPICS | CAMERA_TOPICS | {SYSTEM}


def alert_topic(event_type: str) -> str:
    """The topic of an alert event of type new, update or end."""
    topic = f"alert.{event_type}"
    if topic not in ALERT_TOPICS:
        raise ValueError(f"unknown alert event type {event_type!r}")
    return topic
