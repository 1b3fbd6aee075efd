"""Camera process -> main process: what a camera tells the service besides heartbeats and logs.

Defined once here; the camera sends these through its supervisor pipe and the service's
`on_message` receives them unchanged (pickled frozen dataclasses, no positional tuples).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class AlertCommitted:
    """An alert the camera has committed to the database (and the outbox): deliver it now."""

    event_id: str
    camera_id: str


CameraMessage = AlertCommitted
