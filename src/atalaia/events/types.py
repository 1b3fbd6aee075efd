"""The alert event: what the rules produce and what every sink delivers.

It follows Frigate's event shape (a `type` of new/update/end with the alert's state `before`
and `after`), so MQTT consumers written for Frigate understand it, and it carries stable ids:
`AlertState.id` for the alert, `AlertEvent.id` for each event, so any consumer can drop a
duplicate delivered twice by an at-least-once sink.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

EventType = Literal["new", "update", "end"]


def new_id() -> str:
    return uuid.uuid4().hex


@dataclass(frozen=True, slots=True)
class AlertState:
    """An alert at one moment. Times are `time.time()` seconds; `box` is x, y, width, height
    in pixels of the camera's frame."""

    id: str
    camera: str
    label: str
    rule: str
    rule_type: str
    zone: str | None
    score: float
    top_score: float
    box: tuple[float, float, float, float]
    track_id: int | None
    start_time: float
    end_time: float | None = None
    snapshot_path: str | None = None
    clip_path: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def active(self) -> bool:
        return self.end_time is None

    def evolve(self, **changes: Any) -> AlertState:
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["box"] = list(self.box)
        return data


@dataclass(frozen=True, slots=True)
class AlertEvent:
    """One change of an alert: `new`, `update` or `end`."""

    type: EventType
    after: AlertState
    before: AlertState | None = None
    id: str = field(default_factory=new_id)
    created_at: float = 0.0

    @property
    def camera(self) -> str:
        return self.after.camera

    def to_payload(self) -> dict[str, Any]:
        """The JSON body sinks send (Frigate's `frigate/events` shape plus our ids)."""
        return {
            "id": self.id,
            "type": self.type,
            "before": (self.before or self.after).to_dict(),
            "after": self.after.to_dict(),
            "created_at": self.created_at,
        }

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> AlertEvent:
        def state(d: dict[str, Any]) -> AlertState:
            return AlertState(**{**d, "box": tuple(d["box"])})

        return cls(
            type=payload["type"],
            after=state(payload["after"]),
            before=state(payload["before"]) if payload.get("before") is not None else None,
            id=payload["id"],
            created_at=payload.get("created_at", 0.0),
        )
