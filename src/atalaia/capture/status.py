"""The health of one camera as its reader sees it, for heartbeats, the API and the monitors."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any


class CameraState(StrEnum):
    """Where a camera reader stands.

    - `reconnecting`: a connection attempt is under way (the first one included) and no frame
      has arrived on it yet.
    - `online`: frames are arriving; the last one is younger than the stall timeout.
    - `offline`: the last attempt failed, the stream broke, or no frame arrived within the stall
      timeout; the reader waits out its backoff before the next attempt.
    - `stopped`: the reader was closed, or a file without `loop` reached its end. Final.
    """

    ONLINE = "online"
    OFFLINE = "offline"
    RECONNECTING = "reconnecting"
    STOPPED = "stopped"


@dataclass(frozen=True, slots=True)
class CameraStatus:
    """A snapshot of a reader's counters; cheap to take from any thread.

    Times are `time.time()` seconds. `frames_read` counts frames decoded from the source;
    `frames_delivered` those offered to the consumer after the `target_fps` cap;
    `dropped_by_rate` those the cap skipped; `dropped_unconsumed` those replaced in the
    hand-off buffer before the consumer took them. `reconnects` counts connection attempts after
    the first. `last_error` never contains a password.

    While the reader waits out its backoff, `next_retry_at` says when it will try again;
    `retry_reason` says why the latest attempt started: `backoff elapsed`, or `host reachable`
    when a network camera's host answered again and the wait was cut short (see
    `atalaia.capture.host_probe`). `host_reachable` is the latest such check (None: not checked,
    e.g. a file, or no wait long enough to check in yet).
    """

    camera_id: str
    url: str
    state: CameraState
    since: float
    last_frame_time: float | None
    frames_read: int
    frames_delivered: int
    dropped_by_rate: int
    dropped_unconsumed: int
    reconnects: int
    last_error: str | None
    last_error_time: float | None
    fps: float
    next_retry_at: float | None = None
    retry_reason: str | None = None
    host_reachable: bool | None = None

    @property
    def online(self) -> bool:
        return self.state is CameraState.ONLINE

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-friendly values, e.g. for a heartbeat message."""
        data = asdict(self)
        data["state"] = self.state.value
        return data
